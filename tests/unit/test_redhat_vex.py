"""Red Hat CSAF VEX: documents read as Red Hat's guidelines describe them, statements matched
by source or binary name within the image's product streams, and the archive with its
deletions."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from quaywatch.advisories.formats.redhat_csaf import parse_csaf
from quaywatch.advisories.importer import import_feed
from quaywatch.advisories.loader import parse_document
from quaywatch.advisories.models import FixStatus
from quaywatch.advisories.store import SqliteAdvisoryStore
from quaywatch.advisories.sync import sync_feeds
from quaywatch.distros.rhel import cpe_scope, product_scope
from quaywatch.inventory.models import ImageSummary, Inventory, OperatingSystem, Package
from quaywatch.matching.matcher import match_inventory

from tests.support import redhat_vex
from tests.support.feed_server import FeedServer
from tests.support.redhat_vex import (
    APPSTREAM_EUS_92,
    BASEOS_9,
    EUS92_CONTENT_SETS,
    REPOSITORY_TO_CPE,
    RHEL9,
    UBI9_CONTENT_SETS,
    UBI9_EXPECTED,
    UBI9_SOURCES,
    Statement,
    vex_document,
)


def packages_of(sources: list[redhat_vex.SourceRpm]) -> list[Package]:
    """What the rpm analyzer reads from the rpm tool's database of ``sources``."""
    found = []
    for source in sources:
        for name in ([source.name] if source.main else []) + list(source.binaries):
            found.append(Package(type="rpm", name=name, version=f"{source.version}-{source.release}", epoch=source.epoch,
                                 source_name=source.name, source_version=f"{source.version}-{source.release}",
                                 path="var/lib/rpm/rpmdb.sqlite"))
    return found


def ubi9(content_sets: list[str], sources: list[redhat_vex.SourceRpm] = UBI9_SOURCES) -> Inventory:
    summary = ImageSummary(reference="r/ubi9:1", registry="r", repository="ubi9", digest="sha256:0",
                           platform="linux/amd64")
    os = OperatingSystem(id="rhel", version_id="9.4", content_sets=content_sets)
    return Inventory(image=summary, os=os, packages=packages_of(sources))


@pytest.fixture
def store(tmp_path: Path):
    redhat_vex.write_feed(tmp_path / "vex")
    with SqliteAdvisoryStore(tmp_path / "advisories.db") as opened:
        report = import_feed(opened, tmp_path / "vex")
        assert report.bad == []
        yield opened


def found(report) -> dict[tuple[str, str], tuple[str, str | None, str]]:
    return {(f.id, f.package): (f.status.value, f.fixed_version, f.severity) for f in report.findings}


@pytest.mark.parametrize("content_sets", [UBI9_CONTENT_SETS, []], ids=["content-manifest", "no-manifest"])
def test_a_ubi9_image_reports_every_status_once(store, content_sets) -> None:
    report = match_inventory(ubi9(content_sets), store)
    assert found(report) == UBI9_EXPECTED
    openssl = next(f for f in report.findings if f.package == "openssl-libs")
    assert openssl.fix_advisory == "RHSA-2024:2447" and openssl.severity_source == "redhat"
    assert openssl.advisories == ["redhat-vex:CVE-2024-0001"]
    glibc = next(f for f in report.findings if f.package == "glibc-common")
    assert (glibc.matched_as, glibc.matched_version) == ("glibc", "2.34-100.el9")  # by its source rpm
    assert glibc.fix_advisory is None and glibc.cvss_vector == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:N"


def test_under_investigation_is_shown_only_when_asked(store) -> None:
    report = match_inventory(ubi9(UBI9_CONTENT_SETS), store, under_investigation=True)
    assert found(report)[("CVE-2024-0007", "bash")] == ("under_investigation", None, "medium")
    assert len(report.findings) == len(UBI9_EXPECTED) + 1


