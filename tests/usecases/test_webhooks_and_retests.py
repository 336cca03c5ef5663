"""handle_push, retest_project, enqueue_due_retests, delete_project."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from quaywatch.integrations.records import Integration
from quaywatch.projects.records import Project
from quaywatch.registry.errors import AuthenticationError, RateLimitedError
from quaywatch.tenancy.access import hash_token
from quaywatch.usecases.projects import delete_project
from quaywatch.usecases.retests import enqueue_due_retests, retest_project
from quaywatch.usecases.webhooks import (
    InvalidNotification,
    MalformedNotification,
    WebhookRejected,
    handle_push,
)

from tests.support.records import inventory, record_test


@pytest.fixture
def hooked(services, integration) -> Integration:
    hooked = integration.changed(webhook_token_hash=hash_token("s3cret-token"))
    services.integrations_repository.put(hooked)
    return hooked


def _project(services, integration, tag: str, **extra) -> Project:
    return record_test(services.projects, services.findings, project_id=f"p-{tag}", org_id=integration.org_id,
                       integration_id=integration.id, image=inventory(tag=tag, digest="sha256:1"),
                       tested_at=datetime.now(UTC) - extra.pop("age", timedelta(0)))


def _push(tags: list[str]) -> str:
    return json.dumps({"repository": "acme/web", "updated_tags": tags, "namespace": "acme", "name": "web"})


def test_push_reimports_monitored_tags_only_once_each(services, hooked) -> None:
    _project(services, hooked, "1.0")
    outcome = handle_push(services, hooked.id, "s3cret-token", _push(["1.0", "1.0", "2.0"]))
    assert outcome.imports == 1 and outcome.import_id
    (message,) = services.import_queue.receive(10, visibility_timeout=60)
    assert json.loads(message.body)["tag"] == "1.0"


def test_replays_start_one_import_and_answer_with_its_id(services, hooked) -> None:
    _project(services, hooked, "1.0")
    first = handle_push(services, hooked.id, "s3cret-token", _push(["1.0"]))
    replays = [handle_push(services, hooked.id, "s3cret-token", _push(["1.0"])) for _ in range(5)]
    assert {(r.imports, r.import_id, r.replayed) for r in replays} == {(0, first.import_id, True)}
    assert services.import_queue.depth() == 1


def test_a_push_after_the_window_imports_again(services, hooked, monkeypatch) -> None:
    import time

    from quaywatch.usecases import webhooks

    _project(services, hooked, "1.0")
    first = handle_push(services, hooked.id, "s3cret-token", _push(["1.0"]))
    later = time.time() + webhooks.REPLAY_WINDOW_SECONDS + 1
    monkeypatch.setattr(webhooks.time, "time", lambda: later)
    again = handle_push(services, hooked.id, "s3cret-token", _push(["1.0"]))
    assert again.imports == 1 and again.import_id != first.import_id


def test_a_flood_is_rate_limited(services, hooked, monkeypatch) -> None:
    from quaywatch.usecases import webhooks

    monkeypatch.setattr(webhooks, "MAX_NOTIFICATIONS_PER_WINDOW", 10)
    for _ in range(10):
        handle_push(services, hooked.id, "s3cret-token", json.dumps({"build_id": 1}))
    with pytest.raises(webhooks.TooManyNotifications):
        handle_push(services, hooked.id, "s3cret-token", _push(["1.0"]))


@pytest.mark.parametrize("payload", [
    {"repository": "heldout/web/../../v2/_catalog", "updated_tags": ["1.0"]},
    {"repository": "acme/web", "updated_tags": ["../../x"]},
    {"repository": "acme/web", "updated_tags": ["a" * 129]},
    {"repository": "ACME/web", "updated_tags": ["1"]},
])
def test_pushes_are_validated_like_imports(services, hooked, payload) -> None:
    with pytest.raises(InvalidNotification):
        handle_push(services, hooked.id, "s3cret-token", json.dumps(payload))
    assert services.import_queue.depth() == 0


def test_push_with_auto_import_takes_new_tags(services, hooked) -> None:
    services.integrations_repository.put(hooked.changed(auto_import=True))
    assert handle_push(services, hooked.id, "s3cret-token", _push(["3.0", "4.0"])).imports == 2


@pytest.mark.parametrize(("integration_id", "token"), [("int-1", "wrong"), ("nope", "s3cret-token")])
def test_wrong_token_and_unknown_integration_look_alike(services, hooked, integration_id, token) -> None:
    with pytest.raises(WebhookRejected):
        handle_push(services, integration_id, token, _push(["1.0"]))
    assert services.import_queue.depth() == 0


def test_bodies_that_are_not_pushes(services, hooked) -> None:
    with pytest.raises(MalformedNotification):
        handle_push(services, hooked.id, "s3cret-token", "{not json")
    with pytest.raises(InvalidNotification):
        handle_push(services, hooked.id, "s3cret-token", json.dumps({"repository": "", "updated_tags": ["x"]}))
    assert handle_push(services, hooked.id, "s3cret-token", json.dumps({"build_id": 1})).imports == 0


def test_retest_skips_deleted_and_inactive_projects(services, integration) -> None:
    assert retest_project(services, json.dumps({"project_id": "gone", "reason": "schedule:daily"}), 1).reason == "deleted"
    project = _project(services, integration, "1.0")
    services.projects.update_settings(project, None, False)
    assert retest_project(services, json.dumps({"project_id": "p-1.0", "reason": "schedule:daily"}), 1).reason == "inactive"
    assert retest_project(services, json.dumps({"project_id": "p-1.0", "reason": "on_demand"}), 1).status == "tested"
    assert services.tester.calls == [("retest", "p-1.0")]


def test_retest_retries_transient_and_records_permanent_failures(services, integration) -> None:
    _project(services, integration, "1.0")
    body = json.dumps({"project_id": "p-1.0", "reason": "advisories"})
    services.tester.script = [RateLimitedError("429"), AuthenticationError("robot token revoked")]
    with pytest.raises(RateLimitedError):
        retest_project(services, body, 1)
    result = retest_project(services, body, 2)
    assert (result.status, result.reason) == ("failed", "robot token revoked")


def test_due_projects_are_enqueued_by_frequency(services, integration) -> None:
    _project(services, integration, "old", age=timedelta(days=2))
    _project(services, integration, "fresh")
    weekly = _project(services, integration, "weekly", age=timedelta(days=2))
    services.projects.update_settings(weekly, "weekly", None)
    assert enqueue_due_retests(services, "daily") == 1
    (message,) = services.retest_queue.receive(10, visibility_timeout=60)
    assert json.loads(message.body) == {"project_id": "p-old", "reason": "schedule:daily"}
    assert enqueue_due_retests(services, "weekly") == 0


def test_delete_project_removes_what_was_kept_for_it(services, admin, integration) -> None:
    from quaywatch.ports import StoredTest

    _project(services, integration, "1.0")
    services.findings_repository.save_test("p-1.0", StoredTest("t", "sha256:1", b"i", b"f", [], ["Alpine#v3.10#musl"]),
                                           {"findings": 0, "new": []})
    delete_project(services, admin, "p-1.0")
    assert services.projects.get("p-1.0") is None
    assert services.findings_repository.get_latest("p-1.0") is None
    assert services.findings_repository.projects_with(["Alpine#v3.10#musl"]) == set()
