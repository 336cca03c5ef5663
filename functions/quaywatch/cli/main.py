"""``quaywatch`` command-line entry point.

Exit codes: 0 success, 2 usage errors (click's convention), 1 any other failure, reported as
one line on stderr without a traceback (``--debug`` shows it).
"""

from __future__ import annotations

import atexit
import os
import sys
import tempfile
import threading
from contextlib import AbstractContextManager, ExitStack, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from quaywatch.lean_imports import skip_unused_optional_imports

skip_unused_optional_imports()  # before httpx loads

import click
import orjson

from quaywatch.advisories.status import SHOWN_STATUSES, UNFIXED, FixStatus
from quaywatch.errors import QuaywatchError, UsageError
from quaywatch.image.allocator import tune_for_layer_streaming
from quaywatch.image.cache import DiskLayerCache, NullLayerCache, default_cache_dir
from quaywatch.inventory.models import Inventory, to_document
from quaywatch.matching.levels import RATED_LEVELS
from quaywatch.registry.client import Credentials, RegistryClient
from quaywatch.registry.reference import ImageReference, Platform
from quaywatch.reports.cyclonedx import to_cyclonedx
from quaywatch.scanning.scanner import ImageScanner, ScanOptions

if TYPE_CHECKING:
    from quaywatch.advisories.store import SqliteAdvisoryStore
    from quaywatch.baseimages.dockerfile import ImageName
    from quaywatch.cli.scan_progress import LayerProgressBar
    from quaywatch.matching.ignores import IgnoreRule
    from quaywatch.matching.models import MatchReport

# Matching code (and its version libraries), feed parsers and the table renderer are imported
# only when a scan needs them: a plain inventory scan starts faster (see tests/bench/bench_scan.py, cold process time).

FOUND, FAILED = 1, 2  # exit codes: findings at or above --fail-on; the command failed
ENV_USERNAME = "QUAYWATCH_REGISTRY_USERNAME"
ENV_TOKEN = "QUAYWATCH_REGISTRY_TOKEN"


class _Cli(click.Group):
    """Turns quaywatch errors into one-line diagnostics with the right exit code: 2 when the
    command failed (registry, credentials, bad input, a bug), so that 1 means one thing only:
    ``--fail-on`` found what it gates on (Snyk's CLI: 0 clean, 1 issues, 2 failure)."""

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
            ctx.exit(FAILED)
        except KeyboardInterrupt:
            click.echo("quaywatch: interrupted", err=True)
            ctx.exit(130)
        except Exception as exc:  # a bug or an unforeseen failure: still one line by default
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"quaywatch: error: unexpected {type(exc).__name__}: {exc} (run with --debug)", err=True)
            ctx.exit(FAILED)


@click.group(cls=_Cli)
@click.option("--debug", is_flag=True, help="Show tracebacks for failures.")
@click.version_option(package_name="quaywatch")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """quaywatch: vulnerability monitoring for images in Quay registries."""
    from quaywatch.observability import plain_console_logs

    plain_console_logs()
    ctx.obj = {"debug": debug}


@cli.command()
@click.argument("ref")
@click.option("--platform", "platform_text", default=None, help="os/arch[/variant] of a multi-platform image (default linux/amd64).")
@click.option("--plain-http", is_flag=True, help="Talk HTTP, not HTTPS (loopback test registries only).")
@click.option("--ca-bundle", type=click.Path(exists=True, dir_okay=False), help="CA certificates of a self-hosted registry.")
@click.option("--format", "output_format", type=click.Choice(["table", "json", "cyclonedx", "sarif", "openvex"]),
              default="table", show_default=True,
              help="sarif: findings for CI code scanning; openvex: the findings' ignores and fix statuses as an "
              "OpenVEX document (both need advisories).")
