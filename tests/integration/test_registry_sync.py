"""Registry sync end to end (issue 19): ``serve`` in this process against its own real
registry (docker-registry behind the Quay-like token server and front). A policy picks the
two newest versioned tags of each service; a dry run lists exactly those, a sync imports
exactly those, the images route answers from the index without a registry request, and after
tags are pushed and deleted the next dry run lists exactly the differences, and the sync
leaves exactly the wanted projects (never one imported by hand; never one a user deleted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from quaywatch.runtime.embedded.server import EmbeddedServer

from tests.support import fixtures
from tests.support.registry_process import free_port
from tests.support.shared_data import ADVISORIES
from tests.support.stack import ROBOT, RegistryStack, running_stack

pytestmark = [pytest.mark.registry, pytest.mark.slow]

SERVICES = [f"acme/svc-{n}" for n in range(6)]
VERSIONS = {"1.0": "2026-01-01T00:00:00Z", "1.1": "2026-02-01T00:00:00Z", "2.0": "2026-03-01T00:00:00Z",
            "latest": "2026-03-01T00:00:00Z", "dev-4f2a": "2026-03-02T00:00:00Z"}
POLICY = {"enabled": False, "frequency_hours": 24, "remove_missing": True,
          "rules": [{"repository": r"acme/svc-\d+", "tag": r"\d+\.\d+", "newest": 2}]}


@pytest.fixture
def served(tmp_path, monkeypatch):
    monkeypatch.setenv("QUAYWATCH_REGISTRY_RETRY", "fast")
    with running_stack(tmp_path / "registry") as stack:
        layer = fixtures.alpine_310_base()
        for repository in SERVICES:
            for tag, created in VERSIONS.items():
                stack.pusher.push_image(repository, tag, [layer], created=created)
        stack.pusher.push_image("acme/tools", "1.0", [layer], created="2026-01-01T00:00:00Z")  # not a service
        with serving(stack, tmp_path) as (server, api, integration_id):
            yield stack, server, api, integration_id


@contextmanager
def serving(stack: RegistryStack, tmp_path: Path) -> Iterator[tuple[EmbeddedServer, httpx.Client, str]]:
    """``serve`` in this process with the stack's registry connected: the server, an admin
    client of its API and the integration's id."""
    server = EmbeddedServer(tmp_path / "server", port=free_port(), advisories=[ADVISORIES / "alpine-secdb"])
    started = server.start()
    api = httpx.Client(base_url=started.url, headers={"Authorization": f"Bearer {started.admin_token}"}, timeout=60)
    try:
        created = api.post("/integrations", json={"kind": "quay", "url": f"http://{stack.host}",
                                                  "username": ROBOT.username, "token": ROBOT.secret})
        assert created.status_code == 201, created.text
        yield server, api, created.json()["id"]
    finally:
        api.close()
        server.stop()


def _sync(api: httpx.Client, integration_id: str, dry_run: bool) -> dict:
    started = api.post(f"/integrations/{integration_id}/sync", json={"dry_run": dry_run})
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 900  # at quay.io's own rates a few hundred repositories take minutes
    while time.monotonic() < deadline:
        last = api.get(f"/integrations/{integration_id}/sync").json()
        if last["id"] == started.json()["id"] and last["status"] != "running":
            assert last["status"] == "completed", last
            return last
        time.sleep(0.2)
    raise AssertionError(f"the sync did not finish: {last}")


def _cli(server: EmbeddedServer, api: httpx.Client, *args: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("QUAYWATCH_", "AWS_"))}
    environment["QUAYWATCH_TOKEN"] = api.headers["Authorization"].removeprefix("Bearer ")
    return subprocess.run([sys.executable, "-m", "quaywatch.cli.main", *args, "--server", server.url],
                          capture_output=True, text=True, env=environment, timeout=180)


def _wait_for_import(api: httpx.Client, import_id: str) -> dict:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        status = api.get(f"/imports/{import_id}").json()
        if status["status"] == "completed":
            return status
        time.sleep(0.3)
    raise AssertionError(f"the import did not finish: {status}")


def _projects(api: httpx.Client) -> dict[tuple[str, str], dict]:
    groups = api.get("/projects").json()["repositories"]
    return {(p["repository"], p["tag"]): p for group in groups for p in group["projects"]}


