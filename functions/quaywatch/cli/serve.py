"""``quaywatch serve`` and ``quaywatch demo``."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from quaywatch.adapters.local.smtp import SmtpMailer


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback unless you mean it).")
@click.option("--port", default=8080, show_default=True, type=int, help="Port of the API and the console (0: any free one).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where state lives (default ~/.local/share/quaywatch/server).")
@click.option("--advisories", "advisory_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Advisory feeds (files, directories, zips; repeatable): loaded at start, re-read when they change "
              "on disk (checked every minute), and the projects they touch re-tested.")
@click.option("--sync-feeds", is_flag=True,
              help="Also download advisory feeds as the deployed stack does (OSV per ecosystem, Alpine secdb, NVD, "
              "CISA KEV, EPSS; the template's defaults, each overridable by its QUAYWATCH_* variable): at start, "
              "then every 6 hours.")
@click.option("--deny-private-registries", is_flag=True,
              help="Refuse registries and channels on loopback or private addresses, as the deployed stack does.")
@click.option("--public-url", default=None, metavar="URL",
              help="The URL others reach this server at, for the webhook URLs it hands out (default http://HOST:PORT).")
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Worker threads per queue (images imported and re-tested side by side).")
@click.option("--smtp-url", envvar="QUAYWATCH_SMTP_URL", default=None, metavar="URL",
              help="Mail server for email channels, members' mail and the weekly digest: smtp://HOST[:PORT] "
              "(STARTTLS when offered) or smtps://HOST[:PORT]; user:password@ in the URL or QUAYWATCH_SMTP_USER and "
              "QUAYWATCH_SMTP_PASSWORD. Also QUAYWATCH_SMTP_URL.")
@click.option("--mail-from", envvar="QUAYWATCH_MAIL_FROM", default=None, metavar="ADDRESS",
              help="The From address of mails (default quaywatch@ this machine's name). Also QUAYWATCH_MAIL_FROM.")
@click.option("--smtp-ca-bundle", envvar="QUAYWATCH_SMTP_CA_BUNDLE", default=None,
              type=click.Path(exists=True, dir_okay=False), help="PEM file of the CA that signed the mail server's "
              "certificate, when it is not a public one.")
def serve(host: str, port: int, data_dir: Path | None, advisory_paths: tuple[Path, ...], sync_feeds: bool,
          deny_private_registries: bool, public_url: str | None, workers: int, smtp_url: str | None,
          mail_from: str | None, smtp_ca_bundle: str | None) -> None:
    """Run quaywatch on this machine: the API, the console, the workers and the schedules."""
    _forbid_aws_sdk()
    os.umask(0o077)  # everything serve writes (database, WAL, objects, feed store) is the user's alone
    from quaywatch.runtime.embedded.server import EmbeddedServer, default_data_dir

    if public_url is not None and not public_url.startswith(("http://", "https://")):
        raise click.BadParameter("must be an http:// or https:// URL", param_hint="--public-url")
    mailer = _mailer(smtp_url, mail_from, smtp_ca_bundle) if smtp_url else None
    server = EmbeddedServer(data_dir or default_data_dir(), host, port, list(advisory_paths),
                            allow_private_registries=not deny_private_registries, public_url=public_url,
                            workers=workers, sync_feeds=sync_feeds, mailer=mailer)
    started = server.start()
    click.echo(f"quaywatch is serving on {started.url}  (console: {started.url}/)")
    click.echo(f"data directory: {server.data_dir}")
    if mailer is not None:
        click.echo(f"mail: {mailer.server.describe()} as {mailer.sender}")
    if started.admin_token:
        click.echo(f"admin API token (shown once; also in {server.data_dir / 'admin-token'}): {started.admin_token}")
    if sync_feeds:
        click.echo("advisory feeds: syncing now in the background, then every 6 hours (`quaywatch feeds` shows them)")
    if any(started.restored.values()):
        click.echo("restored: " + ", ".join(f"{v} {k}" for k, v in started.restored.items()))
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    stopping.wait()
    click.echo("stopping: finishing the work in hand ...")
    server.stop()
    click.echo("stopped; everything is kept in the data directory")


def _mailer(url: str, sender: str | None, ca_bundle: str | None) -> SmtpMailer:
    import socket

    from quaywatch.adapters.local.smtp import SmtpMailer, SmtpServer

    server = SmtpServer.parse(url, os.environ.get("QUAYWATCH_SMTP_USER"), os.environ.get("QUAYWATCH_SMTP_PASSWORD"))
    return SmtpMailer(server, sender or f"quaywatch@{socket.getfqdn() or 'localhost'}", ca_bundle)


def _forbid_aws_sdk() -> None:
    """``serve`` runs on the local adapters only: importing boto3, botocore or moto in this
    process raises ImportError, so a dependency that creeps back fails loudly (the serve
    tests run through here). Powertools probes for botocore and does without it."""
    for name in ("boto3", "botocore", "moto"):
        if name not in sys.modules:
            sys.modules[name] = None  # type: ignore[assignment]


@click.command(context_settings={"ignore_unknown_options": True})
@click.option("--port", default=8080, show_default=True, type=int, help="Port of the demo server.")
@click.option("--exit", "exit_after", is_flag=True, help="Stop after the summary instead of serving.")
def demo(port: int, exit_after: bool) -> None:
    """From a checkout: a local registry with sample images, `serve`, imports, a summary."""
    try:
        from tests.support.demo import main as run_demo
    except ImportError:
        raise click.UsageError("`quaywatch demo` runs from a checkout of the repository (it uses tests/support)") from None
    raise SystemExit(run_demo(["--port", str(port), *(["--exit"] if exit_after else [])]))
