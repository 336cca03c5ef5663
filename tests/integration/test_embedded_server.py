"""``quaywatch serve`` as users run it (a subprocess) with the CLI client against it:
connect the real local registry, import, list projects, fire a schedule, restart and find
everything again; killed with SIGKILL in the middle of an import, restarted, and the import
finishes exactly."""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Callable

import httpx
import pytest

from tests.conftest import ROBOT
from tests.support import fixtures
from tests.support.registry_process import free_port
from tests.support.served import Served

pytestmark = [pytest.mark.registry, pytest.mark.slow]


def test_serve_import_restart_keeps_everything(stack, tmp_path):
    stack.pusher.push_image("acme/web", "1.0", [fixtures.alpine_310_base()])
    data_dir = tmp_path / "data"
    port = free_port()
    served = Served(data_dir, port)
    try:
        token_file = data_dir / "admin-token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        token = token_file.read_text().strip()
        assert any(token in line for line in served.output)  # printed once, on the first start
        added = served.cli("integrations", "add", f"http://{stack.host}", "--username", ROBOT.username, "--json",
                           env={"QUAYWATCH_REGISTRY_TOKEN": ROBOT.secret})
        assert added.returncode == 0, added.stderr
        integration = json.loads(added.stdout)["id"]
        images = json.loads(served.cli("images", integration, "--json").stdout)
        assert "acme/web" in [r["name"] for r in images["repositories"]]  # the session registry is shared
        imported = served.cli("import", integration, "acme/web:1.0", "--json")
        assert imported.returncode == 0, imported.stderr
        status = json.loads(imported.stdout)
        assert (status["status"], status["succeeded"]) == ("completed", 1)
        missing = served.cli("import", integration, "acme/web:no-such-tag")
        assert missing.returncode == 1 and "0 succeeded, 1 failed of 1" in missing.stdout  # scripts see the failure
        unknown = served.cli("project", "show", "no-such-project")
        assert unknown.returncode == 2 and unknown.stderr.strip() == "quaywatch: error: no project no-such-project"
        table = served.cli("projects")
        assert "UNRATED" in table.stdout and "TOTAL" in table.stdout
        listed_imports = json.loads(served.cli("imports", "list", "--json").stdout)["imports"]
        assert [i["images"] for i in listed_imports] == [["acme/web:no-such-tag"], ["acme/web:1.0"]]  # newest first
        assert listed_imports[1]["id"] == status["id"]
        projects = json.loads(served.cli("projects", "--json").stdout)["repositories"]
        (project,) = projects[0]["projects"]
        assert project["is_new"] and project["finding_count"] >= 2 and project["digest"].startswith("sha256:")
        shown = served.cli("project", "show", project["id"])
        assert "CVE-2019-14697" in shown.stdout
        ran = served.cli("schedules", "run", "daily", "--json")
        assert ran.returncode == 0 and json.loads(ran.stdout)["result"]["enqueued"] == 0
        console = httpx.get(f"{served.url}/")
        assert console.status_code == 200 and "quaywatch" in console.text
    finally:
        assert served.stop() == 0
    assert "stopped" in "".join(served.output[-2:])

    again = Served(data_dir, port)
    try:
        assert not any(token in line for line in again.output)  # not printed again
        listed = httpx.get(f"{again.url}/projects", headers={"Authorization": f"Bearer {token}"}).json()
        assert listed["repositories"][0]["projects"][0]["id"] == project["id"]
        log = httpx.get(f"{again.url}/imports/{status['id']}/log", headers={"Authorization": f"Bearer {token}"}).json()
        assert log["entries"][0]["status"] == "succeeded"
        tested = again.cli("integrations", "test", integration, "--json")  # the secret survived, decrypted
        assert tested.returncode == 0 and json.loads(tested.stdout)["status"] == "connected", tested.stderr
        stored = b"".join(path.read_bytes() for path in data_dir.rglob("*") if path.is_file())
        assert ROBOT.secret.encode() not in stored  # encrypted at rest
    finally:
        assert again.stop() == 0


