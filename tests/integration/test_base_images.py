"""Base images end to end (issue 10) on ``quaywatch serve``: a base repository of several
real-looking tags (different package versions per tag, built from fixture trees), an
application image built on base:3.9.1, the real Alpine secdb and NVD records. The base is
detected by layers, then by a linked multi-stage Dockerfile with ARGs in FROM; the
recommendations name the newer tags with fewer issues, with the counts a direct scan of
those tags gives."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.conftest import ROBOT
from tests.integration.test_cli_scan import ROBOT_ENV, run
from tests.support import fixtures
from tests.support.feed_server import FeedServer
from tests.support.registry_process import free_port
from tests.support.served import Served
from tests.support.shared_data import ADVISORIES

pytestmark = [pytest.mark.registry, pytest.mark.slow]
NVD = fixtures.FIXTURES / "advisories" / "enrichment" / "nvd"
LEVELS = ("critical", "high", "medium", "low")


alpine = fixtures.alpine_310_with


BASE_TAGS = {
    "3.9.1": alpine(),                                          # musl and openssl vulnerable
    "3.9.2": alpine(musl="1.1.22-r3"),                          # musl fixed
    "3.9.4": alpine(musl="1.1.22-r3", openssl="1.1.1d-r0"),     # both fixed
    "3.9.4-slim": alpine(musl="1.1.22-r3", marker="slim"),      # a smaller variant, openssl still old
    "3.10.0": alpine(musl="1.1.22-r3", openssl="1.1.1d-r0", marker="3.10"),
    "3.11.0rc1": alpine(marker="rc"),                           # a pre-release: never proposed
    "latest": alpine(musl="1.1.22-r3", openssl="1.1.1d-r0", marker="3.10"),
}


def test_base_detected_by_layers_then_by_dockerfile_with_measured_recommendations(stack, tmp_path):
    for tag, tree in BASE_TAGS.items():
        stack.pusher.push_image("acme/base", tag, [tree])
    stack.pusher.push_image("acme/app-on-base", "1", [BASE_TAGS["3.9.1"], {"srv/app/main.py": "print('hi')\n"}])
    served = Served(tmp_path / "data", free_port(), extra=("--advisories", str(NVD)))
    token = (tmp_path / "data" / "admin-token").read_text().strip()
    headers = {"Authorization": f"Bearer {token}"}
    try:
        added = served.cli("integrations", "add", f"http://{stack.host}", "--username", ROBOT.username, "--json",
                           env={"QUAYWATCH_REGISTRY_TOKEN": ROBOT.secret})
        integration = json.loads(added.stdout)["id"]
        refused = httpx.put(f"{served.url}/organisation/base-images", headers=headers,
                            json={"sources": [{"integration_id": "int-nope", "repositories": ["acme/base"]}]})
        assert refused.status_code == 404
        sources = {"sources": [{"integration_id": integration, "repositories": ["acme/base"]}]}
        assert httpx.put(f"{served.url}/organisation/base-images", headers=headers, json=sources).status_code == 200
        assert httpx.get(f"{served.url}/organisation/base-images", headers=headers).json() == sources
        assert served.cli("import", integration, "acme/app-on-base:1").returncode == 0
        (project,) = json.loads(served.cli("projects", "--json").stdout)["repositories"][0]["projects"]

        by_layers = wait_for_base(served, project["id"], headers, "layers")
        base = by_layers["base"]
        assert (base["repository"], base["tag"], base["layers"]) == ("acme/base", "3.9.1", 1)
        kinds = {r["kind"]: r for r in by_layers["recommendations"]}
        assert {k: r["tag"] for k, r in kinds.items()} == {"minor": "3.9.4", "major": "3.10.0",
                                                          "alternative": "3.9.4-slim"}
        direct = {tag: counts_of_scan(stack, tmp_path, tag) for tag in ("3.9.1", "3.9.4", "3.10.0", "3.9.4-slim")}
        assert {level: base["issue_counts"][level] for level in LEVELS} == direct["3.9.1"]
        for recommendation in by_layers["recommendations"]:
            measured = direct[recommendation["tag"]]
            assert {level: recommendation["issue_counts"][level] for level in LEVELS} == measured
            assert recommendation["fewer"] == {level: direct["3.9.1"][level] - measured[level] for level in LEVELS}
        assert kinds["alternative"]["fewer"]["critical"] == 1  # musl fixed; openssl still there
        assert by_layers["findings"] == {"base": 7, "own": 0}  # every finding came with the base
        detail = httpx.get(f"{served.url}/projects/{project['id']}", headers=headers).json()
        assert detail["base_image"] == "acme/base:3.9.1" and all(f["from_base"] for f in detail["findings"])

        # A newer, better tag is pushed: the next test recommends it and tells the organisation once.
        receiver = FeedServer()
        channel = {"channels": [{"type": "webhook", "url": f"{receiver.url}/hook"}]}
        assert httpx.put(f"{served.url}/organisation/channels", headers=headers, json=channel).status_code == 200
        stack.pusher.push_image("acme/base", "3.11.0", [alpine(musl="1.1.22-r3", openssl="1.1.1d-r0", marker="3.11")])
        with receiver.running():
            assert httpx.post(f"{served.url}/projects/{project['id']}/test", headers=headers).status_code == 202
            deadline = time.monotonic() + 60
            while not receiver.posted:
                assert time.monotonic() < deadline, "no notification of the better base tag"
                time.sleep(0.3)
        ((path, event),) = receiver.posted
        assert path == "/hook" and event["detail-type"] == "quaywatch.BetterBaseImageFound"
        assert [r["tag"] for r in event["detail"]["recommendations"]] == ["3.11.0"]
        assert event["detail"]["base"] == "acme/base:3.9.1"

        bad = httpx.put(f"{served.url}/projects/{project['id']}/dockerfile", headers=headers,
                        json={"content": "FROM alpine\nFROBNICATE\n"})
        assert bad.status_code == 400 and "line 2" in bad.json()["error"]["message"]
        dockerfile = tmp_path / "Dockerfile"
        dockerfile.write_text(
            f"ARG REGISTRY={stack.host}\nARG VERSION=3.9.1\n"
            "FROM golang:1.22 AS build\nRUN go build -o /app ./...\n\n"
            "FROM ${REGISTRY}/acme/base:${VERSION} AS runtime\nRUN apk add --no-cache \\\n    ca-certificates\n\n"
            "FROM runtime\nCOPY --from=build /app /srv/app\n")
        linked = served.cli("project", "dockerfile", project["id"], str(dockerfile), "--json")
        assert linked.returncode == 0, linked.stderr
        assert json.loads(linked.stdout)["base"] == f"{stack.host}/acme/base:3.9.1"
        by_dockerfile = wait_for_base(served, project["id"], headers, "dockerfile")
        assert by_dockerfile["base"]["tag"] == "3.9.1"
        assert {r["kind"]: r["tag"] for r in by_dockerfile["recommendations"]} == {
            "minor": "3.9.4", "major": "3.11.0", "alternative": "3.9.4-slim"}
        shown = served.cli("project", "base", project["id"])
        assert shown.returncode == 0 and "acme/base:3.9.4-slim" in shown.stdout and "detected by dockerfile" in shown.stdout

        assert served.cli("project", "dockerfile", project["id"], "--remove").returncode == 0
        wait_for_base(served, project["id"], headers, "layers")
    finally:
        served.stop()


def test_no_base_known_is_a_404_with_a_reason(stack, tmp_path):
    stack.pusher.push_image("acme/lonely", "1", [fixtures.alpine_310_base()])
    served = Served(tmp_path / "data", free_port())
    token = (tmp_path / "data" / "admin-token").read_text().strip()
    try:
        added = served.cli("integrations", "add", f"http://{stack.host}", "--username", ROBOT.username, "--json",
                           env={"QUAYWATCH_REGISTRY_TOKEN": ROBOT.secret})
        assert served.cli("import", json.loads(added.stdout)["id"], "acme/lonely:1").returncode == 0
        (project,) = json.loads(served.cli("projects", "--json").stdout)["repositories"][0]["projects"]
        missing = httpx.get(f"{served.url}/projects/{project['id']}/base-image",
                            headers={"Authorization": f"Bearer {token}"})
        assert missing.status_code == 404 and "base image" in missing.json()["error"]["message"]
    finally:
        served.stop()


def wait_for_base(served: Served, project_id: str, headers: dict, detected_by: str) -> dict:
    deadline = time.monotonic() + 90
    while True:
        answer = httpx.get(f"{served.url}/projects/{project_id}/base-image", headers=headers, timeout=30)
        if answer.status_code == 200 and answer.json()["base"]["detected_by"] == detected_by:
            return answer.json()
        assert time.monotonic() < deadline, f"base not detected by {detected_by}: {answer.status_code} {answer.text}"
        time.sleep(0.5)


def counts_of_scan(stack, tmp_path, tag: str) -> dict[str, int]:
    """What ``quaywatch scan`` says of acme/base:TAG with the same feeds as the server."""
    result = run(["scan", f"{stack.host}/acme/base:{tag}", "--plain-http", "--format", "json",
                  "--advisories", str(ADVISORIES / "alpine-secdb"), "--advisories", str(NVD)],
                 env=ROBOT_ENV, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    findings = json.loads(result.stdout)["findings"]
    return {level: sum(1 for f in findings if f["severity"] == level) for level in LEVELS}


def test_scan_with_a_dockerfile_splits_base_and_own_findings(stack, tmp_path):
    """``quaywatch scan REF --dockerfile PATH``: the base named by the final stage (multi-stage,
    ARG in FROM) is read from the same registry; its layers' findings are marked from_base."""
    stack.pusher.push_image("acme/base", "3.9.1", [BASE_TAGS["3.9.1"]])
    stack.pusher.push_image("acme/split", "1", [BASE_TAGS["3.9.1"], fixtures.python_layer()])
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(f"ARG TAG=3.9.1\nFROM python:3.12 AS build\nFROM {stack.host}/acme/base:${{TAG}}\n"
                          "COPY --from=build /usr/local/lib/python3.11 /usr/local/lib/python3.11\n")
    feeds = ["--advisories", str(ADVISORIES / "alpine-secdb"), "--advisories", str(ADVISORIES / "pypa-osv" / "vulns")]
    result = run(["scan", f"{stack.host}/acme/split:1", "--plain-http", "--format", "json", "--dockerfile",
                  str(dockerfile), *feeds], env=ROBOT_ENV, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    findings = json.loads(result.stdout)["findings"]
    base = {f["package"] for f in findings if f["from_base"]}
    own = {f["package"] for f in findings if not f["from_base"]}
    assert base == {"musl", "libcrypto1.1", "libssl1.1"} and {"Django", "PyYAML"} <= own
    table = run(["scan", f"{stack.host}/acme/split:1", "--plain-http", "--dockerfile", str(dockerfile), *feeds],
                env=ROBOT_ENV, tmp_path=tmp_path)
    assert "7 from the base image" in table.stdout and "LAYERS" in table.stdout
    other = tmp_path / "Other.Dockerfile"
    other.write_text(f"FROM {stack.host}/acme/base:no-such-tag\n")
    unsplit = run(["scan", f"{stack.host}/acme/split:1", "--plain-http", "--format", "json", "--dockerfile", str(other),
                   *feeds], env=ROBOT_ENV, tmp_path=tmp_path)
    assert unsplit.returncode == 0 and "findings are not split" in unsplit.stderr
    assert all("from_base" not in f for f in json.loads(unsplit.stdout)["findings"])
    broken = tmp_path / "Broken.Dockerfile"
    broken.write_text("FROM alpine\nFROBNICATE\n")
    refused = run(["scan", f"{stack.host}/acme/split:1", "--plain-http", "--dockerfile", str(broken)],
                  env=ROBOT_ENV, tmp_path=tmp_path)
    assert refused.returncode == 2 and "Dockerfile line 2" in refused.stderr


def test_a_public_registry_source_read_anonymously_and_a_latest_base(stack, tmp_path):
    """A base source given by registry URL, no integration: read with anonymous pull tokens
    (public/base is public on the test registry). A Dockerfile FROM ...:latest is compared as
    the versioned tag of the same digest."""
    stack.pusher.push_image("public/base", "3.9.1", [BASE_TAGS["3.9.1"]])
    stack.pusher.push_image("public/base", "latest", [BASE_TAGS["3.9.1"]])
    stack.pusher.push_image("public/base", "3.9.4", [BASE_TAGS["3.9.4"]])
    stack.pusher.push_image("acme/on-public", "1", [BASE_TAGS["3.9.1"], {"srv/app": "1"}])
    served = Served(tmp_path / "data", free_port(), extra=("--advisories", str(NVD)))
    headers = {"Authorization": f"Bearer {(tmp_path / 'data' / 'admin-token').read_text().strip()}"}
    try:
        added = served.cli("integrations", "add", f"http://{stack.host}", "--username", ROBOT.username, "--json",
                           env={"QUAYWATCH_REGISTRY_TOKEN": ROBOT.secret})
        both = {"sources": [{"registry": f"http://{stack.host}", "repositories": ["public/base"],
                             "integration_id": json.loads(added.stdout)["id"]}]}
        assert httpx.put(f"{served.url}/organisation/base-images", headers=headers, json=both).status_code == 422
        public = {"sources": [{"registry": f"http://{stack.host}", "repositories": ["public/base"]}]}
        assert httpx.put(f"{served.url}/organisation/base-images", headers=headers, json=public).status_code == 200
        assert served.cli("import", json.loads(added.stdout)["id"], "acme/on-public:1").returncode == 0
        (project,) = json.loads(served.cli("projects", "--json").stdout)["repositories"][0]["projects"]
        by_layers = wait_for_base(served, project["id"], headers, "layers")
        assert (by_layers["base"]["repository"], by_layers["base"]["tag"]) == ("public/base", "3.9.1")
        assert [r["tag"] for r in by_layers["recommendations"]] == ["3.9.4"]
        linked = httpx.put(f"{served.url}/projects/{project['id']}/dockerfile", headers=headers,
                           json={"content": f"FROM {stack.host}/public/base:latest\n"})
        assert linked.status_code == 200
        by_dockerfile = wait_for_base(served, project["id"], headers, "dockerfile")
        assert by_dockerfile["base"]["tag"] == "latest"
        assert [(r["kind"], r["tag"]) for r in by_dockerfile["recommendations"]] == [("minor", "3.9.4")]
    finally:
        served.stop()
