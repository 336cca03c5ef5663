"""Registry sync's rules that need no registry: who may start what, one run at a time, when a
policy comes due, what the scheduler starts, and the planner's choices. The worker's steps
against a real registry are in tests/integration/test_registry_sync.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from quaywatch.projects.records import Project
from quaywatch.registrysync.planner import plan_sync
from quaywatch.registrysync.policy import InvalidPolicy, compile_policy
from quaywatch.registrysync.records import IndexedTag, SyncPolicy, SyncRule, SyncRun
from quaywatch.tenancy.access import Forbidden, Principal
from quaywatch.usecases.sync import begin_sync, put_sync_policy, start_due_syncs, start_sync

NOW = datetime(2026, 12, 6, tzinfo=UTC)


def _messages(services) -> list[dict]:
    return [json.loads(m.body) for m in services.sync_queue.receive(10, visibility_timeout=60)]


def test_members_may_only_ask_for_a_dry_run_and_a_second_click_starts_nothing(services, admin, integration) -> None:
    member = Principal(user_id="u2", org_id=admin.org_id, role="member")
    with pytest.raises(Forbidden):
        start_sync(services, member, integration.id, dry_run=False)
    run = start_sync(services, member, integration.id, dry_run=True)
    assert start_sync(services, admin, integration.id, dry_run=False).id == run.id  # the running one
    assert _messages(services) == [{"sync": "catalog", "integration_id": integration.id, "run_id": run.id}]


def test_a_run_lost_for_hours_is_failed_and_replaced(services, admin, integration) -> None:
    lost = SyncRun(id="0001", integration_id=integration.id, org_id=admin.org_id,
                   started_at=(datetime.now(UTC) - timedelta(hours=7)).isoformat(timespec="seconds"))
    services.sync_repository.create_run(lost)
    fresh = begin_sync(services, integration, dry_run=True, trigger="manual")
    assert fresh.id != lost.id
    assert services.sync_repository.get_run(integration.id, lost.id).status == "failed"


def test_a_policy_comes_due_and_the_scheduler_starts_it_once(services, admin, integration) -> None:
    with pytest.raises(InvalidPolicy, match=r"rules\[1\]\.repository"):
        put_sync_policy(services, admin, integration.id, SyncPolicy(rules=[SyncRule(tag="v.*"),
                                                                           SyncRule(repository="a(?!b)")]))
    put_sync_policy(services, admin, integration.id, SyncPolicy(enabled=True, frequency_hours=6))
    assert start_due_syncs(services) == 1  # never synced: due at once
    assert start_due_syncs(services) == 0  # the next one is 6 h away
    (message,) = _messages(services)
    run = services.sync_repository.latest_run(integration.id)
    assert (message["sync"], run.trigger, run.dry_run) == ("catalog", "schedule", False)
    put_sync_policy(services, admin, integration.id, SyncPolicy(enabled=False))
    assert services.sync_repository.due_policies((datetime.now(UTC) + timedelta(days=30)).isoformat()) == []


def _tag(repository: str, tag: str, created: str | None = None) -> IndexedTag:
    return IndexedTag(repository=repository, tag=tag, digest=f"sha256:{repository}:{tag}", created=created)


def _project(repository: str, tag: str, imported_by: str) -> Project:
    return Project(id=f"p-{repository}-{tag}", org_id="o", integration_id="i", repository=repository, tag=tag,
                   platform="linux/amd64", imported_by=imported_by)


def test_the_planner_imports_the_wanted_and_removes_only_what_syncs_made() -> None:
    policy = SyncPolicy(remove_missing=True, rules=[
        SyncRule(repository="acme/.*", tag=r"v\d+", newest=2),
        SyncRule(repository="acme/web", tag="latest"),
        SyncRule(tag=r"nightly-.*", max_age_days=7)])
    tags = [_tag("acme/web", "v1", "2026-01-01T00:00:00Z"), _tag("acme/web", "v2", "2026-02-01T00:00:00Z"),
            _tag("acme/web", "v10", "2026-02-01T00:00:00Z"),  # same time as v2: the higher version wins
            _tag("acme/web", "latest"), _tag("acme/web", "sha256-" + "a" * 64 + ".sig"),
            _tag("other/db", "nightly-1", "2026-12-01T00:00:00Z"), _tag("other/db", "nightly-0", "2026-11-01T00:00:00Z"),
            _tag("other/db", "v9", "2026-12-01T00:00:00Z")]
    projects = [_project("acme/web", "v1", "sync"), _project("acme/web", "v2", "manual"),
                _project("gone/repo", "1", "sync"), _project("other/db", "nightly-0", "webhook")]
    plan = plan_sync(policy, compile_policy(policy), tags, projects, declined={("acme/web", "latest")}, now=NOW)
    assert [(e.repository, e.tag) for e in plan.to_import] == [("acme/web", "v10"), ("other/db", "nightly-1")]
    assert [(e.repository, e.tag) for e in plan.to_remove] == [("acme/web", "v1"), ("gone/repo", "1")]
    capped = plan_sync(policy, compile_policy(policy), tags, [], set(), NOW, max_images=2)
    assert [(e.repository, e.tag) for e in capped.to_import] == [("acme/web", "latest"), ("acme/web", "v10")]
    assert [(e.repository, e.tag) for e in capped.left_out] == [("acme/web", "v2"), ("other/db", "nightly-1")]
    kept = plan_sync(SyncPolicy(rules=policy.rules), compile_policy(policy), tags, projects, set(), NOW)
    assert kept.to_remove == []  # without remove_missing nothing goes