@click.option("--username", help=f"Registry user (robot org+name); default ${ENV_USERNAME}.")
@click.option("--token-stdin", is_flag=True, help="Read the registry token from standard input.")
@click.option("--cache-dir", type=click.Path(file_okay=False), help="Layer cache directory (default ~/.cache/quaywatch/layers).")
@click.option("--no-cache", is_flag=True, help="Do not read or write the layer cache.")
@click.option(
    "--advisories", "advisory_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
    help="Advisory feed to match against (file, directory or zip; repeatable). "
    "Default: the local store filled by `quaywatch advisories import`.",
)
@click.option(
    "--fail-on", type=click.Choice((*RATED_LEVELS, "kev"), case_sensitive=False), default=None,
    help="Exit 1 when a finding of this severity or higher exists, or with `kev` any known-exploited "
    "finding (CISA KEV; for CI pipelines).",
)
@click.option(
    "--sort", "sort_order", type=click.Choice(("severity", "kev", "epss")), default="severity", show_default=True,
    help="Order of the findings: by severity, known-exploited first (kev), or by EPSS score.",
)
@click.option(
    "--ignore-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help="YAML file of findings to ignore: `ignores: [{id, package?, reason, expires?}]`.",
)
@click.option(
    "--vex", "vex_paths", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="OpenVEX document (repeatable): not_affected statements ignore findings (with their justification), "
    "fixed and affected statements set the status; products by image digest or package purl.",
)
@click.option("--ignore-unfixed", is_flag=True, help="Leave out findings with no fix released (keep status fixed only).")
@click.option(
    "--ignore-status", "ignore_statuses", default="", metavar="STATUS,...",
    help="Leave out findings with these statuses: " + ", ".join(s.value for s in SHOWN_STATUSES) + ".",
)
@click.option("--show-under-investigation", is_flag=True,
              help="Also report what a vendor is still investigating (status under_investigation).")
@click.option(
    "--dockerfile", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help="The Dockerfile the image was built from: findings are split into those of its base image "
    "(the final stage's FROM) and those of the image's own layers.",
)
@click.option(
    "--progress/--no-progress", "show_progress", default=None,
    help="Draw a progress bar on stderr (default: when stderr is a terminal).",
)
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
    advisory_paths: tuple[Path, ...],
    fail_on: str | None,
    sort_order: str,
    ignore_file: Path | None,
    vex_paths: tuple[Path, ...],
    ignore_unfixed: bool,
    ignore_statuses: str,
    show_under_investigation: bool,
    dockerfile: Path | None,
    show_progress: bool | None,
) -> None:
    """Inventory the packages in image REF (host[:port]/namespace/repo:tag or @sha256:...)
    and match them against known vulnerabilities.

    \b
    Exit codes:
      0  no finding at or above --fail-on (or no --fail-on)
      1  findings at or above --fail-on
      2  the scan failed: registry, credentials, bad input
    """
    reference = ImageReference.parse(ref)
    credentials = _credentials(username, token_stdin)
    tune_for_layer_streaming()
    options = ScanOptions()
    if platform_text:
        options = ScanOptions(platform=Platform.parse(platform_text), platform_explicit=True)
    cache = NullLayerCache() if no_cache else DiskLayerCache(Path(cache_dir) if cache_dir else default_cache_dir())
    with ExitStack() as stack:
        store = _open_store(stack, advisory_paths)
        if store is None and fail_on:
            raise UsageError("--fail-on needs advisories: pass --advisories or run `quaywatch advisories import`")
        if store is None and ignore_file is not None:
            raise UsageError("--ignore-file needs advisories: pass --advisories or run `quaywatch advisories import`")
        rules = _ignore_rules(ignore_file)  # a malformed file is refused before the scan, not after
        statements = _vex_statements(vex_paths)  # so is a VEX document
        hidden = _hidden_statuses(ignore_unfixed, ignore_statuses)  # and a status that does not exist
        base = _dockerfile_base(dockerfile)  # so is a Dockerfile that does not read
        for needs, flag in ((output_format in ("sarif", "openvex"), f"--format {output_format}"),
                            (bool(vex_paths), "--vex"), (bool(hidden), "--ignore-unfixed / --ignore-status")):
            if store is None and needs:
                raise UsageError(f"{flag} needs advisories: pass --advisories or run `quaywatch advisories import`")
        # The bar is gone (transient) before the report is printed.
        with _progress_bar(show_progress) as progress, RegistryClient(
            reference.registry, credentials, plain_http=plain_http, ca_bundle=ca_bundle
        ) as client:
            inventory = ImageScanner(client, cache=cache, options=options).scan(reference, progress)
            base_layers = _base_layer_count(client, inventory, base, plain_http, ca_bundle) if base else None
        report = None
        if store is not None:
            from quaywatch.matching.matcher import match_inventory

            report = match_inventory(inventory, store, under_investigation=show_under_investigation)
            if base_layers:
                from quaywatch.baseimages.layers import mark_from_base

                mark_from_base(report.findings, inventory.image, base_layers)
    if rules is not None and report is not None:
        _triage(report, rules)
    if statements and report is not None:
        from quaywatch.vex.openvex import apply_vex

        apply_vex(report.findings, statements, inventory.image)
    if hidden and report is not None:
        report.findings = [f for f in report.findings if f.status not in hidden]
    if report is None:  # said after the scan: a failing scan keeps its one line of reason
        click.echo("quaywatch: no advisories loaded, so this lists packages only; pass --advisories or run "
                   "`quaywatch advisories import`", err=True)
    if report is not None and sort_order != "severity":
        from quaywatch.reports.findings_table import sort_key

        report.findings.sort(key=sort_key(sort_order))
    _print_scan(inventory, report, output_format, sort_order)
    if report is not None and fail_on:
        _fail_on(report, fail_on.lower())


