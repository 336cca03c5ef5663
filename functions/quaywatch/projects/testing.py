"""Testing a project: scan (or reuse the stored inventory), match, record, notify.

Used by the import worker (first test or a re-import), the re-test worker (scheduled, on
demand, after an advisory change) and webhooks. A re-test first resolves the tag: a new
digest means a new image to scan; the same digest means the stored inventory is matched
against today's advisories. New findings are those absent from the previous test; the first
test of a project sets the baseline and notifies nobody.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from quaywatch import metrics
from quaywatch.advisories.published import PublishedAdvisoryStore
from quaywatch.image.cache import DiskLayerCache
from quaywatch.integrations.records import Integration
from quaywatch.integrations.service import IntegrationService
from quaywatch.inventory.models import Inventory
from quaywatch.matching.matcher import match_inventory
from quaywatch.matching.models import Finding
from quaywatch.notifications.publisher import Notifier
from quaywatch.observability import logger
from quaywatch.outcome import evaluate
from quaywatch.projects.errors import ProjectOrphaned
from quaywatch.projects.findings_store import FindingsStore
from quaywatch.projects.identity import project_id
from quaywatch.projects.recording import TestRecord, TestRecorder
from quaywatch.projects.records import ImportedBy, Project
from quaywatch.projects.rules import NO_RULES, ProjectRules
from quaywatch.projects.store import ProjectStore
from quaywatch.registry.errors import InvalidManifestError, NotFoundError
from quaywatch.registry.reference import ImageReference, Platform
from quaywatch.registry.retry import RetryPolicy
from quaywatch.scanning.scanner import ImageScanner, ScanOptions

# The rules in force for a test: from the organisation's id and the project (None: its first test).
RulesFor = Callable[[str, Project | None], ProjectRules]


@dataclass
class TestOutcome:
    __test__ = False  # not a pytest class
    project_id: str
    scanned: bool
    findings: int
    new_findings: list[Finding]
    notified: bool


class ProjectTester:
    def __init__(self, integrations: IntegrationService, projects: ProjectStore, findings: FindingsStore,
                 advisories: PublishedAdvisoryStore, notifier: Notifier, work_dir: Path,
                 retry: RetryPolicy | None = None, rules: RulesFor | None = None) -> None:
        """``rules``: the ignore rules and notification policy for a project record, read
        once per test (default: no ignores, every new finding notified)."""
        self._integrations = integrations
        self._projects = projects
        self._findings = findings
        self._advisories = advisories
        self._notifier = notifier
        self._layers = DiskLayerCache(work_dir / "layers")
        self._retry = retry
        self._rules = rules

    def test_image(self, integration: Integration, repository: str, tag: str,
                   imported_by: ImportedBy = "manual") -> ImageTestResult:
        """Scan ``repository:tag`` and create or refresh its project: one per platform of a
        multi-platform image. A platform whose manifest is missing (mirrored repositories keep
        children that 404) fails alone; if every platform fails, the first error is raised."""
        inventories: list[Inventory] = []
        failures: dict[str, str] = {}
        with self._integrations.client_for(integration, retry=self._retry) as client:
            reference = ImageReference(client.registry, repository, tag)
            platforms = ImageScanner(client, cache=self._layers).platforms(reference)
            if platforms is None:
                inventories.append(ImageScanner(client, cache=self._layers).scan(reference))
            errors: list[Exception] = []
            for platform in platforms or []:
                options = ScanOptions(platform=platform, platform_explicit=True)
                try:
                    inventories.append(ImageScanner(client, cache=self._layers, options=options).scan(reference))
                except (NotFoundError, InvalidManifestError) as exc:
                    failures[str(platform)] = str(exc)
                    errors.append(exc)
            if not inventories and errors:
                raise errors[0]
        outcomes = [self._record(integration, inventory, scanned=True, imported_by=imported_by)
                    for inventory in inventories]
        return ImageTestResult(outcomes, failures)

    def retest(self, project: Project) -> TestOutcome:
        integration = self._integrations.by_id(project.integration_id)
        if integration is None:
            raise ProjectOrphaned(f"project {project.id}: its integration was deleted")
        latest = self._findings.latest(project.id)
        with self._integrations.client_for(integration, retry=self._retry) as client:
            reference = ImageReference(client.registry, project.repository, project.tag)
            options = ScanOptions(platform=Platform.parse(project.platform), platform_explicit=True)
            scanner = ImageScanner(client, cache=self._layers, options=options)
            digest = scanner.resolve(reference).manifest_digest
            if latest is not None and digest == latest.inventory.image.digest:
                return self._record(integration, latest.inventory, scanned=False)
            inventory = scanner.scan(reference)
        return self._record(integration, inventory, scanned=True)

    def _record(self, integration: Integration, inventory: Inventory, scanned: bool,
                imported_by: ImportedBy = "manual") -> TestOutcome:
        with self._advisories.open() as store:
            report = match_inventory(inventory, store)
        image = inventory.image
        identity = project_id(integration.id, image.repository, image.tag or image.digest, image.platform)
        previous = self._findings.latest(identity)
        existing = self._projects.get(identity)
        rules = self._rules(integration.org_id, existing) if self._rules else NO_RULES
        outcome = evaluate(report.findings, rules.ignores, rules.policy, previous.findings if previous else None)
        metrics.count("quaywatch_tests_total")
        metrics.count("quaywatch_images_scanned_total", 1 if scanned else 0)
        for level, found in outcome.counts.as_dict().items():
            metrics.count("quaywatch_findings_total", found, severity=level)
        now = datetime.now(UTC)
        notified = False
        if previous is not None and outcome.to_notify and self._findings.claim_notification(identity,
                                                                                           outcome.notify_keys):
            # Claimed before publishing and released if publishing fails: a redelivered
            # message never notifies twice, and a failed publish is retried.
            try:
                self._notifier.new_issues(self._notification_project(integration, image, identity), outcome.to_notify)
            except Exception:
                self._findings.release_notification(identity, outcome.notify_keys)
                raise
            notified = True
        test = TestRecord(org_id=integration.org_id, integration_id=integration.id, inventory=inventory,
                          findings=report.findings, tested_at=now, counts=outcome.counts,
                          counts_valid_until=outcome.counts_valid_until, new_keys=outcome.new_keys,
                          imported_by=imported_by)
        TestRecorder(self._projects, self._findings).record(test, existing, read=False)
        logger.info("project tested", extra={"project_id": identity, "scanned": scanned,
                                             "findings": len(report.findings), "new": len(outcome.new)})
        return TestOutcome(identity, scanned, len(report.findings), outcome.new if previous else [], notified)

    def _notification_project(self, integration: Integration, image: Any, identity: str) -> Project:
        return Project(id=identity, org_id=integration.org_id, integration_id=integration.id,
                       repository=image.repository, tag=image.tag or image.digest, platform=image.platform,
                       digest=image.digest)


@dataclass
class ImageTestResult:
    outcomes: list[TestOutcome]
    failed_platforms: dict[str, str]

    @property
    def project_ids(self) -> list[str]:
        return [o.project_id for o in self.outcomes]
