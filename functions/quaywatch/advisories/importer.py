"""Import advisory feeds into a store, reporting bad records and changed package keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from quaywatch.advisories.ecosystems import PackageKey
from quaywatch.advisories.loader import read_feed
from quaywatch.advisories.models import BadRecord
from quaywatch.advisories.store import SqliteAdvisoryStore
from quaywatch.observability import logger


@dataclass
class ImportReport:
    import_id: int
    location: str
    records: int = 0
    bad: list[BadRecord] = field(default_factory=list)
    changed: set[PackageKey] = field(default_factory=set)


def import_feed(store: SqliteAdvisoryStore, path: Path) -> ImportReport:
    """Load every advisory under ``path``; bad records are reported, never fatal."""
    with store.importing(str(path)) as session:
        report = ImportReport(import_id=session.result.import_id, location=str(path))
        for document in read_feed(path):
            for bad in document.bad:
                logger.debug("skipped advisory record", extra={"record": bad.location, "reason": bad.reason})
            report.bad.extend(document.bad)
            session.skip(len(document.bad))
            for advisory in document.advisories:
                session.apply(advisory)
            session.apply_ratings(document.ratings)
            if document.known_exploited or document.kev_catalog:
                session.apply_known_exploited(document.known_exploited, complete=document.kev_catalog)
            if document.repository_cpes:
                session.apply_repository_cpes(document.repository_cpes)
            if document.epss_snapshot:
                session.apply_predictions(document.predictions)
    report.records = session.result.records
    report.changed = set(session.result.changed)  # complete once the session finished (ratings add their packages)
    if report.bad:  # one line per import, not per record: a feed with many bad records stays readable
        logger.warning("advisory records skipped", extra={"feed": report.location, "skipped": len(report.bad),
                                                          "first": f"{report.bad[0].location}: {report.bad[0].reason}"})
    logger.info(
        "advisory import finished",
        extra={"import_id": report.import_id, "location": report.location, "records": report.records,
               "skipped": len(report.bad), "changed_keys": len(report.changed)},
    )
    return report
