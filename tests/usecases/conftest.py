"""Use cases on the local adapters (a real SQLite database in a temporary directory), with the
one part that needs a registry, the ProjectTester, replaced by a scripted stand-in: these
tests are about the rules (what is retried, recorded, skipped, counted), not scanning, which
tests/integration covers against the real registry."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from quaywatch.integrations.records import Integration
from quaywatch.projects.testing import ImageTestResult, TestOutcome
from quaywatch.runtime.embedded.root import LocalServices
from quaywatch.runtime.settings import RuntimeSettings
from quaywatch.tenancy.access import Principal


@dataclass
class ScriptedTester:
    """Answers test_image / retest from a script: an exception to raise or a project id."""

    script: list[object] = field(default_factory=list)
    calls: list[tuple[str, ...]] = field(default_factory=list)

    def _next(self, project_id: str) -> TestOutcome:
        step = self.script.pop(0) if self.script else project_id
        if isinstance(step, BaseException):
            raise step
        return TestOutcome(str(step), scanned=True, findings=0, new_findings=[], notified=False)

    def test_image(self, integration: Integration, repository: str, tag: str,
                   imported_by: str = "manual") -> ImageTestResult:
        self.calls.append(("test_image", repository, tag))
        return ImageTestResult([self._next(f"project-{repository}-{tag}")], {})

    def retest(self, project: dict) -> TestOutcome:
        self.calls.append(("retest", project.id))
        return self._next(project.id)


@pytest.fixture
def services(tmp_path) -> Iterator[LocalServices]:
    local = LocalServices(tmp_path / "data", RuntimeSettings(work_dir=tmp_path / "work", max_receives=3))
    local.tester = ScriptedTester()  # replaces the cached property: no registry here
    yield local
    local.close()


@pytest.fixture
def admin(services) -> Principal:
    org_id = services.access.create_organisation("acme")
    return Principal(user_id="u1", org_id=org_id, role="admin")


@pytest.fixture
def integration(services, admin) -> Integration:
    record = Integration(id="int-1", org_id=admin.org_id, url="https://quay.example", username="acme+robot",
                         secret_arn="none", created_at="2026-01-01T00:00:00+00:00")
    services.integrations_repository.create(record)
    return record
