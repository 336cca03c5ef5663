"""Fix states end to end: a UBI 9 image (an rpm database written by the rpm tool, Red Hat's
content manifest) pushed to the real local registry, scanned against Red Hat CSAF VEX
documents; ``--ignore-unfixed`` / ``--ignore-status``; OpenVEX in (``--vex``) and out
(``--format openvex``), checked against the OpenVEX schema and read back."""

from __future__ import annotations

import json

import jsonschema
import pytest

from tests.integration.test_cli_scan import ROBOT_ENV, run
from tests.support import redhat_vex
from tests.support.openvex import SCHEMA

pytestmark = pytest.mark.registry



@pytest.fixture
def ubi9(stack):
    pushed = stack.pusher.push_image("acme/ubi9-app", "9.4", [redhat_vex.ubi9_tree()])
    return f"{stack.host}/acme/ubi9-app:9.4", pushed


@pytest.fixture
def feed(tmp_path):
    return redhat_vex.write_feed(tmp_path / "vex")


def scan(ref, feed, tmp_path, *extra):
    result = run(["scan", ref, "--plain-http", "--format", "json", "--advisories", str(feed), *extra],
                 env=ROBOT_ENV, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def statuses(document) -> dict[tuple[str, str], tuple[str, str | None, str]]:
    return {(f["id"], f["package"]): (f["status"], f["fixed_version"], f["severity"]) for f in document["findings"]}


def test_every_status_once_from_the_images_own_rpm_database(ubi9, feed, tmp_path) -> None:
    ref, _ = ubi9
    document = scan(ref, feed, tmp_path)
    assert document["os"]["content_sets"] == redhat_vex.UBI9_CONTENT_SETS
    assert {p["name"] for p in document["packages"]} >= {"openssl-libs", "glibc-common", "python3-libs", "krb5-libs"}
    assert statuses(document) == redhat_vex.UBI9_EXPECTED
    openssl = next(f for f in document["findings"] if f["package"] == "openssl-libs")
    assert openssl["fix_advisory"] == "RHSA-2024:2447" and openssl["severity_source"] == "redhat"
    unfixed = next(f for f in document["findings"] if f["package"] == "curl")
    assert "fix_advisory" not in unfixed and unfixed["fixed_version"] is None


def test_ignore_unfixed_keeps_only_what_can_be_fixed(ubi9, feed, tmp_path) -> None:
    ref, _ = ubi9
    fixed = {key for key, value in redhat_vex.UBI9_EXPECTED.items() if value[0] == "fixed"}
    assert set(statuses(scan(ref, feed, tmp_path, "--ignore-unfixed"))) == fixed
    some = statuses(scan(ref, feed, tmp_path, "--ignore-status", "will_not_fix,out_of_support"))
    assert {value[0] for value in some.values()} == {"fixed", "affected", "fix_deferred"}
    shown = statuses(scan(ref, feed, tmp_path, "--show-under-investigation"))
    assert shown[("CVE-2024-0007", "bash")][0] == "under_investigation"
    wrong = run(["scan", ref, "--plain-http", "--advisories", str(feed), "--ignore-status", "wontfix"],
                env=ROBOT_ENV, tmp_path=tmp_path)
    assert wrong.returncode == 2 and "'wontfix' is no status" in wrong.stderr


def test_openvex_round_trip(ubi9, feed, tmp_path) -> None:
    """Ignores go out as not_affected, statuses as affected with an action statement, the
    schema accepts the document, and read back it ignores the same findings."""
    ref, pushed = ubi9
    ignores = tmp_path / "ignores.yaml"
    ignores.write_text("ignores:\n  - id: CVE-2024-0004\n    reason: curl is never run in this image\n")
    out = run(["scan", ref, "--plain-http", "--format", "openvex", "--advisories", str(feed), "--ignore-file",
               str(ignores)], env=ROBOT_ENV, tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    exported = json.loads(out.stdout)
    jsonschema.validate(exported, SCHEMA)
    by_vulnerability = {(s["vulnerability"]["name"], s["products"][0]["subcomponents"][0]["@id"].split("@")[0]): s
                        for s in exported["statements"]}
    curl = by_vulnerability[("CVE-2024-0004", "pkg:rpm/redhat/curl")]
    assert curl["status"] == "not_affected" and curl["impact_statement"] == "curl is never run in this image"
    assert curl["products"][0]["@id"].startswith(f"pkg:oci/ubi9-app@{pushed.digest}?repository_url=")
    openssl = by_vulnerability[("CVE-2024-0001", "pkg:rpm/redhat/openssl-libs")]
    assert openssl["status"] == "affected"
    assert openssl["action_statement"] == "Upgrade openssl-libs to 1:3.0.7-27.el9 or later."
    assert by_vulnerability[("CVE-2024-0005", "pkg:rpm/redhat/python3")]["action_statement"].startswith(
        "The package is out of the vendor's support")
    (tmp_path / "exported.json").write_text(out.stdout)
    again = scan(ref, feed, tmp_path, "--vex", str(tmp_path / "exported.json"))
    ignored = {(f["id"], f["package"]): f["ignored"]["reason"] for f in again["findings"] if "ignored" in f}
    assert ignored == {("CVE-2024-0004", "curl"): "VEX not_affected: not affected: curl is never run in this image"}


def test_vex_statements_by_package_purl_and_by_image_digest(ubi9, feed, tmp_path) -> None:
    ref, pushed = ubi9
    vex = {
        "@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/1", "author": "Acme security",
        "timestamp": "2026-11-01T10:00:00Z", "version": 1,
        "statements": [
            {"vulnerability": {"name": "CVE-2024-0002"}, "status": "not_affected",
             "justification": "vulnerable_code_not_in_execute_path",
             "products": [{"@id": f"pkg:oci/ubi9-app@{pushed.digest}",
                           "subcomponents": [{"@id": "pkg:rpm/redhat/glibc-common"}]}]},
            {"vulnerability": {"name": "CVE-2024-0003"}, "status": "fixed",
             "products": [{"@id": "pkg:rpm/redhat/libxml2@2.9.13-7.el9"}]},
            {"vulnerability": {"name": "CVE-2024-0010"}, "status": "fixed",
             "products": [{"@id": "pkg:oci/other", "hashes": {"sha-256": pushed.digest.split(":")[1]}}]},
        ],
    }
    (tmp_path / "acme.vex.json").write_text(json.dumps(vex))
    document = scan(ref, feed, tmp_path, "--vex", str(tmp_path / "acme.vex.json"))
    found = {(f["id"], f["package"]): f for f in document["findings"]}
    assert found[("CVE-2024-0002", "glibc-common")]["ignored"]["reason"] == (
        "VEX not_affected: vulnerable_code_not_in_execute_path")
    assert "ignored" not in found[("CVE-2024-0002", "glibc")]  # the statement named one subcomponent
    assert (found[("CVE-2024-0003", "libxml2")]["status"], found[("CVE-2024-0003", "libxml2")]["fixed_version"]) == (
        "fixed", "2.9.13-7.el9")
    assert found[("CVE-2024-0010", "tar")]["ignored"]["reason"] == "VEX fixed: fixed in this image"


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.pop("author"), "author: Field required"),
    (lambda d: d["statements"][0].update(status="fine"), "statements[0].status: Input should be"),
    (lambda d: d["statements"][0].pop("justification"), "statements[0]: a not_affected statement needs a justification"),
])
def test_malformed_vex_is_refused_with_the_field(ubi9, feed, tmp_path, change, message) -> None:
    ref, _ = ubi9
    vex = {"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/2", "author": "Acme",
           "timestamp": "2026-11-01T10:00:00Z", "version": 1,
           "statements": [{"vulnerability": {"name": "CVE-2024-0002"}, "status": "not_affected",
                           "justification": "component_not_present", "products": []}]}
    change(vex)
    (tmp_path / "bad.json").write_text(json.dumps(vex, indent=2))
    result = run(["scan", ref, "--plain-http", "--advisories", str(feed), "--vex", str(tmp_path / "bad.json")],
                 env=ROBOT_ENV, tmp_path=tmp_path)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    (tmp_path / "broken.json").write_text('{\n  "@context": "https://openvex.dev/ns/v0.2.0",\n  "statements": [,]\n}')
    result = run(["scan", ref, "--plain-http", "--advisories", str(feed), "--vex", str(tmp_path / "broken.json")],
                 env=ROBOT_ENV, tmp_path=tmp_path)
    assert result.returncode == 2 and "not valid JSON at line 3 column" in result.stderr
