"""Matching rules: OSV range semantics, distro release scoping, source packages, merging."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from quaywatch.advisories.importer import import_feed
from quaywatch.advisories.models import AffectedPackage, Event, FixStatus, Range
from quaywatch.advisories.store import SqliteAdvisoryStore
from quaywatch.inventory.models import ImageSummary, Inventory, OperatingSystem, Package
from quaywatch.matching.matcher import match_inventory
from quaywatch.matching.ranges import evaluate
from quaywatch.versions import InvalidVersionError
from quaywatch.versions.registry import PEP440, SEMVER

from tests.support.shared_data import ADVISORIES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "advisories"


def entry(*events: tuple[str, str], versions: tuple[str, ...] = (), kind: str = "ECOSYSTEM") -> AffectedPackage:
    return AffectedPackage(
        ecosystem="PyPI", name="x", versions=list(versions),
        ranges=[Range(type=kind, events=[Event(kind=k, version=v) for k, v in events])] if events else [],
    )


@pytest.mark.parametrize(
    ("version", "affected", "fixed"),
    [("0.9", True, "1.0"), ("1.0", False, None), ("1.5", False, None), ("2.0", True, "2.1"), ("2.1", False, None)],
)
def test_osv_introduced_and_fixed_events(version: str, affected: bool, fixed: str | None) -> None:
    package = entry(("introduced", "0"), ("fixed", "1.0"), ("introduced", "2.0"), ("fixed", "2.1"))
    verdict = evaluate(version, package, PEP440)
    assert (verdict.affected, verdict.fixed_version) == (affected, fixed)


def test_osv_events_are_sorted_before_evaluation() -> None:
    package = entry(("fixed", "2.1"), ("introduced", "2.0"), ("fixed", "1.0"), ("introduced", "0"))
    assert evaluate("2.0.5", package, PEP440).affected
    assert not evaluate("1.2", package, PEP440).affected


@pytest.mark.parametrize(("version", "affected"), [("1.4", True), ("1.5", True), ("1.5.1", False)])
def test_osv_last_affected_is_inclusive(version: str, affected: bool) -> None:
    verdict = evaluate(version, entry(("introduced", "1.0"), ("last_affected", "1.5")), PEP440)
    assert verdict.affected is affected
    if affected:
        assert verdict.status is FixStatus.AFFECTED and verdict.fixed_version is None


def test_osv_limit_bounds_the_range() -> None:
    package = entry(("introduced", "0"), ("limit", "3.0.0"), kind="SEMVER")
    assert evaluate("2.9.9", package, SEMVER).affected
    assert not evaluate("3.0.0", package, SEMVER).affected


def test_osv_explicit_versions_list() -> None:
    package = entry(versions=("1.0.0a1", "1.0.0a2"))
    assert evaluate("1.0.0a2", package, PEP440).affected
    assert not evaluate("1.0.0", package, PEP440).affected


def test_a_bad_event_version_spoils_only_its_range() -> None:
    package = AffectedPackage(ecosystem="PyPI", name="x", ranges=[
        Range(events=[Event(kind="introduced", version="0"), Event(kind="fixed", version="not a version")]),
        Range(events=[Event(kind="introduced", version="0"), Event(kind="fixed", version="2.0")]),
    ])
    assert evaluate("1.0", package, PEP440).fixed_version == "2.0"


def test_an_invalid_installed_version_raises() -> None:
    with pytest.raises(InvalidVersionError):
        evaluate("what?", entry(("introduced", "0"), ("fixed", "1.0")), PEP440)


# --- whole inventories ------------------------------------------------------------------

def image(os: OperatingSystem | None, *packages: Package) -> Inventory:
    summary = ImageSummary(reference="r/x:1", registry="r", repository="x", tag="1", digest="sha256:0", platform="linux/amd64")
    return Inventory(image=summary, os=os, packages=list(packages))


def deb(name: str, version: str, source: str | None = None, source_version: str | None = None) -> Package:
    return Package(type="deb", name=name, version=version, source_name=source or name,
                   source_version=source_version or version, path="var/lib/dpkg/status", layer="sha256:base")


DEBIAN_12 = OperatingSystem(id="debian", version_id="12", version_codename="bookworm")
DEBIAN_11 = OperatingSystem(id="debian", version_id="11", version_codename="bullseye")


@pytest.fixture
def store(tmp_path: Path):
    with SqliteAdvisoryStore(tmp_path / "advisories.db") as opened:
        yield opened


def write_osv(directory: Path, record: dict) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{record['id']}.json"
    path.write_text(json.dumps(record))
    return path


def by_id(report) -> dict[tuple[str, str], object]:
    return {(f.id, f.package): f for f in report.findings}


def test_debian_matching_by_source_package_within_the_release(store) -> None:
    import_feed(store, FIXTURES / "debian-osv")
    import_feed(store, FIXTURES / "debian-tracker")
    inventory = image(
        DEBIAN_12,
        deb("libssl3", "3.0.11-1~deb12u2", "openssl"),
        deb("openssl", "3.0.11-1~deb12u2"),
        deb("libc6", "2.36-9+deb12u4", "glibc"),
        deb("zlib1g", "1:1.2.13.dfsg-1", "zlib"),
    )
    report = match_inventory(inventory, store)
    found = by_id(report)
    # One finding per (vulnerability, package): OSV's DEBIAN-CVE record and the tracker merged.
    finding = found[("CVE-2023-5678", "libssl3")]
    assert finding.fixed_version == "3.0.13-1~deb12u1" and finding.status is FixStatus.FIXED
    assert finding.matched_as == "openssl" and finding.installed_version == "3.0.11-1~deb12u2"
    assert "DEBIAN-CVE-2023-5678" in finding.aliases
    assert finding.advisories == ["debian-tracker:CVE-2023-5678", "osv:DEBIAN-CVE-2023-5678"]
    assert finding.origin == "os" and finding.layer == "sha256:base"
    assert ("CVE-2023-5678", "openssl") in found  # every binary package of the source
    # DSA-5532-1 was fixed in exactly the installed version; CVE-2022-1343 fixed long before.
    assert not any(f.id in ("DSA-5532-1", "CVE-2022-1343") for f in report.findings)
    unfixed = found[("CVE-2010-0928", "libssl3")]
    assert unfixed.status is FixStatus.AFFECTED and unfixed.fixed_version is None
    assert unfixed.severity == "negligible" and unfixed.severity_source == "debian"  # the tracker: unimportant
    assert found[("CVE-2019-1010022", "libc6")].status is FixStatus.AFFECTED
    assert found[("CVE-2023-45853", "zlib1g")].status is FixStatus.FIX_DEFERRED
    assert report.distro == "Debian:12"


def test_debian_release_scoping_and_tracker_authority(store, tmp_path: Path) -> None:
    import_feed(store, FIXTURES / "debian-tracker")
    # An OSV record claiming bullseye's openssl is affected by CVE-2022-1343: the tracker,
    # Debian's own word, says <not-affected> for bullseye, so there must be no finding.
    write_osv(tmp_path / "osv", {
        "id": "DEBIAN-CVE-2022-1343", "upstream": ["CVE-2022-1343"], "modified": "2024-01-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "Debian:11", "name": "openssl"},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}],
    })
    import_feed(store, tmp_path / "osv")
    report = match_inventory(image(DEBIAN_11, deb("libssl1.1", "1.1.1n-0+deb11u5", "openssl")), store)
    ids = {f.id for f in report.findings}
    assert "CVE-2022-1343" not in ids
    assert "CVE-2023-5678" in ids  # bullseye's own entry (fixed in 1.1.1w-0+deb11u2)
    # The same packages on bookworm see bookworm's entries only.
    report12 = match_inventory(image(DEBIAN_12, deb("libssl1.1", "1.1.1n-0+deb11u5", "openssl")), store)
    assert {f.fixed_version for f in report12.findings if f.id == "CVE-2023-5678"} == {"3.0.13-1~deb12u1"}


def test_ubuntu_release_and_vendor_priority(store) -> None:
    import_feed(store, FIXTURES / "ubuntu-osv")
    ubuntu = OperatingSystem(id="ubuntu", version_id="22.04", version_codename="jammy")
    report = match_inventory(image(ubuntu, deb("libssl3", "3.0.2-0ubuntu1.12", "openssl")), store)
    (finding,) = report.findings
    assert (finding.id, finding.fixed_version, finding.severity) == ("USN-6622-1", "3.0.2-0ubuntu1.14", "medium")
    focal = OperatingSystem(id="ubuntu", version_id="24.04")
    assert match_inventory(image(focal, deb("libssl3", "3.0.2-0ubuntu1.12", "openssl")), store).findings == []


def test_rhel_by_binary_name_with_epoch_and_cvss(store) -> None:
    import_feed(store, FIXTURES / "rhel-osv")
    rhel = OperatingSystem(id="rhel", version_id="9.4")
    libs = Package(type="rpm", name="openssl-libs", version="3.0.7-27.el9", epoch=1, source_name="openssl",
                   path="var/lib/rpm/rpmdb.sqlite")
    bash = Package(type="rpm", name="bash", version="5.1.8-9.el9", path="var/lib/rpm/rpmdb.sqlite")
    report = match_inventory(image(rhel, libs, bash), store)
    (finding,) = report.findings
    assert finding.package == "openssl-libs" and finding.id == "CVE-2024-5535"
    assert "RHSA-2024:9333" in finding.aliases
    assert finding.fixed_version == "1:3.0.7-29.el9_5"
    assert finding.cvss_score == 7.4 and finding.severity == "high" and finding.severity_source == "redhat"
    assert finding.cvss_source == "redhat"  # Red Hat's own vector in its record
    patched = dataclasses.replace(libs, version="3.0.7-29.el9_5")
    assert match_inventory(image(rhel, patched), store).findings == []


@pytest.mark.parametrize(
    ("os", "installed", "fixed"),
    [
        (OperatingSystem(id="sles", version_id="15.5"), "3.0.8-150500.5.14.1", "3.0.8-150500.5.20.1"),
        (OperatingSystem(id="sles", version_id="15.4"), "3.0.1-150400.4.30.1", "3.0.1-150400.4.40.1"),
        (OperatingSystem(id="opensuse-leap", version_id="15.5"), "3.0.8-150500.5.14.1", "3.0.8-150500.5.20.1"),
    ],
)
def test_suse_by_binary_name_in_the_service_pack_release(store, os, installed, fixed) -> None:
    """SUSE files advisories per module and support phase; the image's VERSION_ID names the
    service pack, and that is the release every product string of it is reduced to."""
    import_feed(store, FIXTURES / "suse-osv")
    libssl = Package(type="rpm", name="libopenssl3", version=installed, source_name="openssl-3",
                     path="usr/lib/sysimage/rpm/Packages.db")
    report = match_inventory(image(os, libssl), store)
    (finding,) = report.findings
    assert (finding.id, finding.fixed_version, finding.origin) == ("CVE-2023-5678", fixed, "os")
    assert not report.warnings
    assert match_inventory(image(os, dataclasses.replace(libssl, version=fixed)), store).findings == []


def test_suse_releases_do_not_leak_into_each_other(store) -> None:
    import_feed(store, FIXTURES / "suse-osv")
    sp3 = OperatingSystem(id="sles", version_id="15.3")  # no record for SP3: no finding, no guess
    libssl = Package(type="rpm", name="libopenssl3", version="3.0.1-1", path="usr/lib/sysimage/rpm/Packages.db")
    assert match_inventory(image(sp3, libssl), store).findings == []
    micro = OperatingSystem(id="sle-micro", version_id="5.5")
    assert match_inventory(image(micro, libssl), store).findings == []


def test_alpine_by_origin_in_the_repositories_release(store) -> None:
    import_feed(store, ADVISORIES / "alpine-secdb")
    alpine = OperatingSystem(id="alpine", version_id="3.10.2")
    packages = [
        Package(type="apk", name="musl", version="1.1.22-r2", source_name="musl", path="lib/apk/db/installed"),
        Package(type="apk", name="libssl1.1", version="1.1.1c-r0", source_name="openssl", path="lib/apk/db/installed"),
        Package(type="apk", name="busybox", version="1.30.1-r2", source_name="busybox", path="lib/apk/db/installed"),
    ]
    report = match_inventory(image(alpine, *packages), store)
    assert {(f.id, f.package, f.fixed_version) for f in report.findings} == {
        ("CVE-2019-14697", "musl", "1.1.22-r3"),
        ("CVE-2019-1547", "libssl1.1", "1.1.1d-r0"),
        ("CVE-2019-1549", "libssl1.1", "1.1.1d-r0"),
        ("CVE-2019-1563", "libssl1.1", "1.1.1d-r0"),
    }
    # An image whose apk repositories point at v3.9 installs v3.9 packages: matched there.
    on_39 = dataclasses.replace(alpine, apk_release="v3.9")
    assert match_inventory(image(on_39, *packages), store).distro == "Alpine:3.9"


def test_language_packages_whatever_the_distro(store, tmp_path: Path) -> None:
    import_feed(store, ADVISORIES / "pypa-osv" / "vulns")
    feed = tmp_path / "osv"
    # Real GitHub/Go advisories, trimmed: lodash (CVE-2021-23337), log4j-core (Log4Shell), x/text.
    write_osv(feed, {"id": "GHSA-35jh-r3h4-6jhm", "aliases": ["CVE-2021-23337"], "modified": "2024-01-01T00:00:00Z",
                     "affected": [{"package": {"ecosystem": "npm", "name": "lodash"}, "ranges": [
                         {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}]}],
                     "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"}],
                     "database_specific": {"severity": "HIGH"}})
    write_osv(feed, {"id": "GHSA-jfh8-c2jp-5v3q", "aliases": ["CVE-2021-44228"], "modified": "2024-01-01T00:00:00Z",
                     "affected": [{"package": {"ecosystem": "Maven", "name": "org.apache.logging.log4j:log4j-core"}, "ranges": [
                         {"type": "ECOSYSTEM", "events": [{"introduced": "2.0-beta9"}, {"fixed": "2.15.0"}]}]}],
                     "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}]})
    write_osv(feed, {"id": "GO-2021-0113", "aliases": ["CVE-2021-38561"], "modified": "2024-01-01T00:00:00Z",
                     "affected": [{"package": {"ecosystem": "Go", "name": "golang.org/x/text"}, "ranges": [
                         {"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "0.3.7"}]}]}]})
    import_feed(store, feed)
    alpine = OperatingSystem(id="alpine", version_id="3.19.1")
    packages = [
        Package(type="pypi", name="PyYAML", version="5.3.1", path="usr/lib/python3.11/site-packages/PyYAML-5.3.1.dist-info/METADATA"),
        Package(type="pypi", name="requests", version="not.a.version!", path="x/METADATA"),
        Package(type="npm", name="lodash", version="4.17.20", path="app/node_modules/lodash/package.json"),
        Package(type="maven", namespace="org.apache.logging.log4j", name="log4j-core", version="2.14.1", path="app/lib/log4j-core-2.14.1.jar"),
        Package(type="golang", namespace="golang.org/x", name="text", version="v0.3.5", path="usr/bin/app"),
    ]
    report = match_inventory(image(alpine, *packages), store)
    found = by_id(report)
    assert found[("CVE-2020-14343", "PyYAML")].fixed_version == "5.4"
    assert found[("CVE-2021-23337", "lodash")].severity == "high"
    log4shell = found[("CVE-2021-44228", "org.apache.logging.log4j:log4j-core")]
    assert (log4shell.severity, log4shell.cvss_score, log4shell.origin) == ("critical", 10.0, "application")
    assert log4shell.path == "app/lib/log4j-core-2.14.1.jar"
    assert found[("CVE-2021-38561", "golang.org/x/text")].fixed_version == "0.3.7"
    assert not any(f.package == "requests" for f in report.findings)
    assert any("requests" in w and "not matched" in w for w in report.warnings)


def test_the_same_cve_from_two_feeds_is_one_finding(store, tmp_path: Path) -> None:
    import_feed(store, ADVISORIES / "pypa-osv" / "vulns")
    write_osv(tmp_path / "ghsa", {
        "id": "GHSA-8q59-q68h-6hv4", "aliases": ["CVE-2020-14343"], "modified": "2024-01-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "pyyaml"}, "ranges": [
            {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "5.4"}]}]}],
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
    })
    import_feed(store, tmp_path / "ghsa")
    pyyaml = Package(type="pypi", name="pyyaml", version="5.3.1", path="m/METADATA")
    findings = [f for f in match_inventory(image(None, pyyaml), store).findings if f.id == "CVE-2020-14343"]
    assert len(findings) == 1
    assert {"GHSA-8q59-q68h-6hv4", "PYSEC-2021-142"} <= set(findings[0].aliases)
    assert findings[0].cvss_score == 9.8 and findings[0].severity == "critical"


def test_os_packages_of_an_unknown_distro_are_reported_not_guessed(store) -> None:
    import_feed(store, FIXTURES / "debian-osv")
    report = match_inventory(image(OperatingSystem(id="gentoo"), deb("libssl3", "3.0.11-1~deb12u2", "openssl")), store)
    assert report.findings == [] and "gentoo" in report.warnings[0]


def test_what_a_match_read_is_forgotten_when_the_store_changes(store, tmp_path) -> None:
    """The store keeps what matches read while it is unchanged; an import through this store
    or through another connection (another process's sync) is seen by the next match."""
    advisory = {"id": "PYSEC-2099-1", "modified": "2099-01-01T00:00:00Z", "aliases": ["CVE-2099-0001"],
                "affected": [{"package": {"ecosystem": "PyPI", "name": "memo-test"},
                              "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}]}]}
    package = Package(type="pypi", name="memo-test", version="1.0", path="app/METADATA")
    assert match_inventory(image(None, package), store).findings == []  # read, and remembered as none
    (tmp_path / "one.json").write_text(json.dumps(advisory))
    import_feed(store, tmp_path / "one.json")
    assert [f.id for f in match_inventory(image(None, package), store).findings] == ["CVE-2099-0001"]
    with SqliteAdvisoryStore(store.path) as other:  # another connection to the same file
        (tmp_path / "two.json").write_text(json.dumps(advisory | {"id": "PYSEC-2099-2", "aliases": ["CVE-2099-0002"]}))
        import_feed(other, tmp_path / "two.json")
    assert [f.id for f in match_inventory(image(None, package), store).findings] == ["CVE-2099-0001", "CVE-2099-0002"]