def test_a_registry_followed_by_its_policy(served) -> None:
    stack, server, api, integration_id = served
    assert api.get(f"/integrations/{integration_id}/images").json()["synced_at"] is None  # browsed live

    bad = api.put(f"/integrations/{integration_id}/sync-policy", json={**POLICY, "rules": [{"tag": "(?=v)1"}]})
    assert bad.status_code == 400 and "rules[0].tag" in bad.json()["error"]["message"], bad.text
    too_often = api.put(f"/integrations/{integration_id}/sync-policy", json={**POLICY, "frequency_hours": 1})
    assert too_often.status_code == 422 and "frequency_hours" in too_often.text  # the schema says >= 2
    stored = api.put(f"/integrations/{integration_id}/sync-policy", json=POLICY)
    assert stored.status_code == 200 and api.get(f"/integrations/{integration_id}/sync-policy").json() == POLICY

    # The first dry run: exactly the two newest versions of each service, and nothing done.
    dry = _sync(api, integration_id, dry_run=True)
    wanted = {(repository, tag) for repository in SERVICES for tag in ("1.1", "2.0")}
    assert {(e["repository"], e["tag"]) for e in dry["to_import"]} == wanted
    assert all(e["digest"].startswith("sha256:") for e in dry["to_import"])
    assert (dry["repositories"], dry["tags"], dry["to_remove"], dry["import_id"]) == (7, 31, [], None)
    assert _projects(api) == {}

    # The CLI: the policy, and a dry run printed as a plan (exit 0).
    shown = _cli(server, api, "sync", "policy", "show", integration_id, "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout) == POLICY, shown.stderr
    planned = _cli(server, api, "sync", "run", integration_id, "--dry-run")
    assert planned.returncode == 0, planned.stderr
    assert "12 to import, 0 to remove" in planned.stdout and "acme/svc-4" in planned.stdout
    rule = _cli(server, api, "sync", "policy", "set", integration_id, "--rule", "tag=(?=x)")
    assert rule.returncode == 2 and "rules[0].tag" in rule.stderr

    # The images page answers from the index: no registry request.
    before = len(stack.front.stats.requests)
    page = api.get(f"/integrations/{integration_id}/images", params={"search": "SVC-3"}).json()
    assert len(stack.front.stats.requests) == before
    assert page["synced_at"] == api.get(f"/integrations/{integration_id}/sync").json()["finished_at"]
    (repository,) = page["repositories"]
    assert repository["name"] == "acme/svc-3" and sorted(t["name"] for t in repository["tags"]) == sorted(VERSIONS)

    # The sync imports exactly those; a tag imported by hand stays whatever the policy says.
    synced = _sync(api, integration_id, dry_run=False)
    assert len(synced["to_import"]) == 12 and synced["import_id"]
    assert _wait_for_import(api, synced["import_id"])["succeeded"] == 12
    history = api.get("/imports").json()["imports"]
    assert [i["trigger"] for i in history if i["id"] == synced["import_id"]] == ["sync"]
    manual = api.post("/imports", json={"integration_id": integration_id,
                                        "images": [{"repository": "acme/svc-0", "tag": "latest"}]})
    assert manual.status_code == 202, manual.text
    _wait_for_import(api, manual.json()["id"])
    assert set(_projects(api)) == wanted | {("acme/svc-0", "latest")}

    # The registry changes: a newer version of svc-0, svc-1's 1.1 deleted.
    stack.pusher.push_image("acme/svc-0", "3.0", [fixtures.alpine_310_base()], created="2026-04-01T00:00:00Z")
    stack.pusher.delete_manifest("acme/svc-1", "1.1")
    changed = _sync(api, integration_id, dry_run=True)
    assert [(e["repository"], e["tag"]) for e in changed["to_import"]] == [("acme/svc-0", "3.0"), ("acme/svc-1", "1.0")]
    assert [(e["repository"], e["tag"]) for e in changed["to_remove"]] == [("acme/svc-0", "1.1"), ("acme/svc-1", "1.1")]
    assert set(_projects(api)) == wanted | {("acme/svc-0", "latest")}  # a dry run changes nothing

    applied = _sync(api, integration_id, dry_run=False)
    assert applied["removed"] == 2
    _wait_for_import(api, applied["import_id"])
    now_wanted = (wanted - {("acme/svc-0", "1.1"), ("acme/svc-1", "1.1")}) | {("acme/svc-0", "3.0"), ("acme/svc-1", "1.0")}
    assert set(_projects(api)) == now_wanted | {("acme/svc-0", "latest")}

    # A project the sync made, deleted by a user, is not imported again.
    deleted = _projects(api)[("acme/svc-5", "2.0")]["id"]
    assert api.delete(f"/projects/{deleted}").status_code == 200
    again = _sync(api, integration_id, dry_run=True)
    assert again["to_import"] == [] and again["to_remove"] == []

    # A whole repository imported by hand: the request answers at once, a worker lists its
    # tags from the index (no tags/list request), and the import ends with them.
    before = stack.front.stats.count(r"/tags/list")
    whole = api.post("/imports", json={"integration_id": integration_id, "images": [{"repository": "acme/tools"}]})
    assert whole.status_code == 202, whole.text
    done = _wait_for_import(api, whole.json()["id"])
    assert (done["total"], done["succeeded"]) == (1, 1) and stack.front.stats.count(r"/tags/list") == before
    assert ("acme/tools", "1.0") in _projects(api)


def test_a_sync_stays_under_limits_like_quay_io(tmp_path, monkeypatch) -> None:
    """A registry limited like quay.io (429 without Retry-After past each zone's rate and
    burst): the sync's workers share one budget per endpoint class, so at most 5 % of their
    requests are refused, and the index is still exact."""
    monkeypatch.setenv("QUAYWATCH_REGISTRY_RETRY", "fast")
    monkeypatch.setenv("QUAYWATCH_REGISTRY_LIMITS", "quay")  # quay.io's limits for this loopback registry
    repositories = [f"acme/limited-{n:03d}" for n in range(60)]
    with running_stack(tmp_path / "registry") as stack:
        layer = fixtures.alpine_310_base()
        for repository in repositories:
            for tag in ("1.0", "2.0"):
                stack.pusher.push_image(repository, tag, [layer], created=f"2026-0{1 if tag == '1.0' else 2}-01T00:00:00Z")
        stack.front.limit_like_quay()
        with serving(stack, tmp_path) as (_, api, integration_id):
            api.put(f"/integrations/{integration_id}/sync-policy", json={"rules": [{"tag": r"\d+\.\d+", "newest": 1}]})
            before = len(stack.front.stats.requests)
            result = _sync(api, integration_id, dry_run=True)
            requests = len(stack.front.stats.requests) - before
            assert (result["repositories"], result["tags"]) == (60, 120)
            assert {(e["repository"], e["tag"]) for e in result["to_import"]} == {(r, "2.0") for r in repositories}
            assert stack.front.stats.limited <= 0.05 * requests, (stack.front.stats.limited, requests)
            assert result["throttled"] == stack.front.stats.limited  # the run counts what the registry refused


def test_a_few_hundred_repositories_limited_like_quay_io(tmp_path, monkeypatch) -> None:
    """The issue's acceptance, on 300 repositories limited like quay.io (the registry's zones
    and quaywatch's limiter both at 5x quay.io's rates, so each sync takes seconds, not a
    minute): the first dry run lists exactly the policy's tags, the sync imports exactly
    those, a search answers from the index, and after pushes and deletions the next dry run
    lists exactly the differences and the sync leaves exactly the wanted projects; at most
    5 % of the requests are refused. ``QUAYWATCH_TEST_LIMITS_SCALE=1`` runs it at quay.io's own
    rates (about five minutes)."""
    scale = float(os.environ.get("QUAYWATCH_TEST_LIMITS_SCALE", "5"))
    monkeypatch.setenv("QUAYWATCH_REGISTRY_RETRY", "fast")
    monkeypatch.setenv("QUAYWATCH_REGISTRY_LIMITS", "quay")
    monkeypatch.setenv("QUAYWATCH_REGISTRY_LIMITS_SCALE", str(scale))
    fleet = [f"acme/fleet-{n:03d}" for n in range(300)]
    with running_stack(tmp_path / "registry") as stack:
        layer = fixtures.alpine_310_base()
        for repository in fleet:
            for tag, month in (("1.0", 1), ("1.1", 2)):
                stack.pusher.push_image(repository, tag, [layer], created=f"2026-0{month}-01T00:00:00Z")
        stack.front.limit_like_quay(scale=scale)
        with serving(stack, tmp_path) as (_, api, integration_id):
            policy = {"remove_missing": True, "rules": [{"repository": r"acme/fleet-0[0-3]\d", "tag": r"\d+\.\d+",
                                                         "newest": 1}]}
            assert api.put(f"/integrations/{integration_id}/sync-policy", json=policy).status_code == 200
            wanted = {(f"acme/fleet-{n:03d}", "1.1") for n in range(40)}

            dry = _sync(api, integration_id, dry_run=True)
            assert (dry["repositories"], dry["tags"]) == (300, 600)
            assert {(e["repository"], e["tag"]) for e in dry["to_import"]} == wanted
            before = len(stack.front.stats.requests)
            found = api.get(f"/integrations/{integration_id}/images", params={"search": "fleet-29"}).json()
            assert [r["name"] for r in found["repositories"]] == [f"acme/fleet-29{n}" for n in range(10)]
            assert len(stack.front.stats.requests) == before  # from the index

            synced = _sync(api, integration_id, dry_run=False)
            assert _wait_for_import(api, synced["import_id"])["succeeded"] == 40
            assert set(_projects(api)) == wanted

            for repository in ("acme/fleet-001", "acme/fleet-002"):  # newer versions
                stack.pusher.push_image(repository, "2.0", [layer], created="2026-03-01T00:00:00Z")
            stack.pusher.delete_manifest("acme/fleet-003", "1.1")  # the wanted tag gone: 1.0 is the newest now
            stack.pusher.delete_manifest("acme/fleet-250", "1.0")  # outside the policy: changes nothing
            changed = _sync(api, integration_id, dry_run=True)
            assert sorted((e["repository"], e["tag"]) for e in changed["to_import"]) == [
                ("acme/fleet-001", "2.0"), ("acme/fleet-002", "2.0"), ("acme/fleet-003", "1.0")]
            assert sorted((e["repository"], e["tag"]) for e in changed["to_remove"]) == [
                ("acme/fleet-001", "1.1"), ("acme/fleet-002", "1.1"), ("acme/fleet-003", "1.1")]
            applied = _sync(api, integration_id, dry_run=False)
            _wait_for_import(api, applied["import_id"])
            now_wanted = (wanted - {("acme/fleet-001", "1.1"), ("acme/fleet-002", "1.1"), ("acme/fleet-003", "1.1")}) | {
                ("acme/fleet-001", "2.0"), ("acme/fleet-002", "2.0"), ("acme/fleet-003", "1.0")}
            assert set(_projects(api)) == now_wanted
            requests = len(stack.front.stats.requests)
            assert stack.front.stats.limited <= 0.05 * requests, (stack.front.stats.limited, requests)


def test_with_an_oauth_token_the_quay_api_lists_tags_with_digests_and_times(tmp_path, monkeypatch) -> None:
    """An integration with a Quay OAuth token: a sync takes each repository's tags, digests
    and push times from the Quay API (one call per repository), no tags/list and no manifest."""
    monkeypatch.setenv("QUAYWATCH_REGISTRY_RETRY", "fast")
    with running_stack(tmp_path / "registry") as stack:
        for tag in ("1.0", "2.0"):
            stack.pusher.push_image("acme/api", tag, [fixtures.alpine_310_base()], created="2026-01-01T00:00:00Z")
        stack.front.oauth_tokens["oauth-app-token-123"] = ROBOT.username
        with serving(stack, tmp_path) as (_, api, integration_id):
            assert api.patch(f"/integrations/{integration_id}",
                             json={"oauth_token": "oauth-app-token-123"}).status_code == 200
            api.put(f"/integrations/{integration_id}/sync-policy", json={"rules": [{"tag": r"2\.0"}]})
            before = len(stack.front.stats.requests)
            result = _sync(api, integration_id, dry_run=True)
            asked = stack.front.stats.requests[before:]
            assert [(e["repository"], e["tag"]) for e in result["to_import"]] == [("acme/api", "2.0")]
            assert not [path for _, path in asked if "/tags/list" in path or "/manifests/" in path]
            assert any(path.startswith("/api/v1/repository/acme/api/tag/") for _, path in asked)
            (repository,) = api.get(f"/integrations/{integration_id}/images").json()["repositories"]
            assert {t["name"]: t["created"] for t in repository["tags"]} == {  # the front's last_modified
                "1.0": "2024-11-28T08:00:00+00:00", "2.0": "2024-11-28T08:00:00+00:00"}
