"""``quaywatch scan`` as users run it: a subprocess, credentials from the environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from tests.conftest import ROBOT
from tests.support import fixtures
from tests.support.registry_process import free_port

pytestmark = pytest.mark.registry


def run(args: list[str], *, env: dict[str, str] | None = None, stdin: str | None = None, tmp_path=None):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("QUAYWATCH_")}
    if tmp_path is not None:
        environment["QUAYWATCH_CACHE_DIR"] = str(tmp_path / "cache")
        environment["QUAYWATCH_ADVISORY_DB"] = str(tmp_path / "advisories.db")
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "quaywatch.cli.main", *args],
        capture_output=True, text=True, env=environment, input=stdin, timeout=120,
    )


ROBOT_ENV = {"QUAYWATCH_REGISTRY_USERNAME": ROBOT.username, "QUAYWATCH_REGISTRY_TOKEN": ROBOT.secret}


@pytest.fixture
def app_image(stack):
    pushed = stack.pusher.push_image("acme/cli", "1.0", [fixtures.debian_base(), fixtures.python_layer()])
    return f"{stack.host}/acme/cli:1.0", pushed


def test_json_output(app_image, tmp_path):
    ref, pushed = app_image
    result = run(["scan", ref, "--plain-http", "--format", "json"], env=ROBOT_ENV, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["image"]["digest"] == pushed.digest
    assert {p["name"] for p in document["packages"]} >= {"libssl3", "requests"}


def test_cyclonedx_output_is_valid_and_carries_purls(app_image, tmp_path):
    ref, pushed = app_image
    result = run(["scan", ref, "--plain-http", "--format", "cyclonedx"], env=ROBOT_ENV, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(result.stdout)
    assert errors is None, errors
    bom = json.loads(result.stdout)
    assert bom["metadata"]["component"]["version"] == pushed.digest
    assert bom["metadata"]["component"]["name"].endswith("/acme/cli")
    libraries = [c for c in bom["components"] if c["type"] == "library"]
    assert all({"name", "version", "purl", "bom-ref"} <= set(c) for c in libraries)
    assert len({c["bom-ref"] for c in bom["components"]}) == len(bom["components"])
    purls = {c["purl"] for c in libraries}
    assert "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl" in purls
    assert "pkg:pypi/requests@2.31.0" in purls


def test_upstream_qualifier_carries_source_version_when_it_differs(stack, tmp_path):
    status = "Package: libfoo1\nStatus: install ok installed\nArchitecture: amd64\nSource: foo (1.2-3)\nVersion: 1.2-3+b1\n"
    stack.pusher.push_image("acme/binnmu", "1", [{"etc/os-release": fixtures.DEBIAN_OS_RELEASE, "var/lib/dpkg/status": status}])
    result = run(["scan", f"{stack.host}/acme/binnmu:1", "--plain-http", "--format", "cyclonedx"], env=ROBOT_ENV, tmp_path=tmp_path)
    purls = [c.get("purl") for c in json.loads(result.stdout)["components"]]
    assert "pkg:deb/debian/libfoo1@1.2-3%2Bb1?arch=amd64&distro=debian-12&upstream=foo%401.2-3" in purls


def test_table_output_and_token_from_stdin(app_image, tmp_path):
    ref, _ = app_image
    result = run(["scan", ref, "--plain-http", "--username", ROBOT.username, "--token-stdin"],
                 stdin=ROBOT.secret + "\n", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "libssl3" in result.stdout and "Debian GNU/Linux 12" in result.stdout


def assert_one_line_failure(result, pattern: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)  # failed, not "findings found" (1)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert pattern in lines[0], lines[0]


def test_wrong_credentials_fail_in_one_line(app_image, tmp_path):
    ref, _ = app_image
    env = {**ROBOT_ENV, "QUAYWATCH_REGISTRY_TOKEN": "wrong"}
    result = run(["scan", ref, "--plain-http"], env=env, tmp_path=tmp_path)
    assert_one_line_failure(result, "rejected the credentials of acme+scanner")
    assert "wrong" not in result.stderr


def test_missing_tag_fails_in_one_line(stack, tmp_path):
    result = run(["scan", f"{stack.host}/acme/cli:missing", "--plain-http"], env=ROBOT_ENV, tmp_path=tmp_path)
    assert_one_line_failure(result, "not found")


def test_unreachable_registry_fails_in_one_line(tmp_path):
    result = run(["scan", f"127.0.0.1:{free_port()}/a/b:c", "--plain-http"], tmp_path=tmp_path)
    assert_one_line_failure(result, "cannot reach registry")


def test_invalid_image_fails_in_one_line(stack, tmp_path):
    stack.pusher.push_image("acme/hostile", "1", [b"not a tar at all, and not compressed either" + b"\0" * 600], compression="gzip")
    result = run(["scan", f"{stack.host}/acme/hostile:1", "--plain-http"], env=ROBOT_ENV, tmp_path=tmp_path)
    assert_one_line_failure(result, "quaywatch: error: layer")


@pytest.mark.parametrize(
    "args",
    [
        ["scan", "no-registry-host"],
        ["scan", "127.0.0.1:5000/a/b:c", "--platform", "linux"],
        ["scan", "127.0.0.1:5000/a/b:c", "--format", "xml"],
        ["scan", "127.0.0.1:5000/a/b:c", "--token", "secret"],  # no way to pass a token as argument
        ["scan", "127.0.0.1:5000/a/b:c", "--token-stdin"],
    ],
)
def test_usage_errors_exit_2(args, tmp_path):
    assert run(args, tmp_path=tmp_path).returncode == 2


def test_username_without_token_is_a_usage_error(tmp_path):
    result = run(["scan", "127.0.0.1:5000/a/b:c"], env={"QUAYWATCH_REGISTRY_USERNAME": "x+y"}, tmp_path=tmp_path)
    assert result.returncode == 2 and "QUAYWATCH_REGISTRY_TOKEN" in result.stderr


def test_progress_bar_goes_to_stderr_and_leaves_the_report_clean(app_image, tmp_path):
    ref, pushed = app_image
    env = {**ROBOT_ENV, "TERM": "xterm", "COLUMNS": "120", "FORCE_COLOR": "1"}
    result = run(["scan", ref, "--plain-http", "--format", "json", "--progress"], env=env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["image"]["digest"] == pushed.digest
    assert "2/2 layers" in result.stderr
    quiet = run(["scan", ref, "--plain-http", "--format", "json", "--no-progress"], env=env, tmp_path=tmp_path)
    assert quiet.returncode == 0 and "layers" not in quiet.stderr