def test_an_eus_image_takes_its_streams_fix_and_the_main_streams_unfixed_statements(store) -> None:
    older_tar = [s if s.name != "tar" else redhat_vex.SourceRpm("tar", "1.34", "4.el9", epoch=2) for s in UBI9_SOURCES]
    report = found(match_inventory(ubi9(EUS92_CONTENT_SETS, older_tar), store))
    assert report[("CVE-2024-0010", "tar")] == ("fixed", "2:1.34-5.el9_2", "critical")  # the EUS fix
    assert report[("CVE-2024-0002", "glibc")] == ("affected", None, "high")  # stated for the main stream only
    main = found(match_inventory(ubi9(UBI9_CONTENT_SETS, older_tar), store))
    assert main[("CVE-2024-0010", "tar")] == ("affected", None, "critical")  # the EUS fix is not the main stream's


def test_red_hat_vex_decides_over_osv_and_not_affected_wins(store, tmp_path) -> None:
    """OSV's Red Hat data says zlib is fixed in a later build; Red Hat's VEX says RHEL 9's zlib
    was never affected: no finding."""
    osv = {"id": "RHSA-2024:9999", "modified": "2024-01-01T00:00:00Z", "aliases": ["CVE-2024-0006"],
           "affected": [{"package": {"ecosystem": "Red Hat:enterprise_linux:9::baseos", "name": "zlib"},
                         "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "0:1.2.11-41.el9"}]}]}]}
    (tmp_path / "osv.json").write_text(json.dumps(osv))
    import_feed(store, tmp_path / "osv.json")
    assert ("CVE-2024-0006", "zlib") not in found(match_inventory(ubi9(UBI9_CONTENT_SETS), store))


def test_statuses_epochs_advisories_and_severities_are_read_as_red_hat_writes_them() -> None:
    (advisory,) = parse_csaf(redhat_vex.ubi9_documents()[0], [])
    by_name = {(e.name, e.release): e for e in advisory.affected}
    libs = by_name[("openssl-libs", "9")]
    assert libs.status is FixStatus.FIXED and libs.ranges[0].events[-1].version == "1:3.0.7-27.el9"
    assert libs.fix_advisory == "RHSA-2024:2447" and libs.severity == "medium"
    assert libs.product == "redhat:enterprise_linux:9"
    assert by_name[("src:openssl", "9")].status is FixStatus.FIXED
    assert by_name[("src:openssl", "8")].status is FixStatus.AFFECTED
    assert advisory.summary == "openssl: a flaw" and advisory.severities[0].type == "CVSS_V3"
    per_component = vex_document("CVE-2024-0100", [
        Statement(RHEL9, "curl", "known_affected", remediation=redhat_vex.WILL_NOT_FIX, impact="Critical"),
        Statement(RHEL9, "libcurl", "known_affected", remediation=redhat_vex.DEFERRED)], impact="Low")
    (advisory,) = parse_csaf(per_component, [])
    assert {(e.name, e.status, e.severity) for e in advisory.affected} == {
        ("curl", FixStatus.WILL_NOT_FIX, "critical"), ("libcurl", FixStatus.FIX_DEFERRED, "low")}


def test_components_that_are_no_rpm_and_products_that_are_no_rhel_are_left_out() -> None:
    document = vex_document("CVE-2024-0101", [Statement(RHEL9, "bash", "known_affected", remediation=redhat_vex.AFFECTED)])
    branches = document["product_tree"]["branches"][0]["branches"]
    branches.append({"category": "product_version", "name": "ose-console", "product": {
        "name": "ose-console", "product_id": "ose-console",
        "product_identification_helper": {"purl": "pkg:oci/ose-console-rhel9"}}})
    branches.append({"category": "product_family", "name": "OpenShift", "branches": [{
        "category": "product_name", "name": "OpenShift 4", "product": {
            "name": "OpenShift 4", "product_id": "ocp4",
            "product_identification_helper": {"cpe": "cpe:/a:redhat:openshift:4"}}}]})
    relations = document["product_tree"]["relationships"]
    relations.append({"category": "default_component_of", "full_product_name": {"name": "x", "product_id": "ocp4:bash"},
                      "product_reference": "bash", "relates_to_product_reference": "ocp4"})
    relations.append({"category": "default_component_of", "full_product_name": {"name": "y",
                      "product_id": "red_hat_enterprise_linux_9:ose-console"},
                      "product_reference": "ose-console", "relates_to_product_reference": "red_hat_enterprise_linux_9"})
    document["vulnerabilities"][0]["product_status"]["known_affected"] += ["ocp4:bash",
                                                                           "red_hat_enterprise_linux_9:ose-console"]
    (advisory,) = parse_csaf(document, [])
    assert [(e.name, e.release) for e in advisory.affected] == [("bash", "9")]


@pytest.mark.parametrize(("cpe", "scope"), [
    ("cpe:/o:redhat:enterprise_linux:9", ("9", "redhat:enterprise_linux:9")),
    ("cpe:/a:redhat:enterprise_linux:9::appstream", ("9", "redhat:enterprise_linux:9")),
    ("cpe:/o:redhat:enterprise_linux:10.0", ("10", "redhat:enterprise_linux:10")),
    ("cpe:/a:redhat:rhel_eus:9.2::appstream", ("9", "redhat:rhel_eus:9.2")),
    ("cpe:/a:redhat:openshift:4.16::el9", ("9", "redhat:openshift:4.16")),
    ("cpe:/a:redhat:openshift:4", None),
    ("cpe:/a:redhat:rhel:8.3::appstream", None),
    ("cpe:/o:suse:sles:15", None),
])
def test_product_cpes_become_a_release_and_a_stream(cpe, scope) -> None:
    assert cpe_scope(cpe) == scope


def test_content_sets_become_the_images_streams() -> None:
    mapping = {k: v["cpes"] for k, v in REPOSITORY_TO_CPE["data"].items()}
    main = product_scope("9", UBI9_CONTENT_SETS, mapping)
    assert main.direct == {"redhat:enterprise_linux:9"} and not main.fallback
    eus = product_scope("9", EUS92_CONTENT_SETS, mapping)
    assert eus.direct == {"redhat:rhel_eus:9.2"} and eus.fallback == {"redhat:enterprise_linux:9"}
    assert product_scope("9", ["rhel-8-for-x86_64-baseos-rpms"], mapping).direct == {"redhat:enterprise_linux:9"}
    assert eus.select(["redhat:rhel_eus:9.2", "redhat:enterprise_linux:9"]) == [True, False]
    assert eus.select(["redhat:enterprise_linux:9", None]) == [True, True]


def test_the_archive_is_read_as_a_stream_and_deletions_withdraw(tmp_path) -> None:
    documents = redhat_vex.ubi9_documents()
    (tmp_path / "csaf_vex_2024-09-22.tar.zst").write_bytes(redhat_vex.vex_archive(documents))
    with SqliteAdvisoryStore(tmp_path / "a.db") as store:
        report = import_feed(store, tmp_path / "csaf_vex_2024-09-22.tar.zst")
        assert report.bad == [] and report.records == len(documents)
        assert found(match_inventory(ubi9([]), store)) == UBI9_EXPECTED
        (tmp_path / "deletions.csv").write_text('"2024/cve-2024-0003.json","2024-10-01T00:00:00+00:00"\n')
        report = import_feed(store, tmp_path / "deletions.csv")
        assert report.bad == [] and ("Red Hat", "9", "libxml2") in report.changed
        assert ("CVE-2024-0003", "libxml2") not in found(match_inventory(ubi9([]), store))


def test_malformed_documents_are_refused_with_the_field() -> None:
    document = vex_document("CVE-2024-0102", [Statement(BASEOS_9, "bash", "fixed", fixed="5.1.8-10.el9")])
    del document["product_tree"]
    result = parse_document("x.json", json.dumps(document).encode())
    assert [b.reason for b in result.bad] == ["product_tree: missing or not an object"]
    document = vex_document("CVE-2024-0102", [Statement(APPSTREAM_EUS_92, "bash", "fixed", fixed="5.1.8-10.el9")])
    document["vulnerabilities"].append({"cve": "not a cve"})
    result = parse_document("x.json", json.dumps(document).encode())
    assert [b.reason for b in result.bad] == ["vulnerabilities[1]: no CVE id"] and len(result.advisories) == 1
    broken = parse_document("deletions.csv", b"this is not,a deletion,list\n")
    assert broken.bad[0].reason == "line 1: not a path,time pair of a VEX document"


def test_the_sync_takes_the_archive_once_then_the_changes(tmp_path) -> None:
    """First sync: the archive archive_latest.txt names (and what changed after its date);
    later syncs: only the documents changes.csv lists as newer, and deletions.csv's removals."""
    server = FeedServer()
    documents = redhat_vex.ubi9_documents()
    server.files["/vex/archive_latest.txt"] = b"csaf_vex_2024-09-22.tar.zst\n"
    server.files["/vex/csaf_vex_2024-09-22.tar.zst"] = redhat_vex.vex_archive(documents[1:])
    newer = documents[0]  # changed after the archive was made
    server.files["/vex/" + redhat_vex.document_path(newer)] = json.dumps(newer).encode()
    server.files["/vex/changes.csv"] = (f'"{redhat_vex.document_path(newer)}","2024-09-23T08:00:00+00:00"\n'
                                        '"2024/cve-2024-0002.json","2024-09-21T08:00:00+00:00"\n').encode()
    server.files["/vex/deletions.csv"] = b'"2023/cve-2023-9999.json","2024-01-01T00:00:00+00:00"\n'
    state: dict = {}
    store = tmp_path / "advisories.db"
    with server.running(), httpx.Client() as http:
        first = sync_feeds(store, [], tmp_path / "work", state, http, redhat_vex_url=f"{server.url}/vex/")
        assert first.downloaded == ["redhat-vex"] and first.failed == {}
        assert state["redhat-vex"] == {"since": "2024-09-23T08:00:00+00:00"}
        with SqliteAdvisoryStore(store) as opened:
            assert found(match_inventory(ubi9(UBI9_CONTENT_SETS), opened)) == UBI9_EXPECTED
        fetched = [path for path, _ in server.requests]
        again = sync_feeds(store, [], tmp_path / "work", state, http, redhat_vex_url=f"{server.url}/vex/")
        assert again.unchanged == ["redhat-vex"]
        assert [p for p, _ in server.requests[len(fetched):]] == ["/vex/changes.csv", "/vex/deletions.csv"]

        curl_fixed = vex_document("CVE-2024-0004", [Statement(BASEOS_9, "curl", "fixed", fixed="7.76.1-30.el9",
                                                               rhsa="RHSA-2024:3333")], impact="Low")
        server.files["/vex/2024/cve-2024-0004.json"] = json.dumps(curl_fixed).encode()  # Red Hat fixed it
        server.files["/vex/changes.csv"] = (b'"2024/cve-2024-0004.json","2024-10-02T08:00:00+00:00"\n'
                                            + server.files["/vex/changes.csv"])
        server.files["/vex/deletions.csv"] += b'"2024/cve-2024-0003.json","2024-10-01T00:00:00+00:00"\n'
        later = sync_feeds(store, [], tmp_path / "work", state, http, redhat_vex_url=f"{server.url}/vex/")
        assert later.downloaded == ["redhat-vex"] and state["redhat-vex"] == {"since": "2024-10-02T08:00:00+00:00"}
        assert "/vex/2024/cve-2024-0004.json" in [p for p, _ in server.requests]
        assert not any(p.endswith(".tar.zst") for p, _ in server.requests[len(fetched):])
        with SqliteAdvisoryStore(store) as opened:
            after = found(match_inventory(ubi9(UBI9_CONTENT_SETS), opened))
        expected = {k: v for k, v in UBI9_EXPECTED.items() if k[0] != "CVE-2024-0003"}  # deleted
        assert after == expected | {("CVE-2024-0004", "curl"): ("fixed", "7.76.1-30.el9", "low")}

        server.files.pop("/vex/changes.csv")
        failed = sync_feeds(store, [], tmp_path / "work", state, http, redhat_vex_url=f"{server.url}/vex/")
    assert "redhat-vex" in failed.failed and state["redhat-vex"] == {"since": "2024-10-02T08:00:00+00:00"}


def test_a_document_nested_thousands_deep_is_a_bad_record_not_a_crash() -> None:
    for data in (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000):
        result = parse_document("csaf.json", data)
        assert [b.reason for b in result.bad] == ["not valid JSON or YAML: nested too deeply"]
