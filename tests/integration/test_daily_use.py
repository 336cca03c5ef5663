"""Daily use through ``quaywatch serve`` and the CLI: exports of a monitored project (each
format checked by its own schema or reader: CycloneDX 1.6 strictly, SARIF 2.1.0 by its object
model, CSV by the csv module; ignores carried), a failed test in sight and told by
``project test --wait``'s exit code, and one sentence for a ``--server`` that is no quaywatch
API or a port in use."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from tests.conftest import ROBOT
from tests.support import fixtures
from tests.support.registry_process import free_port
from tests.support.served import Served
from tests.support.shared_data import ADVISORIES

pytestmark = [pytest.mark.registry, pytest.mark.slow]


@contextmanager
def monitored(stack, tmp_path, repository: str, tag: str) -> Iterator[tuple[Served, dict]]:
    """``serve`` on the alpine secdb with the local registry connected and REPOSITORY:TAG (an
    Alpine 3.10 image, 7 findings) imported: the server and the project."""
    stack.pusher.push_image(repository, tag, [fixtures.alpine_310_base()])
    served = Served(tmp_path / "data", free_port(), extra=("--advisories", str(ADVISORIES / "alpine-secdb")))
    try:
        added = served.cli("integrations", "add", f"http://{stack.host}", "--username", ROBOT.username, "--json",
                           env={"QUAYWATCH_REGISTRY_TOKEN": ROBOT.secret})
        integration = json.loads(added.stdout)["id"]
        assert served.cli("import", integration, f"{repository}:{tag}").returncode == 0
        (project,) = json.loads(served.cli("projects", "--json").stdout)["repositories"][0]["projects"]
        yield served, project
    finally:
        served.stop()


def bearer(tmp_path) -> dict[str, str]:
    return {"Authorization": f"Bearer {(tmp_path / 'data' / 'admin-token').read_text().strip()}"}


def test_a_monitored_project_exports_as_cyclonedx_sarif_json_and_csv(stack, tmp_path):
    from sarif_pydantic import Sarif

    with monitored(stack, tmp_path, "acme/exported", "3.10") as (served, project):
        headers = bearer(tmp_path)
        token = headers["Authorization"].removeprefix("Bearer ")
        ignored = httpx.post(f"{served.url}/projects/{project['id']}/ignores", headers=headers,
                             json={"vulnerability_id": "CVE-2019-14697", "reason": "=HYPERLINK(\"x\") static only"})
        assert ignored.status_code == 201

        bom_file = tmp_path / "bom.json"
        written = served.cli("project", "export", project["id"], "--format", "cyclonedx", "-o", str(bom_file))
        assert written.returncode == 0, written.stderr
        assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(bom_file.read_text()) is None
        bom = json.loads(bom_file.read_text())
        musl = next(v for v in bom["vulnerabilities"] if v["id"] == "CVE-2019-14697")
        assert musl["analysis"]["state"] == "in_triage" and "static only" in musl["analysis"]["detail"]

        sarif = served.cli("project", "export", project["id"], "--format", "sarif")
        assert sarif.returncode == 0, sarif.stderr
        log = json.loads(sarif.stdout)
        Sarif.model_validate(log)
        assert {r["ruleId"] for r in log["runs"][0]["results"]} >= {"CVE-2019-14697", "CVE-2019-1547"}

        answer = httpx.get(f"{served.url}/projects/{project['id']}/export", params={"format": "csv"}, headers=headers)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
        assert 'filename="acme_exported_3.10.csv"' in answer.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(answer.text)))
        detail = httpx.get(f"{served.url}/projects/{project['id']}", headers=headers).json()
        assert len(rows) == len(detail["findings"]) == 7
        row = next(r for r in rows if r["id"] == "CVE-2019-14697")
        assert (row["package"], row["status"], row["fixed_version"], row["ignored"]) == ("musl", "fixed", "1.1.22-r3",
                                                                                          "yes")
        assert row["ignored_reason"].startswith("'=")  # a spreadsheet shows it, never runs it

        as_json = json.loads(served.cli("project", "export", project["id"], "--format", "json").stdout)
        assert as_json["image"]["repository"] == "acme/exported" and len(as_json["findings"]) == 7

        wrong = httpx.get(f"{served.url}/projects/{project['id']}/export", params={"format": "pdf"}, headers=headers)
        assert wrong.status_code in (400, 422)
        console = subprocess.run([sys.executable, "-m", "quaywatch.cli.main", "projects", "--server",
                                  f"{served.url}/index.html"], capture_output=True, text=True, timeout=60,
                                 env={**os.environ, "QUAYWATCH_TOKEN": token})
        assert console.returncode == 2
        assert "not the quaywatch API's JSON: is --server the API's base URL?" in console.stderr
        assert "Traceback" not in console.stderr and "TypeError" not in console.stderr


def test_a_failed_test_is_shown_and_test_wait_tells_by_its_exit_code(stack, tmp_path):
    """``project test --wait`` exits 0 after a test that succeeded, 2 after one that failed;
    the failure (the tag deleted from the registry) is on the project at once, in the API and
    the CLI's list, while its findings stay those of the last test that succeeded."""
    with monitored(stack, tmp_path, "acme/flaky", "1.0") as (served, project):
        assert project["last_test"]["status"] == "succeeded" and project["failed_tests"] == 0

        passed = served.cli("project", "test", project["id"], "--wait", "--fail-on", "critical")
        assert passed.returncode == 0, passed.stderr
        assert "test succeeded at" in passed.stdout and "with a fix" in passed.stdout

        stack.pusher.delete_manifest("acme/flaky", "1.0")
        failed = served.cli("project", "test", project["id"], "--wait")
        assert failed.returncode == 2, (failed.stdout, failed.stderr)
        assert "test failed at" in failed.stderr
        detail = httpx.get(f"{served.url}/projects/{project['id']}", headers=bearer(tmp_path)).json()
        assert detail["last_test"]["status"] == "failed" and detail["last_test"]["error"]
        assert detail["failed_tests"] >= 1 and len(detail["findings"]) == 7  # the last success's findings stay
        listed = served.cli("projects")
        assert "FAILED" in listed.stdout