def _fail_on(report: MatchReport, fail_on: str) -> None:
    """Exit 1 when a finding not ignored reaches the threshold (a severity, or ``kev``)."""
    from quaywatch.matching.severity import RANK, parse_level

    if fail_on == "kev":
        failing = [f for f in report.findings if f.ignored is None and f.kev]
        what = "known to be exploited (CISA KEV)"
    else:
        threshold = RANK[parse_level(fail_on)]
        failing = [f for f in report.findings if f.ignored is None and RANK[f.severity] >= threshold]
        what = f"at or above {fail_on}"
    if failing:
        click.echo(f"quaywatch: {len(failing)} finding(s) {what}", err=True)
        sys.exit(FOUND)


def _vex_statements(paths: tuple[Path, ...]) -> list:
    if not paths:
        return []
    from quaywatch.vex.openvex import read_openvex

    return [statement for path in paths for statement in read_openvex(path.read_bytes(), str(path))]


def _hidden_statuses(ignore_unfixed: bool, named: str) -> set[FixStatus]:
    """The statuses ``--ignore-unfixed`` and ``--ignore-status`` leave out."""
    hidden = set(UNFIXED) if ignore_unfixed else set()
    for word in (w.strip().lower() for w in named.split(",") if w.strip()):
        try:
            status = FixStatus(word)
        except ValueError:
            raise UsageError(f"--ignore-status: {word!r} is no status; use "
                             + ", ".join(s.value for s in SHOWN_STATUSES)) from None
        hidden.add(status)
    if ignore_unfixed:
        hidden.add(FixStatus.UNDER_INVESTIGATION)
    return hidden


def _dockerfile_base(path: Path | None) -> ImageName | None:
    """The final stage's base image named by a Dockerfile (None without one, or FROM scratch)."""
    if path is None:
        return None
    from quaywatch.baseimages.dockerfile import final_base

    base = final_base(path.read_text())
    if base.image is None:
        click.echo("quaywatch: the Dockerfile builds FROM scratch: every finding is the image's own", err=True)
    return base.image


def _base_layer_count(client: RegistryClient, inventory: Inventory, base: ImageName, plain_http: bool,
                      ca_bundle: str | None) -> int | None:
    """How many of the image's first layers are the base's: the base's diff IDs read from its
    registry (the image's credentials when it is the same registry, anonymous otherwise)."""
    reference = ImageReference(base.registry, base.repository, base.tag, base.digest)
    options = ScanOptions(platform=Platform.parse(inventory.image.platform), platform_explicit=True)
    try:
        if base.registry == inventory.image.registry:
            diff_ids = _diff_ids(ImageScanner(client, options=options), reference)
        else:
            from quaywatch.baseimages.dockerfile import api_host

            with RegistryClient(api_host(base.registry), None, plain_http=plain_http, ca_bundle=ca_bundle) as anonymous:
                diff_ids = _diff_ids(ImageScanner(anonymous, options=options), reference)
    except QuaywatchError as exc:
        click.echo(f"quaywatch: the base image {base} could not be read ({exc}); findings are not split", err=True)
        return None
    from quaywatch.baseimages.layers import base_layer_count

    shared = base_layer_count(inventory.image.diff_ids, diff_ids)
    if not shared:
        click.echo(f"quaywatch: the image does not start with the layers of {base}; findings are not split", err=True)
        return None
    return shared


def _diff_ids(scanner: ImageScanner, reference: ImageReference) -> list[str]:
    return scanner.diff_ids(reference, scanner.resolve(reference))


def _ignore_rules(path: Path | None) -> list[IgnoreRule] | None:
    if path is None:
        return None
    from quaywatch.matching.ignores import load_ignore_file

    return load_ignore_file(path)


def _triage(report: MatchReport, rules: list[IgnoreRule]) -> None:
    """Apply the ignore rules; say on stderr which have lapsed (they no longer apply)."""
    from quaywatch.matching.ignores import apply_ignores

    result = apply_ignores(report.findings, rules)
    for rule in result.expired:
        click.echo(f"quaywatch: the ignore of {rule.describe()} expired on {rule.expires}; it no longer applies",
                   err=True)


