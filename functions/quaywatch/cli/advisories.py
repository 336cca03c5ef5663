"""``quaywatch advisories import|status``: the local advisory store."""

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
