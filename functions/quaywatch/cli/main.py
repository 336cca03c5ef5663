"""``quaywatch`` command-line entry point.

Exit codes: 0 success, 2 usage errors (click's convention), 1 any other failure, reported as
one line on stderr without a traceback (``--debug`` shows it).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from rich.console import Console

from quaywatch.errors import QuaywatchError, UsageError
from quaywatch.image.cache import DiskLayerCache, NullLayerCache, default_cache_dir
from quaywatch.registry.client import Credentials, RegistryClient
from quaywatch.registry.reference import ImageReference, Platform
from quaywatch.reports.cyclonedx import to_cyclonedx
from quaywatch.reports.table import render_table
from quaywatch.scanning.scanner import ImageScanner, ScanOptions

ENV_USERNAME = "QUAYWATCH_REGISTRY_USERNAME"
ENV_TOKEN = "QUAYWATCH_REGISTRY_TOKEN"


class _Cli(click.Group):
    """Turns quaywatch errors into one-line diagnostics with the right exit code."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except UsageError as exc:
            raise click.UsageError(str(exc), ctx) from None
        except QuaywatchError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"quaywatch: error: {exc}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("quaywatch: interrupted", err=True)
            ctx.exit(130)
        except Exception as exc:  # a bug or an unforeseen failure: still one line by default
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"quaywatch: error: unexpected {type(exc).__name__}: {exc} (run with --debug)", err=True)
            ctx.exit(1)


@click.group(cls=_Cli)
@click.option("--debug", is_flag=True, help="Show tracebacks for failures.")
@click.version_option(package_name="quaywatch")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """quaywatch: vulnerability monitoring for images in Quay registries."""
    ctx.obj = {"debug": debug}


@cli.command()
@click.argument("ref")
@click.option("--platform", "platform_text", default=None, help="os/arch[/variant] of a multi-platform image (default linux/amd64).")
@click.option("--plain-http", is_flag=True, help="Talk HTTP, not HTTPS (loopback test registries only).")
@click.option("--ca-bundle", type=click.Path(exists=True, dir_okay=False), help="CA certificates of a self-hosted registry.")
@click.option("--format", "output_format", type=click.Choice(["table", "json", "cyclonedx"]), default="table", show_default=True)
@click.option("--username", help=f"Registry user (robot org+name); default ${ENV_USERNAME}.")
@click.option("--token-stdin", is_flag=True, help="Read the registry token from standard input.")
@click.option("--cache-dir", type=click.Path(file_okay=False), help="Layer cache directory (default ~/.cache/quaywatch/layers).")
@click.option("--no-cache", is_flag=True, help="Do not read or write the layer cache.")
def scan(
    ref: str,
    platform_text: str | None,
    plain_http: bool,
    ca_bundle: str | None,
    output_format: str,
    username: str | None,
    token_stdin: bool,
    cache_dir: str | None,
    no_cache: bool,
) -> None:
    """Inventory the packages in image REF (host[:port]/namespace/repo:tag or @sha256:...)."""
    reference = ImageReference.parse(ref)
    credentials = _credentials(username, token_stdin)
    options = ScanOptions()
    if platform_text:
        options = ScanOptions(platform=Platform.parse(platform_text), platform_explicit=True)
    cache = NullLayerCache() if no_cache else DiskLayerCache(Path(cache_dir) if cache_dir else default_cache_dir())
    with RegistryClient(reference.registry, credentials, plain_http=plain_http, ca_bundle=ca_bundle) as client:
        inventory = ImageScanner(client, cache=cache, options=options).scan(reference)
    if output_format == "json":
        click.echo(inventory.model_dump_json(indent=2))
    elif output_format == "cyclonedx":
        click.echo(json.dumps(to_cyclonedx(inventory), indent=2))
    else:
        # Wide rows when piped, so paths are not folded into unreadable columns.
        render_table(inventory, Console(soft_wrap=False, width=None if sys.stdout.isatty() else 220))


def _credentials(username: str | None, token_stdin: bool) -> Credentials | None:
    """Credentials from --username/--token-stdin or the environment, never from arguments."""
    if token_stdin:
        if not username:
            raise UsageError("--token-stdin needs --username")
        token = sys.stdin.readline().strip()
        if not token:
            raise UsageError("--token-stdin: no token on standard input")
        return Credentials(username, token)
    username = username or os.environ.get(ENV_USERNAME)
    token = os.environ.get(ENV_TOKEN)
    if username and token:
        return Credentials(username, token)
    if username and not token:
        raise UsageError(f"a username was given but no token: set {ENV_TOKEN} or use --token-stdin")
    if token and not username:
        raise UsageError(f"{ENV_TOKEN} is set but no username: set {ENV_USERNAME} or pass --username")
    return None


def main() -> None:
    cli(prog_name="quaywatch")


if __name__ == "__main__":
    main()
