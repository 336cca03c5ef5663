"""Contract (issue 18): a project is written field by field. Recording a test writes what a
test decides and nothing else, in one transaction with the latest test and its history entry,
so an ignore, a setting, a Dockerfile or a base-image report written while a test is being
recorded survives it; a read-modify-write of one field (the ignore list) never loses a
concurrent writer's change. Run on both adapters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from quaywatch.api_errors import NotFound
from quaywatch.matching.ignores import RecordedIgnore
from quaywatch.outcome import IssueCounts
from quaywatch.projects.findings_store import FindingsStore
from quaywatch.projects.recording import TestRecord, project_write
from quaywatch.projects.records import LinkedDockerfile, Project, UnknownField
from quaywatch.projects.store import ProjectStore

from tests.support.records import inventory, record_test

TESTED = datetime(2026, 12, 1, tzinfo=UTC)


def stores(adapters) -> tuple[ProjectStore, FindingsStore]:
    return ProjectStore(adapters.projects_repository), FindingsStore(adapters.findings_repository)


def record(adapters, existing: Project | None = None, critical: int = 1, at: datetime = TESTED,
           digest: str = "sha256:aa") -> Project:
    return record_test(*stores(adapters), project_id="p1", image=inventory(digest=digest),
                       counts=IssueCounts({"critical": critical}), tested_at=at, existing=existing)


def rule(name: str) -> RecordedIgnore:
    return RecordedIgnore(id=name, reason="accepted", ignore_id=f"ig-{name}", created_by="u1",
                          created_at="2026-12-01T00:00:00+00:00", scope="project")


def test_an_ignore_added_while_a_test_is_recorded_survives(adapters) -> None:
    store, _ = stores(adapters)
    record(adapters)
    read_at_the_start = store.get("p1")  # the tester reads the project, then scans and notifies ...
    store.change_field("p1", "ignores", lambda rules: [*rules, rule("CVE-1")])  # ... a member ignores
    store.set_fields("p1", {"dockerfile": LinkedDockerfile(content="FROM alpine", base="docker.io/library/alpine:latest")})
    store.update_settings(store.get("p1"), "weekly", None)
    record(adapters, existing=read_at_the_start, critical=2, at=datetime(2026, 12, 8, tzinfo=UTC))  # ... and records
    stored = store.get("p1")
    assert [r.id for r in stored.ignores] == ["CVE-1"]
    assert stored.dockerfile.base == "docker.io/library/alpine:latest"
    assert stored.test_frequency == "weekly" and stored.next_test_at == "2026-12-15T00:00:00+00:00"
    assert stored.counts.as_dict()["critical"] == 2 and stored.last_tested_at == "2026-12-08T00:00:00+00:00"
    assert adapters.projects_repository.due("weekly", "2026-12-16T00:00:00+00:00") == ["p1"]
    assert adapters.projects_repository.due("daily", "2026-12-16T00:00:00+00:00") == []


def test_a_test_is_recorded_whole_or_not_at_all(adapters) -> None:
    """The project's write and the latest test go together: when the project's condition
    fails (its settings changed since it was read), neither is written."""
    store, findings = stores(adapters)
    first = record(adapters)
    store.update_settings(first, "weekly", None)  # after the tester read ``first``
    test = TestRecord(org_id="org-1", integration_id="int-1", inventory=inventory(digest="sha256:bb"), findings=[],
                      tested_at=datetime(2026, 12, 2, tzinfo=UTC), project_id="p1")
    assert findings.save("p1", test.inventory, [], set(), test.tested_at, project=project_write(test, first)) is False
    assert findings.latest("p1").inventory.image.digest == "sha256:aa"
    assert store.get("p1").digest == "sha256:aa" and len(adapters.findings_repository.history("p1")) == 1
    # a second first test of the same image (two imports at once) does not overwrite the first
    again = project_write(test, None)
    assert findings.save("p1", test.inventory, [], set(), test.tested_at, project=again) is False
    assert store.get("p1").test_frequency == "weekly"
    # read again, it records
    written = record(adapters, existing=first, digest="sha256:bb", at=datetime(2026, 12, 2, tzinfo=UTC))
    assert written == store.get("p1") and written.digest == "sha256:bb" and written.test_frequency == "weekly"
    assert findings.latest("p1").inventory.image.digest == "sha256:bb"
    assert len(adapters.findings_repository.history("p1")) == 2


def test_a_project_deleted_meanwhile_is_created_again_by_its_test(adapters) -> None:
    store, _ = stores(adapters)
    first = record(adapters)
    store.delete("p1")
    assert record(adapters, existing=first, critical=3).counts.as_dict()["critical"] == 3
    assert store.get("p1").test_frequency == "daily"


def test_two_writers_of_the_ignore_list_both_keep_their_rule(adapters) -> None:
    store, _ = stores(adapters)
    record(adapters)
    interleaved = []

    def add_first(rules: list) -> list:
        if not interleaved:  # between this writer's read and its write, another writer adds its rule
            interleaved.append(True)
            store.change_field("p1", "ignores", lambda others: [*others, rule("CVE-2")])
        return [*rules, rule("CVE-1")]

    store.change_field("p1", "ignores", add_first)
    assert sorted(r.id for r in store.get("p1").ignores) == ["CVE-1", "CVE-2"]


def test_a_removed_field_is_gone_and_a_missing_project_is_not_created(adapters) -> None:
    store, _ = stores(adapters)
    record(adapters)
    store.set_fields("p1", {"dockerfile": LinkedDockerfile(content="FROM alpine", base="x")})
    store.set_fields("p1", {"dockerfile": None})
    assert store.get("p1").dockerfile is None
    with pytest.raises(NotFound):
        store.set_fields("gone", {"dockerfile": LinkedDockerfile(content="FROM alpine", base="x")})
    assert store.get("gone") is None
    assert adapters.projects_repository.update("p1", {"active": False}, expect={"ignores": [rule("CVE-9")]}) is False
    assert store.get("p1").active is True
    with pytest.raises(UnknownField):
        adapters.projects_repository.update("p1", {"colour": "blue"})
    with pytest.raises(ValueError):
        adapters.projects_repository.update("p1", {"test_frequency": "hourly"})


def test_records_come_back_typed_with_plain_numbers_on_both_adapters(adapters) -> None:
    """Decimal stays inside the DynamoDB adapter (issue 18): a count read back is an int."""
    store, _ = stores(adapters)
    record(adapters, critical=3)
    stored = store.get("p1")
    assert isinstance(stored, Project) and stored.counts.as_dict()["critical"] == 3
    assert type(stored.issue_counts["critical"]) is int and type(stored.package_count) is int
    assert [type(p.finding_count) for p in adapters.projects_repository.list_by_org("org-1")] == [int]


def test_failed_attempts_mark_the_last_test_and_a_success_clears_them(adapters) -> None:
    """A failure is recorded from the first attempt (the last success's time and counts stay);
    failures count up; the next successful test says succeeded and counts from zero again. A
    project stored before tests had a status (no ``last_test``) takes its first failure too."""
    store, _ = stores(adapters)
    record(adapters)
    adapters.projects_repository.update("p1", {"last_test": None, "failed_tests": None})  # as stored before
    first = store.record_failure("p1", "the registry answered HTTP 401: credentials revoked",
                                 datetime(2026, 12, 2, tzinfo=UTC))
    second = store.record_failure("p1", "cannot reach registry", datetime(2026, 12, 3, tzinfo=UTC))
    stored = store.get("p1")
    assert (first.failed_tests, second.failed_tests, stored.failed_tests) == (1, 2, 2)
    assert stored.last_test.model_dump() == {"status": "failed", "at": "2026-12-03T00:00:00+00:00",
                                             "error": "cannot reach registry"}
    assert stored.last_tested_at == "2026-12-01T00:00:00+00:00" and stored.counts.as_dict()["critical"] == 1
    record(adapters, existing=stored, critical=0, at=datetime(2026, 12, 4, tzinfo=UTC))
    again = store.get("p1")
    assert (again.last_test.status, again.last_test.error, again.failed_tests) == ("succeeded", None, 0)
    with pytest.raises(NotFound):
        store.record_failure("nope", "gone", datetime(2026, 12, 5, tzinfo=UTC))


def test_a_list_emptied_by_its_last_removal_takes_new_entries(adapters) -> None:
    """Removing the last ignore stores no field; the next change of the list, which read it as
    empty, must not take the absence for a concurrent writer (it did, until it gave up)."""
    store, _ = stores(adapters)
    record(adapters)
    store.change_field("p1", "ignores", lambda rules: [*rules, rule("CVE-1")])
    store.change_field("p1", "ignores", lambda rules: None)  # the last one removed
    store.change_field("p1", "ignores", lambda rules: [*rules, rule("CVE-2")])
    assert [r.id for r in store.get("p1").ignores] == ["CVE-2"]