def test_a_port_in_use_is_one_sentence(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "quaywatch.cli.main", "serve", "--port", str(port),
                                 "--data-dir", str(tmp_path / "data")], capture_output=True, text=True, timeout=60,
                                env={k: v for k, v in os.environ.items() if not k.startswith("QUAYWATCH_")})
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].endswith(f"port {port} on 127.0.0.1 is in use (another quaywatch serve?); choose another with --port")
    assert "OSError" not in result.stderr and "Traceback" not in result.stderr


def test_every_setting_from_the_cli(stack, tmp_path):
    """The commands that cover the rest of the API, each with --json, against serve."""
    stack.pusher.push_image("acme/settings", "1.0", [fixtures.alpine_310_base()])
    served = Served(tmp_path / "data", free_port(), extra=("--advisories", str(ADVISORIES / "alpine-secdb")))

    def ok(*args: str, **kwargs) -> dict:
        result = served.cli(*args, "--json", **kwargs)
        assert result.returncode == 0, (args, result.stderr)
        return json.loads(result.stdout)

    try:
        integration = ok("integrations", "add", f"http://{stack.host}", "--username", ROBOT.username,
                         env={"QUAYWATCH_REGISTRY_TOKEN": ROBOT.secret})["id"]
        assert ok("integrations", "show", integration)["username"] == ROBOT.username
        assert ok("integrations", "update", integration, "--auto-import")["auto_import"] is True
        assert ok("integrations", "webhook-token", integration)["webhook_url"].startswith(served.url)
        job = ok("import", integration, "acme/settings:1.0")
        assert ok("imports", "show", job["id"])["status"] == "completed"
        (project,) = ok("projects")["repositories"][0]["projects"]
        assert "critical" in ok("levels")["levels"]

        rule = ok("ignores", "add", "CVE-2019-14697", "--reason", "static binaries only", "--package", "musl",
                  "--expires", "2099-01-31", "--project", project["id"])
        assert ok("ignores", "list", "--project", project["id"])["ignores"][0]["expires"] == "2099-01-31"
        organisation = ok("ignores", "add", "CVE-2019-1547", "--reason", "accepted for all images")
        assert [r["id"] for r in ok("ignores", "list")["ignores"]] == ["CVE-2019-1547"]
        assert ok("ignores", "remove", organisation["ignore_id"])["deleted"] == organisation["ignore_id"]
        assert ok("ignores", "remove", rule["ignore_id"], "--project", project["id"])["deleted"] == rule["ignore_id"]

        vex = tmp_path / "acme.vex.json"
        vex.write_text(json.dumps({
            "@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/cli", "author": "Acme",
            "timestamp": "2026-11-01T10:00:00Z", "version": 1,
            "statements": [{"vulnerability": {"name": "CVE-2019-14697"}, "status": "not_affected",
                            "justification": "vulnerable_code_not_in_execute_path",
                            "products": [{"@id": "pkg:apk/alpine/musl"}]}]}))
        assert ok("vex", "import", str(vex), "--project", project["id"])["ignores"] == 1
        exported = served.cli("vex", "export", project["id"])
        statements = json.loads(exported.stdout)["statements"]
        assert any(s["status"] == "not_affected" and s["vulnerability"]["name"] == "CVE-2019-14697" for s in statements)

        assert ok("policy", "set", "--min-severity", "high", "--kev-only")["min_severity"] == "high"
        assert ok("policy", "show")["known_exploited_only"] is True
        channels = tmp_path / "channels.yaml"
        channels.write_text("channels:\n  - {type: webhook, url: 'https://hooks.example.com/quaywatch'}\n")
        assert ok("channels", "set", str(channels))["channels"][0]["url"] == "https://hooks.example.com/quaywatch"
        assert ok("channels", "show")["channels"][0]["type"] == "webhook"
        assert ok("base-images", "show")["sources"] == []

        updated = ok("project", "set", project["id"], "--frequency", "weekly", "--inactive")
        assert (updated["test_frequency"], updated["active"]) == ("weekly", False)
        assert ok("project", "delete", project["id"])["deleted"] == project["id"]
        nothing = served.cli("project", "set", project["id"])
        assert nothing.returncode == 2 and "nothing to change" in nothing.stderr
    finally:
        served.stop()