def _progress_bar(show: bool | None) -> AbstractContextManager[LayerProgressBar | None]:
    """A progress bar on stderr when asked, or by default when stderr is a terminal."""
    if not (show if show is not None else sys.stderr.isatty()):
        return nullcontext()
    from quaywatch.cli.scan_progress import LayerProgressBar

    return LayerProgressBar()


def _open_store(stack: ExitStack, paths: tuple[Path, ...]) -> SqliteAdvisoryStore | None:
    """A store with the given feeds (imported into a temporary store), else the local store
    if it has advisories, else None (inventory only). The store module (and pydantic, which
    its models use) is loaded only when there is a store to open."""
    from quaywatch.advisories.location import default_store_path

    default = default_store_path()
    if not paths and not default.exists():
        return None
    from quaywatch.advisories.store import SqliteAdvisoryStore

    if paths:
        from quaywatch.advisories.importer import import_feed

        directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="quaywatch-advisories-"))
        store = stack.enter_context(SqliteAdvisoryStore(Path(directory) / "advisories.db"))
        for path in paths:
            report = import_feed(store, path)
            if report.bad:
                click.echo(f"quaywatch: {path}: skipped {len(report.bad)} malformed record(s)", err=True)
        return store
    store = stack.enter_context(SqliteAdvisoryStore(default))
    return None if store.is_empty() else store


def _print_scan(inventory: Inventory, report: MatchReport | None, output_format: str, sort_order: str = "severity") -> None:
    if output_format == "json":
        document = to_document(inventory)
        if report is not None:
            document["findings"] = [f.document() for f in report.findings]
            document["match_warnings"] = report.warnings
        _echo_json(document)
    elif output_format == "cyclonedx":
        _echo_json(to_cyclonedx(inventory, report.findings if report else None))
    elif output_format == "sarif":
        from quaywatch.reports.sarif import to_sarif

        _echo_json(to_sarif(inventory, report.findings if report else []))
    elif output_format == "openvex":
        from quaywatch.vex.openvex import to_openvex

        _echo_json(to_openvex(inventory.image, report.findings if report else []))
    else:
        from rich.console import Console

        from quaywatch.reports.table import render_table

        # Wide rows when piped, so paths are not folded into unreadable columns.
        console = Console(soft_wrap=False, width=None if sys.stdout.isatty() else 220)
        render_table(inventory, console)
        if report is not None:
            from quaywatch.reports.findings_table import render_findings

            render_findings(report, console, sort_order)


def _echo_json(document: dict) -> None:
    """Indented JSON on stdout; orjson because the standard encoder falls back to pure
    Python when indenting (0.15 s for a 2,000-package BOM, a tenth of a whole scan)."""
    sys.stdout.buffer.write(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()


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


@cli.group(cls=click.Group)
def advisories() -> None:
    """Manage the local advisory store used by `scan`."""


def _register_advisory_commands() -> None:
    from quaywatch.cli.advisories import import_command, status_command, sync_command

    advisories.add_command(import_command, "import")
    advisories.add_command(sync_command, "sync")
    advisories.add_command(status_command, "status")


_register_advisory_commands()


def _register_admin_commands() -> None:
    from quaywatch.cli.admin import admin
    from quaywatch.cli.client import COMMANDS
    from quaywatch.cli.serve import demo, serve
    from quaywatch.cli.settings import COMMANDS as SETTINGS_COMMANDS
    from quaywatch.cli.sync import sync

    cli.add_command(admin)
    cli.add_command(sync)
    cli.add_command(serve)
    cli.add_command(demo)
    for command in (*COMMANDS, *SETTINGS_COMMANDS):
        cli.add_command(command)


_register_admin_commands()


def main() -> None:
    """Run the command line, then leave without the interpreter's teardown.

    Commands close their files, caches, stores and connections in with-blocks before they
    return; what is left at exit is memory the OS takes back anyway. Freeing it object by
    object (pydantic schemas, httpx, every imported module) took ~0.1 s of a one-second scan.
    Non-daemon threads are still waited for and atexit hooks still run (logging flushes,
    temporary directories), as on a normal exit.
    """
    try:
        cli(prog_name="quaywatch")
        code = 0
    except SystemExit as exc:
        code = _exit_status(exc.code)
    current = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not current and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()  # CPython's own runner of the atexit hooks (this project pins CPython 3.11)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        code = code or 1
    os._exit(code)


def _exit_status(code: object) -> int:
    """What ``sys.exit(code)`` would leave with: None is 0, other non-integers print and give 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


if __name__ == "__main__":
    main()
