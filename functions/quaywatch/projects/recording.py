"""Recording a test: the project's record, its latest test and a history entry written in
one transaction (``FindingsRepository.save_test``), so a crash never leaves counts that
disagree with the findings kept, and a setting or an ignore written while the test ran
survives it (only the fields a test decides are written)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from quaywatch.errors import QuaywatchError
from quaywatch.inventory.models import Inventory
from quaywatch.matching.models import Finding
from quaywatch.outcome import IssueCounts, count_issues
from quaywatch.ports import ProjectWrite
from quaywatch.projects.findings_store import FindingsStore
from quaywatch.projects.identity import project_id
from quaywatch.projects.records import ImportedBy, Project
from quaywatch.projects.store import ProjectStore, counts_fields, iso, schedule_fields

ATTEMPTS = 8  # reads of the project when its settings change while the test is recorded


class ConcurrentTest(QuaywatchError):
    """The project's settings kept changing while its test was recorded (retried by the queue)."""


@dataclass(frozen=True)
class TestRecord:
    """A finished test of one image (one platform): what it found and, under the rules in
    force, the counts."""

    __test__ = False  # not a pytest class
    org_id: str
    integration_id: str
    inventory: Inventory
    findings: list[Finding]
    tested_at: datetime
    counts: IssueCounts | None = None  # None: every finding counts (no ignores)
    counts_valid_until: date | None = None  # the day after which an ignore behind the counts lapses
    new_keys: set[str] = field(default_factory=set)  # the findings the previous test did not have
    project_id: str = ""  # "": the identity of the integration, repository, tag and platform
    imported_by: ImportedBy = "manual"  # on a first test: what created the project

    def __post_init__(self) -> None:
        if not self.project_id:
            image = self.inventory.image
            object.__setattr__(self, "project_id", project_id(self.integration_id, image.repository,
                                                              image.tag or image.digest, image.platform))

    def tested_fields(self) -> dict[str, Any]:
        """What a test decides on its project's record."""
        inventory = self.inventory
        counts = self.counts if self.counts is not None else count_issues(self.findings)
        return {"digest": inventory.image.digest,
                "os": (inventory.os.pretty_name or inventory.os.id) if inventory.os else None,
                "package_count": len(inventory.packages), "finding_count": len(self.findings),
                **counts_fields(counts, self.counts_valid_until), "last_tested_at": iso(self.tested_at),
                "last_test": {"status": "succeeded", "at": iso(self.tested_at), "error": None}, "failed_tests": 0}


def project_write(test: TestRecord, existing: Project | None) -> ProjectWrite:
    """The project created on its first test; else the fields a test decides and the next
    test scheduled from the settings as read (``existing``), on condition they still hold."""
    if existing is None:
        image = test.inventory.image
        created = Project(id=test.project_id, org_id=test.org_id, integration_id=test.integration_id,
                          repository=image.repository, tag=image.tag or image.digest, platform=image.platform,
                          imported_by=test.imported_by, created_at=iso(test.tested_at))
        return ProjectWrite(test.project_id, create=created.changed(
            {**test.tested_fields(), **schedule_fields(created.test_frequency, created.active, test.tested_at)}))
    return ProjectWrite(test.project_id,
                        changes={**test.tested_fields(),
                                 **schedule_fields(existing.test_frequency, existing.active, test.tested_at)},
                        expect={"test_frequency": existing.test_frequency, "active": existing.active})


class TestRecorder:
    __test__ = False  # not a pytest class

    def __init__(self, projects: ProjectStore, findings: FindingsStore) -> None:
        self._projects = projects
        self._findings = findings

    def record(self, test: TestRecord, existing: Project | None = None, read: bool = True) -> Project:
        """Write the test and its project in one transaction; the project as written.
        ``existing``: the record as the caller read it (``read=False``: the caller found none);
        when it changed since (or appeared), it is read again."""
        if read and existing is None:
            existing = self._projects.get(test.project_id)
        for _ in range(ATTEMPTS):
            write = project_write(test, existing)
            if self._findings.save(test.project_id, test.inventory, test.findings, test.new_keys, test.tested_at,
                                   project=write):
                if write.create is not None:
                    return write.create
                assert existing is not None  # an update is written only over a record read
                return existing.changed(write.changes)
            existing = self._projects.get(test.project_id)
        raise ConcurrentTest(f"project {test.project_id} kept changing while its test was recorded")
