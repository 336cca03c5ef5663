"""Contract (issue 19): the registry index, sync policies and sync runs, on both adapters."""

from __future__ import annotations

import threading

import pytest
from quaywatch.registrysync.records import (
    IndexedRepository,
    IndexedTag,
    SyncPolicy,
    SyncRule,
    SyncRun,
)

SYNCED = "2026-12-01T00:00:00+00:00"


def _tags(repository: str, *names: str) -> list[IndexedTag]:
    return [IndexedTag(repository=repository, tag=name, digest=f"sha256:{repository}:{name}",
                       created="2026-11-01T00:00:00+00:00" if name.startswith("v") else None) for name in names]


def _put(index, repository: str, *tags: str, integration_id: str = "int-1") -> None:
    index.put_repository(integration_id, IndexedRepository(name=repository, tag_count=len(tags), synced_at=SYNCED),
                         _tags(repository, *tags))


def test_a_repository_holds_exactly_the_tags_last_listed(adapters) -> None:
    index = adapters.registry_index
    _put(index, "acme/web", "v1", "v2", "latest")
    _put(index, "acme/web", "v2", "v3")  # v1 and latest are gone from the registry
    assert [t.tag for t in index.tags("int-1", "acme/web")] == ["v2", "v3"]
    assert index.tags("int-1", "acme/web")[0] == IndexedTag(repository="acme/web", tag="v2",
                                                             digest="sha256:acme/web:v2", created="2026-11-01T00:00:00+00:00")
    _put(index, "acme/api", "1.0")
    _put(index, "acme/web", "x", integration_id="int-2")  # another integration's index
    assert index.repository_names("int-1") == ["acme/api", "acme/web"]
    assert sorted((t.repository, t.tag) for t in index.all_tags("int-1")) == [
        ("acme/api", "1.0"), ("acme/web", "v2"), ("acme/web", "v3")]
    index.delete_repository("int-1", "acme/web")
    assert index.repository_names("int-1") == ["acme/api"] and index.tags("int-1", "acme/web") == []
    assert index.repository_names("int-2") == ["acme/web"]


def test_repositories_page_by_name_and_search_as_substrings(adapters) -> None:
    index = adapters.registry_index
    for number in range(25):
        _put(index, f"team{number % 3}/svc-{number:02d}", "1")
    _put(index, "other/100%_sure", "1")
    seen, cursor = [], None
    for _ in range(10):
        page, cursor = index.repositories("int-1", None, 10, cursor)
        seen += [r.name for r in page]
        if cursor is None:
            break
    assert seen == sorted(seen) and len(seen) == 26
    found, cursor = index.repositories("int-1", "TEAM1/", 4)
    assert [r.name for r in found] == ["team1/svc-01", "team1/svc-04", "team1/svc-07", "team1/svc-10"]
    rest, end = index.repositories("int-1", "team1/", 10, cursor)
    assert [r.name for r in rest] == ["team1/svc-13", "team1/svc-16", "team1/svc-19", "team1/svc-22"] and end is None
    assert [r.name for r in index.repositories("int-1", "%_", 10)[0]] == ["other/100%_sure"]  # wildcards are literal
    assert index.repositories("int-1", "nothing", 10) == ([], None)
    with pytest.raises(ValueError):
        index.repositories("int-1", None, 10, "not-a-cursor")


def test_declined_tags_and_a_deleted_integration(adapters) -> None:
    index = adapters.registry_index
    _put(index, "acme/web", "v1")
    index.decline("int-1", "acme/web", "v1")
    index.decline("int-1", "acme/web", "v1")
    assert index.declined("int-1") == {("acme/web", "v1")} and index.declined("int-2") == set()
    adapters.sync_repository.put_policy("int-1", SyncPolicy(enabled=True), "2026-12-02T00:00:00+00:00")
    index.delete_integration("int-1")
    assert index.repository_names("int-1") == [] and index.declined("int-1") == set()
    assert adapters.sync_repository.get_policy("int-1") is None


def test_policies_round_trip_and_come_due(adapters) -> None:
    syncs = adapters.sync_repository
    policy = SyncPolicy(enabled=True, frequency_hours=6, remove_missing=True,
                        rules=[SyncRule(repository="acme/.*", tag=r"v\d+", newest=3, max_age_days=30)])
    syncs.put_policy("int-1", policy, "2026-12-01T06:00:00+00:00")
    syncs.put_policy("int-2", SyncPolicy(enabled=True), "2026-12-02T00:00:00+00:00")
    syncs.put_policy("int-3", SyncPolicy(enabled=False), None)
    assert syncs.get_policy("int-1") == policy and syncs.get_policy("int-9") is None
    assert syncs.due_policies("2026-12-01T12:00:00+00:00") == ["int-1"]
    assert sorted(syncs.due_policies("2026-12-03T00:00:00+00:00")) == ["int-1", "int-2"]
    syncs.put_policy("int-1", policy, None)  # switched off: no longer due
    assert syncs.due_policies("2026-12-03T00:00:00+00:00") == ["int-2"]


def test_a_run_counts_each_repository_once_and_the_latest_is_found(adapters) -> None:
    syncs = adapters.sync_repository
    first = SyncRun(id="0001", integration_id="int-1", org_id="org-1", started_at="2026-12-01T00:00:00+00:00")
    syncs.create_run(first)
    run = SyncRun(id="0002", integration_id="int-1", org_id="org-1", started_at="2026-12-02T00:00:00+00:00",
                  dry_run=True)
    syncs.create_run(run)
    names = [f"acme/r{n}" for n in range(6)]
    syncs.add_repositories("int-1", "0002", names[:3])
    syncs.add_repositories("int-1", "0002", names[3:])
    assert syncs.update_run("int-1", "0002", {"repositories": 6, "listed": True}, expect_status="running")
    results: list[int | None] = []

    def complete(name: str) -> None:
        results.append(syncs.complete_repository("int-1", "0002", name, throttled=1))

    threads = [threading.Thread(target=complete, args=(name,)) for name in names for _ in range(3)]
    for thread in threads:  # redelivered three times each; in turn on moto (see test_repositories)
        thread.start()
        if adapters.kind == "aws":
            thread.join()
    for thread in threads:
        thread.join()
    assert sorted(r for r in results if r is not None) == [1, 2, 3, 4, 5, 6] and results.count(None) == 12
    assert syncs.complete_repository("int-1", "0002", "acme/unknown") is None
    latest = syncs.latest_run("int-1")
    assert (latest.id, latest.repositories, latest.repositories_done, latest.throttled, latest.dry_run) == (
        "0002", 6, 6, 6, True)
    assert syncs.update_run("int-1", "0002", {"status": "completed", "to_import": 4,
                                              "finished_at": "2026-12-02T00:05:00+00:00"}, expect_status="running")
    assert not syncs.update_run("int-1", "0002", {"status": "failed"}, expect_status="running")  # planned once
    done = syncs.get_run("int-1", "0002")
    assert (done.status, done.to_import, done.repositories_done) == ("completed", 4, 6)
    assert syncs.get_run("int-1", "0001").status == "running" and syncs.get_run("int-1", "nope") is None
    assert syncs.latest_run("int-9") is None
