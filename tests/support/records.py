"""Seeding projects as an import would leave them: a test recorded through the same path the
tester takes (``TestRecorder``), for an image described by a few facts."""

from __future__ import annotations

from datetime import UTC, datetime

from quaywatch.inventory.models import ImageSummary, Inventory, OperatingSystem, Package
from quaywatch.matching.levels import LEVELS
from quaywatch.matching.models import Finding
from quaywatch.outcome import IssueCounts
from quaywatch.projects.findings_store import FindingsStore
from quaywatch.projects.recording import TestRecord, TestRecorder
from quaywatch.projects.records import Project
from quaywatch.projects.store import ProjectStore


def inventory(repository: str = "acme/web", tag: str = "1.0", digest: str = "sha256:aa",
              packages: list[Package] | None = None, os_id: str = "alpine", os_version: str = "3.10.2",
              platform: str = "linux/amd64") -> Inventory:
    return Inventory(image=ImageSummary(reference=f"q/{repository}:{tag}", registry="q", repository=repository,
                                        tag=tag, digest=digest, platform=platform),
                     os=OperatingSystem(id=os_id, version_id=os_version),
                     packages=packages if packages is not None else
                     [Package(type="apk", name="musl", version="1.1", path="lib/apk/db/installed")])


def record_test(projects: ProjectStore, findings: FindingsStore, *, project_id: str, org_id: str = "org-1",
                integration_id: str = "int-1", image: Inventory | None = None, found: list[Finding] | None = None,
                counts: IssueCounts | None = None, tested_at: datetime | None = None,
                existing: Project | None = None) -> Project:
    """Record a test of ``image`` (default: acme/web:1.0) that found ``found``; the project as written."""
    test = TestRecord(org_id=org_id, integration_id=integration_id, inventory=image or inventory(),
                      findings=list(found or []), tested_at=tested_at or datetime.now(UTC), counts=counts,
                      project_id=project_id)
    return TestRecorder(projects, findings).record(test, existing)


def severity_total(project: dict) -> int:
    """The issue counts by severity added up (``issue_counts`` also says how many are fixable)."""
    return sum(project["issue_counts"][level] for level in LEVELS)
