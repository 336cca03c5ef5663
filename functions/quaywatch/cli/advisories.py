"""``quaywatch advisories import|sync|status``: the local advisory store."""

from __future__ import annotations

from pathlib import Path

import click

from quaywatch.advisories.location import ENV_STORE

# The store and importer are imported inside the commands: `quaywatch scan` need not load them.
DB_OPTION = click.option(
    "--db", "db_path", type=click.Path(dir_okay=False), default=None,
    help=f"Advisory store file (default ${ENV_STORE} or ~/.local/share/quaywatch/advisories.db).",
)


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@DB_OPTION
def import_command(paths: tuple[Path, ...], db_path: str | None) -> None:
    """Load advisory feeds into the local store: OSV JSON/YAML files, directories and
    all.zip dumps (GitHub advisories included), Alpine secdb, Debian tracker JSON, NVD CVE
    API 2.0 files (nvdcve-2.0-*.json[.gz|.zip]) and pages, CVE JSON 5 records, CISA's KEV
    catalog JSON and FIRST's EPSS CSV[.gz]."""
    from quaywatch.advisories.importer import import_feed
    from quaywatch.advisories.location import default_store_path
    from quaywatch.advisories.store import SqliteAdvisoryStore

    with SqliteAdvisoryStore(Path(db_path) if db_path else default_store_path()) as store:
        for path in paths:
            report = import_feed(store, path)
            click.echo(
                f"{path}: {report.records} records, {len(report.bad)} skipped, "
                f"{len(report.changed)} package keys changed (import {report.import_id})"
            )
            for bad in report.bad[:20]:
                click.echo(f"  skipped {bad.location}: {bad.reason}", err=True)
            if len(report.bad) > 20:
                click.echo(f"  ... and {len(report.bad) - 20} more", err=True)


@click.command("sync")
@DB_OPTION
def sync_command(db_path: str | None) -> None:
    """Download the advisory feeds the deployed stack syncs into the local store: OSV per
    ecosystem, Alpine secdb, NVD's modified file, CISA KEV, EPSS (template.yaml's defaults;
    QUAYWATCH_OSV_ECOSYSTEMS, QUAYWATCH_RATING_FEED_URLS, QUAYWATCH_NVD_API_URL,
    QUAYWATCH_CVELIST_RELEASES_URL, QUAYWATCH_NVD_API_KEY ... override them). Unchanged feeds
    cost a 304; exits 1 when a feed failed (the others are imported)."""
    import json
    import os
    import shutil

    from quaywatch.advisories.location import default_store_path
    from quaywatch.advisories.sync import BUDGET_SECONDS, TIMEOUT, load_state, sync_configured
    from quaywatch.outbound import AddressPolicy, pinned_client
    from quaywatch.runtime.settings import FeedSettings
    from quaywatch.runtime.template import Template

    path = Path(db_path) if db_path else default_store_path()
    template = Template.load().parameter_variables("AdvisorySyncFunction")
    feeds = FeedSettings.from_variables({**template, **os.environ})
    state_path = path.with_name(path.name + ".feed-state.json")
    downloads = path.parent / ".feed-downloads"
    state = load_state(state_path)
    # your own machine: feeds on private addresses (a mirror) may be reached
    with pinned_client(AddressPolicy(allow_private=True), budget=BUDGET_SECONDS, timeout=TIMEOUT,
                       follow_redirects=True) as http:
        try:
            report = sync_configured(path, feeds, downloads, state, http, feeds.nvd_api_key)
        finally:
            shutil.rmtree(downloads, ignore_errors=True)  # imported: the dumps need not stay on disk
    temporary = state_path.with_name(state_path.name + ".tmp")
    temporary.write_text(json.dumps(state))
    temporary.replace(state_path)  # the validators go with what was imported, never half-written
    for name in report.downloaded:
        click.echo(f"{name}: downloaded")
    for name in report.unchanged:
        click.echo(f"{name}: unchanged")
    for name, reason in report.failed.items():
        click.echo(f"{name}: failed: {reason}", err=True)
    click.echo(f"{path}: {report.records} records imported, {len(report.changed)} package keys changed")
    if report.failed:
        raise SystemExit(1)


@click.command("status")
@DB_OPTION
def status_command(db_path: str | None) -> None:
    """Record counts per ecosystem and the newest modification time, then the rating and
    exploit feeds (NVD/CNA/ADP ratings, KEV entries, EPSS scores and their date)."""
    from quaywatch.advisories.location import default_store_path
    from quaywatch.advisories.store import SqliteAdvisoryStore

    path = Path(db_path) if db_path else default_store_path()
    if not path.exists():
        click.echo(f"no advisory store at {path}; run `quaywatch advisories import PATH` first")
        return
    with SqliteAdvisoryStore(path) as store:
        rows = store.status() + store.signal_status()
    # rich is imported here, not at the top: every quaywatch command loads this module.
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False, title=str(path), title_justify="left")
    for column in ("ECOSYSTEM", "ADVISORIES", "NEWEST MODIFIED"):
        table.add_column(column)
    for row in rows:
        table.add_row(row.ecosystem, str(row.records), row.newest_modified or "-")
    Console(soft_wrap=False, width=200).print(table)