def _wait(predicate, timeout: float = 120.0, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out")


def test_sigkill_mid_import_loses_nothing_acknowledged(stack, tmp_path):
    images = [f"{n}.0" for n in range(12)]
    for tag in images:
        stack.pusher.push_image("acme/crash", tag, [fixtures.alpine_310_base(), {"srv/version": tag}])
    data_dir = tmp_path / "data"
    port = free_port()
    served = Served(data_dir, port)
    try:
        token = (data_dir / "admin-token").read_text().strip()
        connection = {"kind": "quay", "url": f"http://{stack.host}", "username": ROBOT.username,
                      "token": ROBOT.secret}
        first = served.api("POST", "/integrations", token, connection)
        assert first.status_code == 201, first.text
        integration = first.json()["id"]
        started = served.api("POST", "/imports", token, {"integration_id": integration,
                                                         "images": [{"repository": "acme/crash"}]})
        assert started.status_code == 202, started.text
        import_id = started.json()["id"]
        _wait(lambda: served.api("GET", f"/imports/{import_id}", token).json()["succeeded"] >= 2)
        second = served.api("POST", "/integrations", token, connection)  # acknowledged a moment before the kill
        assert second.status_code == 201
        before = served.api("GET", f"/imports/{import_id}", token).json()
    finally:
        served.kill()  # also when an assertion failed: no server outlives the test
    assert before["succeeded"] < len(images), "the import finished before the kill; the test proves nothing"

    again = Served(data_dir, port)
    try:
        listed = {i["id"] for i in again.api("GET", "/integrations", token).json()["integrations"]}
        assert listed == {integration, second.json()["id"]}
        done = _wait(lambda: (s := again.api("GET", f"/imports/{import_id}", token).json())["status"] == "completed" and s)
        assert (done["total"], done["succeeded"], done["failed"]) == (len(images), len(images), 0)
        assert done["succeeded"] >= before["succeeded"]
        log = again.api("GET", f"/imports/{import_id}/log", token).json()["entries"]
        assert sorted(e["image"] for e in log) == sorted(f"acme/crash:{tag}" for tag in images)
        assert all(e["status"] == "succeeded" and e["project_id"] for e in log)
        groups = again.api("GET", "/projects", token, None).json()["repositories"]
        projects = next(g["projects"] for g in groups if g["name"] == "acme/crash")
        assert sorted(p["tag"] for p in projects) == sorted(images)  # one project per image, no duplicates
        assert {p["id"] for p in projects} == {e["project_id"] for e in log}
    finally:
        assert again.stop() == 0


def _import_musl(served: Served, stack) -> tuple[Callable[[], dict], dict]:
    """Connect the registry, import acme/musl:3.10; returns a reader of its musl finding
    (CVE-2019-14697) as the CLI shows it, and the project."""
    added = served.cli("integrations", "add", f"http://{stack.host}", "--username", ROBOT.username, "--json",
                       env={"QUAYWATCH_REGISTRY_TOKEN": ROBOT.secret})
    integration = json.loads(added.stdout)["id"]
    assert served.cli("import", integration, "acme/musl:3.10").returncode == 0
    (project,) = json.loads(served.cli("projects", "--json").stdout)["repositories"][0]["projects"]

    def musl() -> dict:
        shown = json.loads(served.cli("project", "show", project["id"], "--json").stdout)
        return next(f for f in shown["findings"] if f["id"] == "CVE-2019-14697")

    return musl, project


def test_feeds_changed_on_disk_are_reimported_and_retest_their_projects(stack, tmp_path):
    """``serve --advisories DIR``: a feed file added to DIR while serving (a nightly NVD
    download) is imported at the next check, and the projects it touches are re-tested."""
    stack.pusher.push_image("acme/musl", "3.10", [fixtures.alpine_310_base()])
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    served = Served(tmp_path / "data", free_port(), extra=("--advisories", str(feeds)),
                    env={"QUAYWATCH_FEED_CHECK_SECONDS": "0.5"})
    try:
        musl, project = _import_musl(served, stack)

        assert (musl()["severity"], musl()["severity_source"]) == ("unknown", "none")  # secdb rates nothing
        nvd = fixtures.FIXTURES / "advisories" / "enrichment" / "nvd" / "nvdcve-2.0-demo.json"
        (feeds / "nvdcve-2.0-demo.json").write_bytes(nvd.read_bytes())
        deadline = time.monotonic() + 60
        while musl()["severity"] == "unknown":
            assert time.monotonic() < deadline, "the new feed file was not picked up"
            time.sleep(0.5)
        assert (musl()["severity"], musl()["severity_source"], musl()["cvss_score"]) == ("critical", "nvd", 9.8)
        shown = served.cli("project", "show", project["id"], "--sort", "severity")
        first_row = next(line for line in shown.stdout.splitlines() if "CVE-" in line)  # most severe first
        assert "CVE-2019-14697" in first_row and "critical" in first_row and "nvd" in first_row
    finally:
        served.stop()


def test_sync_feeds_downloads_at_start_and_local_feeds_keep_what_it_synced(stack, tmp_path):
    """``serve --sync-feeds``: the feed URLs the deployed sync uses (here the local feed server
    stands in for NVD: nothing outside is reachable) are synced at start; a feed file changed
    on disk later is imported on top of the synced store, not instead of it."""
    from tests.support.feed_server import FeedServer

    stack.pusher.push_image("acme/musl", "3.10", [fixtures.alpine_310_base()])
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    server = FeedServer()
    nvd = fixtures.FIXTURES / "advisories" / "enrichment" / "nvd" / "nvdcve-2.0-demo.json"
    server.files["/feeds/nvdcve-2.0-modified.json"] = nvd.read_bytes()
    with server.running():
        served = Served(tmp_path / "data", free_port(), extra=("--advisories", str(feeds), "--sync-feeds"),
                        env={"QUAYWATCH_FEED_CHECK_SECONDS": "0.5", "QUAYWATCH_OSV_ECOSYSTEMS": "",
                             "QUAYWATCH_ALPINE_RELEASES": "", "QUAYWATCH_REDHAT_VEX_URL": "",
                             "QUAYWATCH_REDHAT_REPOSITORY_CPE_URL": "",
                             "QUAYWATCH_RATING_FEED_URLS": f"{server.url}/feeds/nvdcve-2.0-modified.json"})
        try:
            musl, _ = _import_musl(served, stack)

            deadline = time.monotonic() + 60
            while musl()["severity"] == "unknown":  # the import may have run before the first sync landed
                assert time.monotonic() < deadline, "the synced NVD feed never rated the finding"
                time.sleep(0.5)
            assert (musl()["severity"], musl()["severity_source"]) == ("critical", "nvd")
            assert ("/feeds/nvdcve-2.0-modified.json", 200) in server.requests

            # a catalog shaped like CISA's KEV, naming musl's CVE, dropped into the watched directory
            catalog = json.loads((fixtures.FIXTURES / "advisories" / "enrichment" / "kev" /
                                  "known_exploited_vulnerabilities.json").read_text())
            catalog["vulnerabilities"][0] |= {"cveID": "CVE-2019-14697", "dateAdded": "2026-12-01"}
            (feeds / "known_exploited_vulnerabilities.json").write_text(json.dumps(catalog))
            while not musl()["kev"]:
                assert time.monotonic() < deadline + 60, "the KEV file was not picked up"
                time.sleep(0.5)
            assert (musl()["severity"], musl()["severity_source"]) == ("critical", "nvd")  # the sync's data stayed

            # NVD re-rates the CVE (only its CVSS v2 metric left); the sync, fired as the schedule,
            # re-tests the project against a store that still holds the local KEV entry
            modified = json.loads(nvd.read_text())
            record = next(v["cve"] for v in modified["vulnerabilities"] if v["cve"]["id"] == "CVE-2019-14697")
            del record["metrics"]["cvssMetricV31"]
            server.files["/feeds/nvdcve-2.0-modified.json"] = json.dumps(modified).encode()
            assert served.cli("schedules", "run", "Every6Hours").returncode == 0
            while musl()["severity"] != "high":
                assert time.monotonic() < deadline + 120, "the re-rated CVE did not reach the project"
                time.sleep(0.5)
            assert (musl()["severity_source"], musl()["cvss_score"], musl()["kev"]) == ("nvd", 7.5, True)

            listed = served.cli("feeds", "--json")  # feed freshness: both kinds of feed, all fine
            assert listed.returncode == 0, listed.stdout
            results = {f["name"]: f["last_result"] for f in json.loads(listed.stdout)["feeds"]}
            assert results["rating:nvdcve-2.0-modified.json"] == "downloaded"
            assert results[f"file:{feeds}"] == "imported"
            server.files.clear()  # the feed URL fails from now on: `quaywatch feeds` says so, and exits 1
            assert served.cli("schedules", "run", "Every6Hours").returncode == 0
            failing = served.cli("feeds", "--json")
            nvd_feed = next(f for f in json.loads(failing.stdout)["feeds"] if f["name"].startswith("rating:"))
            assert failing.returncode == 1 and nvd_feed["last_result"] == "failed" and "404" in nvd_feed["error"]
            assert "failed" in served.cli("feeds").stdout  # the table says it too
        finally:
            served.stop()
