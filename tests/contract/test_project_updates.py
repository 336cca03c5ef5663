"""Contract (issue 18): a project is written field by field. Recording a test writes what a
test decides and nothing else, so an ignore, a setting, a Dockerfile or a base-image report
written while a test is being recorded survives it; a read-modify-write of one field (the
ignore list) never loses a concurrent writer's change. Run on both adapters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from quaywatch.api_errors import NotFound
from quaywatch.outcome import IssueCounts
from quaywatch.projects.store import ProjectStore

TESTED = datetime(2026, 12, 1, tzinfo=UTC)


def record(store: ProjectStore, existing: dict | None = None, critical: int = 1, at: datetime = TESTED) -> dict:
    return store.record_test(project_id="p1", org_id="org-1", integration_id="int-1", repository="acme/web",
                             tag="1.0", platform="linux/amd64", digest="sha256:aa", os_name="Alpine", package_count=3,
                             counts=IssueCounts({"critical": critical}), finding_count=critical, tested_at=at,
                             existing=existing)


def rule(name: str) -> dict:
    return {"id": name, "reason": "accepted", "ignore_id": f"ig-{name}", "scope": "project"}


def test_an_ignore_added_while_a_test_is_recorded_survives(adapters) -> None:
    store = ProjectStore(adapters.projects_repository)
    record(store)
    read_at_the_start = store.get("p1")  # the tester reads the project, then scans and notifies ...
    store.change_field("p1", "ignores", lambda rules: [*(rules or []), rule("CVE-1")])  # ... a member ignores
    store.set_fields("p1", {"dockerfile": {"content": "FROM alpine", "base": "docker.io/library/alpine:latest"}})
    store.update_settings(store.get("p1"), "weekly", None)
    record(store, existing=read_at_the_start, critical=2, at=datetime(2026, 12, 8, tzinfo=UTC))  # ... and records
    stored = store.get("p1")
    assert [r["id"] for r in stored["ignores"]] == ["CVE-1"]
    assert stored["dockerfile"]["base"] == "docker.io/library/alpine:latest"
    assert stored["test_frequency"] == "weekly" and stored["next_test_at"] == "2026-12-15T00:00:00+00:00"
    assert int(stored["issue_counts"]["critical"]) == 2 and stored["last_tested_at"] == "2026-12-08T00:00:00+00:00"
    assert adapters.projects_repository.due("weekly", "2026-12-16T00:00:00+00:00") == ["p1"]
    assert adapters.projects_repository.due("daily", "2026-12-16T00:00:00+00:00") == []


def test_two_writers_of_the_ignore_list_both_keep_their_rule(adapters) -> None:
    store = ProjectStore(adapters.projects_repository)
    record(store)
    interleaved = []

    def add_first(rules: list | None) -> list:
        if not interleaved:  # between this writer's read and its write, another writer adds its rule
            interleaved.append(True)
            store.change_field("p1", "ignores", lambda others: [*(others or []), rule("CVE-2")])
        return [*(rules or []), rule("CVE-1")]

    store.change_field("p1", "ignores", add_first)
    assert sorted(r["id"] for r in store.get("p1")["ignores"]) == ["CVE-1", "CVE-2"]


def test_a_removed_field_is_gone_and_a_missing_project_is_not_created(adapters) -> None:
    store = ProjectStore(adapters.projects_repository)
    record(store)
    store.set_fields("p1", {"dockerfile": {"content": "FROM alpine", "base": "x"}})
    store.set_fields("p1", {"dockerfile": None})
    assert "dockerfile" not in store.get("p1")
    with pytest.raises(NotFound):
        store.set_fields("gone", {"dockerfile": {"content": "FROM alpine"}})
    assert store.get("gone") is None
    assert adapters.projects_repository.update("p1", {"active": False}, expect={"ignores": [rule("CVE-9")]}) is False
    assert store.get("p1")["active"] is True


def test_numbers_come_back_as_plain_ints_on_both_adapters(adapters) -> None:
    """Decimal stays inside the DynamoDB adapter (issue 18): a count read back is an int."""
    store = ProjectStore(adapters.projects_repository)
    record(store, critical=3)
    stored = store.get("p1")
    assert type(stored["issue_counts"]["critical"]) is int and type(stored["package_count"]) is int
    assert [type(p["finding_count"]) for p in adapters.projects_repository.list_by_org("org-1")] == [int]
