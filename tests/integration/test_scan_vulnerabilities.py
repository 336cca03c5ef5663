"""``quaywatch scan --advisories`` and ``quaywatch advisories``, end to end: images built from
fixtures, pushed to the real local registry, matched against the real feeds."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from tests.integration.test_cli_scan import ROBOT_ENV, run
from tests.support import fixtures
from tests.support.shared_data import ADVISORIES

pytestmark = pytest.mark.registry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "advisories"


def findings_of(result) -> dict[tuple[str, str], dict]:
    assert result.returncode == 0, result.stderr
    return {(f["id"], f["package"]): f for f in json.loads(result.stdout)["findings"]}


def test_alpine_image_against_the_real_secdb(stack, tmp_path):
    stack.pusher.push_image("acme/alpine310", "3.10.2", [fixtures.alpine_310_base()])
    ref = f"{stack.host}/acme/alpine310:3.10.2"
    result = run(["scan", ref, "--plain-http", "--format", "json", "--advisories", str(ADVISORIES / "alpine-secdb")],
                 env=ROBOT_ENV, tmp_path=tmp_path)
    found = findings_of(result)
    assert found[("CVE-2019-14697", "musl")]["fixed_version"] == "1.1.22-r3"
    for cve in ("CVE-2019-1547", "CVE-2019-1549", "CVE-2019-1563"):
        assert found[(cve, "libssl1.1")]["fixed_version"] == "1.1.1d-r0"
        assert found[(cve, "libcrypto1.1")]["matched_as"] == "openssl"
    assert not any(package == "busybox" for _, package in found)  # 1.30.1-r2 is the fixed release
    assert len(found) == 7
    # The feed's two malformed entries are reported, not fatal.
    assert "skipped 2 malformed record(s)" in result.stderr


def test_python_image_against_the_pypa_feed_in_cyclonedx(stack, tmp_path):
    stack.pusher.push_image("acme/pyapp", "1", [fixtures.debian_base(), fixtures.python_layer()])
    ref = f"{stack.host}/acme/pyapp:1"
    result = run(["scan", ref, "--plain-http", "--format", "cyclonedx", "--advisories", str(ADVISORIES / "pypa-osv" / "vulns")],
                 env=ROBOT_ENV, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(result.stdout) is None
    bom = json.loads(result.stdout)
    refs = {c["bom-ref"]: c for c in bom["components"]}
    vulnerabilities = {(v["id"], refs[v["affects"][0]["ref"]]["name"]): v for v in bom["vulnerabilities"]}
    pyyaml = vulnerabilities[("CVE-2020-14343", "PyYAML")]
    assert {r["id"] for r in pyyaml["references"]} >= {"PYSEC-2021-142", "GHSA-8q59-q68h-6hv4"}
    assert pyyaml["references"][0]["source"]["name"] in ("GitHub", "OSV", "NVD")
    assert pyyaml["recommendation"] == "Upgrade PyYAML to 5.4 or later."
    assert {"name": "quaywatch:fixed_version", "value": "5.4"} in pyyaml["properties"]
    assert pyyaml["ratings"][0]["severity"] == "unknown"  # the PyPA record carries no score
    assert any(name == "Django" for _, name in vulnerabilities)  # egg-info PKG-INFO 3.2
    assert not any(name == "requests" for _, name in vulnerabilities)


def test_sarif_for_code_scanning(stack, tmp_path):
    """SARIF 2.1.0 as GitHub code scanning reads it; sarif-pydantic (the spec's object model)
    parses it independently."""
    from sarif_pydantic import Sarif

    stack.pusher.push_image("acme/pysarif", "1", [fixtures.debian_base(), fixtures.python_layer()])
    ref = f"{stack.host}/acme/pysarif:1"
    args = ["scan", ref, "--plain-http", "--format", "sarif", "--advisories", str(ADVISORIES / "pypa-osv" / "vulns")]
    first = run(args, env=ROBOT_ENV, tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr
    log = json.loads(first.stdout)
    Sarif.model_validate(log)
    assert log["version"] == "2.1.0"
    run_ = log["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    assert len({r["id"] for r in rules}) == len(rules)
    result = next(r for r in run_["results"] if r["ruleId"] == "CVE-2020-14343")
    assert rules[result["ruleIndex"]]["id"] == "CVE-2020-14343"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("PyYAML-5.3.1.dist-info/METADATA")
    assert "fixed in 5.4" in result["message"]["text"]
    assert all(float(r["properties"]["security-severity"]) >= 0 for r in rules if "security-severity" in r["properties"])
    second = json.loads(run(args, env=ROBOT_ENV, tmp_path=tmp_path).stdout)
    fingerprints = lambda log: sorted(r["partialFingerprints"]["quaywatch/v1"] for r in log["runs"][0]["results"])
    assert fingerprints(second) == fingerprints(log)  # stable across scans: dashboards track, not re-report


def test_sarif_without_advisories_is_a_usage_error(stack, tmp_path):
    stack.pusher.push_image("acme/pysarif", "2", [fixtures.debian_base()])
    result = run(["scan", f"{stack.host}/acme/pysarif:2", "--plain-http", "--format", "sarif"], env=ROBOT_ENV, tmp_path=tmp_path)
    assert result.returncode == 2 and "needs advisories" in result.stderr


def test_debian_image_against_an_osv_zip_and_the_tracker(stack, tmp_path):
    stack.pusher.push_image("acme/debian", "12", [fixtures.debian_base()])
    dump = tmp_path / "Debian-all.zip"
    with zipfile.ZipFile(dump, "w") as archive:
        for path in (FIXTURES / "debian-osv").glob("*.json"):
            archive.write(path, path.name)
    result = run(["scan", f"{stack.host}/acme/debian:12", "--plain-http", "--format", "json",
                  "--advisories", str(dump), "--advisories", str(FIXTURES / "debian-tracker" / "tracker.json")],
                 env=ROBOT_ENV, tmp_path=tmp_path)
    found = findings_of(result)
    finding = found[("CVE-2023-5678", "libssl3")]
    assert finding["fixed_version"] == "3.0.13-1~deb12u1" and finding["installed_version"] == "3.0.11-1~deb12u2"
    assert found[("CVE-2010-0928", "libssl3")]["status"] == "affected"
    assert found[("CVE-2023-45853", "zlib1g")]["status"] == "fix_deferred"
    assert not any(vid == "DSA-5532-1" for vid, _ in found)


def test_table_output_lists_findings(stack, tmp_path):
    stack.pusher.push_image("acme/ubi", "9", [fixtures.ubi_base()])
    result = run(["scan", f"{stack.host}/acme/ubi:9", "--plain-http", "--advisories", str(FIXTURES / "rhel-osv")],
                 env=ROBOT_ENV, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Vulnerabilities: 1" in result.stdout and "(high 1)" in result.stdout
    assert "CVE-2024-5535" in result.stdout and "1:3.0.7-29.el9_5" in result.stdout


def test_fail_on_severity_for_ci(stack, tmp_path):
    stack.pusher.push_image("acme/ubi", "9", [fixtures.ubi_base()])
    ref = f"{stack.host}/acme/ubi:9"
    feed = ["--advisories", str(FIXTURES / "rhel-osv")]
    failing = run(["scan", ref, "--plain-http", "--format", "json", *feed, "--fail-on", "high"], env=ROBOT_ENV, tmp_path=tmp_path)
    assert failing.returncode == 1
    assert "1 finding(s) at or above high" in failing.stderr
    assert json.loads(failing.stdout)["findings"]  # the report is still printed
    passing = run(["scan", ref, "--plain-http", *feed, "--fail-on", "critical"], env=ROBOT_ENV, tmp_path=tmp_path)
    assert passing.returncode == 0, passing.stderr
    no_feed = run(["scan", ref, "--plain-http", "--fail-on", "high"], env=ROBOT_ENV, tmp_path=tmp_path)
    assert no_feed.returncode == 2 and "--fail-on needs advisories" in no_feed.stderr


def test_local_store_import_status_and_default_use(stack, tmp_path):
    stack.pusher.push_image("acme/alpine310", "3.10.2", [fixtures.alpine_310_base()])
    imported = run(["advisories", "import", str(ADVISORIES / "alpine-secdb"), str(FIXTURES / "debian-osv")], tmp_path=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "alpine-secdb: 12182 records, 2 skipped" in imported.stdout
    assert "CVE 2018-16859" in imported.stderr
    status = run(["advisories", "status"], tmp_path=tmp_path)
    assert status.returncode == 0, status.stderr
    rows = {line.split()[0]: line.split() for line in status.stdout.splitlines() if line.strip().startswith(("Alpine", "Debian"))}
    assert int(rows["Alpine"][1]) > 2000 and rows["Debian"][2] == "2024-09-18T03:21:07Z"
    scan = run(["scan", f"{stack.host}/acme/alpine310:3.10.2", "--plain-http", "--format", "json"], env=ROBOT_ENV, tmp_path=tmp_path)
    assert ("CVE-2019-14697", "musl") in findings_of(scan)


def test_missing_advisory_path_is_a_usage_error(tmp_path):
    result = run(["advisories", "import", str(tmp_path / "nope")], tmp_path=tmp_path)
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_sles_image_matched_against_suse_module_records(stack, tmp_path):
    """SLE BCI images were inventoried but not matched ("OS packages not matched"); SUSE's
    per-module OSV records now reach them through the service-pack release."""
    stack.pusher.push_image("acme/bci", "15.5", [fixtures.sles_base()])
    result = run(["scan", f"{stack.host}/acme/bci:15.5", "--plain-http", "--format", "json",
                  "--advisories", str(FIXTURES / "suse-osv")], env=ROBOT_ENV, tmp_path=tmp_path)
    found = findings_of(result)
    finding = found[("CVE-2023-5678", "libopenssl3")]
    assert (finding["ecosystem"], finding["release"], finding["fixed_version"]) == ("SUSE", "15.5", "3.0.8-150500.5.20.1")
    assert set(found) == {("CVE-2023-5678", "libopenssl3")}  # bash has no record
    assert "not matched" not in result.stderr


def test_ignore_file_triage_in_every_format(stack, tmp_path):
    """`scan --ignore-file`: ignored findings are marked in JSON, left out of the table (and
    counted), kept in CycloneDX with an analysis and in SARIF as suppressed, skipped by
    --fail-on; a rule past its date no longer applies and the CLI says so."""
    from sarif_pydantic import Sarif

    stack.pusher.push_image("acme/ubi", "9", [fixtures.ubi_base()])
    ref = f"{stack.host}/acme/ubi:9"
    feed = ["--advisories", str(FIXTURES / "rhel-osv")]
    rules = tmp_path / "ignores.yaml"
    rules.write_text("ignores:\n"
                     "  - id: RHSA-2024:9333\n"  # an alias of CVE-2024-5535: aliases match too
                     "    package: openssl-libs\n"
                     "    reason: SSL_select_next_proto is never called by our services\n"
                     "    expires: 2999-12-31\n"
                     "  - id: CVE-2000-0001\n"
                     "    reason: an old rule\n"
                     "    expires: 2001-01-01\n")
    scan = lambda *extra: run(["scan", ref, "--plain-http", *feed, "--ignore-file", str(rules), *extra],
                              env=ROBOT_ENV, tmp_path=tmp_path)
    as_json = scan("--format", "json", "--fail-on", "high")
    assert as_json.returncode == 0, as_json.stderr  # the only high finding is ignored
    (finding,) = json.loads(as_json.stdout)["findings"]
    assert finding["ignored"] == {"reason": "SSL_select_next_proto is never called by our services",
                                  "expires": "2999-12-31"}
    assert "the ignore of CVE-2000-0001 expired on 2001-01-01; it no longer applies" in as_json.stderr
    table = scan()
    assert "Vulnerabilities: 0" in table.stdout and "1 ignored" in table.stdout and "CVE-2024-5535" not in table.stdout
    bom = scan("--format", "cyclonedx")
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(bom.stdout) is None
    (vulnerability,) = json.loads(bom.stdout)["vulnerabilities"]
    assert vulnerability["analysis"]["state"] == "in_triage" and "until 2999-12-31" in vulnerability["analysis"]["detail"]
    sarif = json.loads(scan("--format", "sarif").stdout)
    Sarif.model_validate(sarif)
    assert sarif["runs"][0]["results"][0]["suppressions"][0]["kind"] == "external"
    rules.write_text("ignores:\n  - id: CVE-2024-5535\n    reason: accepted\n    expires: 2001-01-01\n")
    lapsed = scan("--format", "json", "--fail-on", "high")
    assert lapsed.returncode == 1 and "ignored" not in json.loads(lapsed.stdout)["findings"][0]
    rules.write_text("ignores:\n  - id: CVE-2024-5535\n")
    broken = scan()
    assert broken.returncode == 2 and "ignores.0.reason: Field required" in broken.stderr


def test_exploit_signals_sort_and_fail_on_kev(stack, tmp_path):
    """The Java and npm layers of the demo app against real GitHub advisories, NVD records,
    the KEV catalog and EPSS scores: Log4Shell is critical (ghsa), known exploited, first
    by EPSS; --fail-on kev trips on it and not on an image without it."""
    stack.pusher.push_image("acme/java", "1", [fixtures.java_layer(), fixtures.npm_layer()])
    ref = f"{stack.host}/acme/java:1"
    enrichment = FIXTURES / "enrichment"
    feeds = [arg for folder in ("ghsa", "nvd", "kev", "epss") for arg in ("--advisories", str(enrichment / folder))]
    as_json = run(["scan", ref, "--plain-http", "--format", "json", "--sort", "epss", *feeds],
                  env=ROBOT_ENV, tmp_path=tmp_path)
    assert as_json.returncode == 0, as_json.stderr
    findings = json.loads(as_json.stdout)["findings"]
    first = findings[0]  # --sort epss: the only scored CVE leads
    assert (first["id"], first["package"]) == ("CVE-2021-44228", "org.apache.logging.log4j:log4j-core")
    assert (first["severity"], first["severity_source"], first["kev"], first["kev_date_added"]) == (
        "critical", "ghsa", True, "2021-12-10")
    assert first["epss"]["score"] == 0.94358
    by_package = {f["package"]: f for f in findings}
    assert by_package["lodash"]["id"] == "CVE-2021-23337" and by_package["lodash"]["severity"] == "high"
    assert by_package["lodash"]["kev"] is False and by_package["lodash"]["epss"] is None
    table = run(["scan", ref, "--plain-http", "--sort", "kev", *feeds], env=ROBOT_ENV, tmp_path=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "KEV EPSS 94%" in table.stdout and "ghsa" in table.stdout
    tripped = run(["scan", ref, "--plain-http", "--format", "json", *feeds, "--fail-on", "kev"], env=ROBOT_ENV,
                  tmp_path=tmp_path)
    assert tripped.returncode == 1 and "1 finding(s) known to be exploited (CISA KEV)" in tripped.stderr
    stack.pusher.push_image("acme/npm", "1", [fixtures.npm_layer()])
    calm = run(["scan", f"{stack.host}/acme/npm:1", "--plain-http", *feeds, "--fail-on", "kev"], env=ROBOT_ENV,
               tmp_path=tmp_path)
    assert calm.returncode == 0, calm.stderr


def test_pypa_ghsa_and_nvd_together_rate_by_precedence_without_duplicates(stack, tmp_path):
    """The demo's application image against the real PyPA feed, real GitHub advisories and NVD
    records: one finding per (vulnerability, package) however many feeds name it, each rated
    by the first source in the precedence that rates it."""
    stack.pusher.push_image("acme/mixed", "1", [fixtures.python_layer(), fixtures.npm_layer(), fixtures.java_layer()])
    enrichment = FIXTURES / "enrichment"
    feeds = ["--advisories", str(ADVISORIES / "pypa-osv" / "vulns"),
             *(arg for folder in ("ghsa", "nvd", "cve5") for arg in ("--advisories", str(enrichment / folder)))]
    findings = findings_of(run(["scan", f"{stack.host}/acme/mixed:1", "--plain-http", "--format", "json", *feeds],
                               env=ROBOT_ENV, tmp_path=tmp_path))
    assert len(findings) == len(set(findings))  # keyed by (id, package): no duplicate survived the merge
    for (_, package), finding in findings.items():
        for alias in finding["aliases"]:  # no second finding of the same package under an alias
            assert (alias, package) not in findings
    assert findings[("CVE-2021-44228", "org.apache.logging.log4j:log4j-core")]["severity_source"] == "ghsa"
    assert findings[("CVE-2020-8840", "com.fasterxml.jackson.core:jackson-databind")]["severity_source"] == "ghsa"
    assert findings[("CVE-2021-23337", "lodash")]["severity_source"] == "ghsa"
    pyyaml = findings[("CVE-2020-14343", "PyYAML")]
    assert (pyyaml["severity"], pyyaml["severity_source"], pyyaml["cvss_source"]) == ("critical", "nvd", "nvd")
    unrated = [f for f in findings.values() if f["severity_source"] == "none"]
    assert all(f["severity"] == "unknown" for f in unrated) and len(unrated) < len(findings)
