"""Feed formats into the normalised model, the store and its change tracking."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from quaywatch.advisories.ecosystems import PackageKey, parse_osv_ecosystem
from quaywatch.advisories.importer import import_feed
from quaywatch.advisories.loader import parse_document, read_feed
from quaywatch.advisories.models import FixStatus
from quaywatch.advisories.store import SqliteAdvisoryStore, StoreError

from tests.support.shared_data import ADVISORIES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "advisories"


@pytest.fixture
def store(tmp_path: Path):
    with SqliteAdvisoryStore(tmp_path / "advisories.db") as opened:
        yield opened


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Debian:12", ("Debian", "12")),
        ("Debian:11", ("Debian", "11")),
        ("Alpine:v3.19", ("Alpine", "3.19")),
        ("Ubuntu:22.04:LTS", ("Ubuntu", "22.04")),
        ("Ubuntu:20.04", ("Ubuntu", "20.04")),
        ("Ubuntu:Pro:18.04:LTS", ("Ubuntu", "pro-18.04")),
        ("Red Hat:enterprise_linux:9::appstream", ("Red Hat", "9")),
        ("Rocky Linux:9", ("Rocky Linux", "9")),
        ("SUSE:Linux Enterprise Module for Basesystem 15 SP5", ("SUSE", "15.5")),
        ("SUSE:Linux Enterprise Server 15 SP4-LTSS", ("SUSE", "15.4")),
        ("SUSE:Linux Enterprise Server 12 SP5", ("SUSE", "12.5")),
        ("SUSE:Linux Enterprise Server 15-LTSS", ("SUSE", "15.0")),
        ("SUSE:Linux Enterprise Micro 5.5", ("SUSE", "micro-5.5")),
        ("openSUSE:Leap 15.5", ("openSUSE", "15.5")),
        ("openSUSE:Leap Micro 5.5", ("openSUSE", "leap-micro-5.5")),
        ("openSUSE:Tumbleweed", ("openSUSE", "tumbleweed")),
        ("PyPI", ("PyPI", "")),
        ("npm", ("npm", "")),
        ("Maven", ("Maven", "")),
        ("Go", ("Go", "")),
    ],
)
def test_osv_ecosystem_strings(text: str, expected: tuple[str, str]) -> None:
    assert parse_osv_ecosystem(text) == expected


def test_pypa_yaml_record_keeps_versions_as_strings() -> None:
    """YAML would read `1.10` as the float 1.1; versions must stay exactly as written."""
    data = b"""id: PYSEC-TEST-1
modified: "2024-01-01T00:00:00Z"
aliases: [CVE-2099-0001]
affected:
- package: {name: Some_Package, ecosystem: PyPI}
  ranges:
  - type: ECOSYSTEM
    events:
    - introduced: "0"
    - fixed: 1.10
  versions: [1.0, 1.9]
"""
    document = parse_document("PYSEC-TEST-1.yaml", data)
    assert not document.bad
    (advisory,) = document.advisories
    entry = advisory.affected[0]
    assert entry.name == "some-package"  # PEP 503
    assert entry.ranges[0].events[1].version == "1.10"
    assert entry.versions == ["1.0", "1.9"]
    assert advisory.aliases == ["CVE-2099-0001"]


def test_real_pypa_feed_imports_without_bad_records(store) -> None:
    report = import_feed(store, ADVISORIES / "pypa-osv" / "vulns")
    assert report.records > 2600
    assert report.bad == []
    (pyyaml,) = [row for row in store.lookup([PackageKey("PyPI", "", "pyyaml")]).values()]
    assert {item.advisory_id for item in pyyaml} >= {"PYSEC-2021-142", "PYSEC-2018-49"}


def test_real_secdb_zero_means_never_affected_and_bad_entries_are_reported(store) -> None:
    report = import_feed(store, ADVISORIES / "alpine-secdb")
    # Two entries of the real feed are malformed (a string instead of a list, "CVE 2018-16859").
    reasons = sorted(bad.reason for bad in report.bad)
    assert len(reasons) == 2
    assert any("CVE 2018-16859" in reason for reason in reasons)
    assert all("alpine-secdb/v3." in bad.location for bad in report.bad)
    musl = store.lookup([PackageKey("Alpine", "3.10", "musl")])[PackageKey("Alpine", "3.10", "musl")]
    fixed = {item.advisory_id: item.entries[0] for item in musl}
    assert fixed["CVE-2019-14697"].ranges[0].events[1].version == "1.1.22-r3"
    # v3.8 main whitelists Oracle Berkeley DB issues for `db` with the fixed version "0".
    db = store.lookup([PackageKey("Alpine", "3.8", "db")])[PackageKey("Alpine", "3.8", "db")]
    statuses = {item.advisory_id: item.entries[0].status for item in db}
    assert statuses["CVE-2016-0682"] is FixStatus.NOT_AFFECTED


def test_secdb_json_as_the_live_feed_serves_it() -> None:
    """secdb.alpinelinux.org serves the same structure as JSON (v3.20/main.json)."""
    document = json.dumps({
        "apkurl": "{{urlprefix}}/{{distroversion}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk",
        "archs": ["x86_64"], "reponame": "main", "urlprefix": "https://dl-cdn.alpinelinux.org/alpine",
        "distroversion": "v3.20",
        "packages": [{"pkg": {"name": "openssl", "secfixes": {"3.3.2-r0": ["CVE-2024-6119"], "0": ["CVE-2022-1234"]}}}],
    }).encode()
    parsed = parse_document("v3.20/main.json", document)
    assert not parsed.bad
    by_id = {a.id: a.affected[0] for a in parsed.advisories}
    assert by_id["CVE-2024-6119"].release == "3.20"
    assert by_id["CVE-2024-6119"].ranges[0].events[1].version == "3.3.2-r0"
    assert by_id["CVE-2022-1234"].status is FixStatus.NOT_AFFECTED


def test_secdb_typos_and_several_ids_in_one_entry() -> None:
    data = b"""distroversion: v3.10
reponame: main
packages:
  - pkg:
      name: xen
      secfixes:
        4.12.1-r0:
          - CVE-????-?????  XSA-295
          - CVE_2019-2426 CVE-2019-1000
"""
    document = parse_document("main.yaml", data)
    assert not document.bad
    assert {a.id for a in document.advisories} == {"XSA-295", "CVE-2019-2426", "CVE-2019-1000"}
    assert all(a.partition == "3.10/main" for a in document.advisories)


def test_debian_tracker_statuses() -> None:
    document = parse_document(str(FIXTURES / "debian-tracker/tracker.json"),
                              (FIXTURES / "debian-tracker/tracker.json").read_bytes())
    assert not document.bad
    by_id = {a.id: a for a in document.advisories}
    bookworm = {e.release: e for e in by_id["CVE-2023-5678"].affected}
    assert bookworm["12"].status is FixStatus.FIXED
    assert bookworm["12"].ranges[0].events[-1].version == "3.0.13-1~deb12u1"
    assert "sid" not in {e.release for e in by_id["CVE-2023-5678"].affected}
    unfixed = by_id["CVE-2010-0928"].affected[0]
    assert unfixed.status is FixStatus.AFFECTED and unfixed.severity == "negligible"
    not_affected = {e.release: e for e in by_id["CVE-2022-1343"].affected}["11"]
    assert not_affected.status is FixStatus.NOT_AFFECTED
    assert by_id["CVE-2023-45853"].affected[0].status is FixStatus.FIX_DEFERRED


def test_bad_records_are_reported_with_location_and_skipped(store) -> None:
    report = import_feed(store, FIXTURES / "bad")
    reasons = {Path(bad.location).name: bad.reason for bad in report.bad}
    assert set(reasons) == {"truncated.json", "no-id.json", "no-introduced.json"}
    assert "not valid JSON" in reasons["truncated.json"]
    assert "introduced" in reasons["no-introduced.json"]
    assert report.records == 0


def test_osv_all_zip_dump(store, tmp_path: Path) -> None:
    dump = tmp_path / "all.zip"
    with zipfile.ZipFile(dump, "w") as archive:
        for path in (FIXTURES / "debian-osv").glob("*.json"):
            archive.write(path, path.name)
        archive.writestr("broken.json", "{not json")
    report = import_feed(store, dump)
    assert report.records == 2
    assert [Path(b.location.split("!")[1]).name for b in report.bad] == ["broken.json"]
    assert PackageKey("Debian", "12", "openssl") in report.changed
    assert PackageKey("Debian", "11", "openssl") in report.changed


def test_reimport_records_only_changed_keys(store, tmp_path: Path) -> None:
    feed = tmp_path / "feed"
    feed.mkdir()
    record = {
        "id": "GHSA-test-0001", "modified": "2024-01-01T00:00:00Z",
        "affected": [
            {"package": {"ecosystem": "PyPI", "name": "alpha"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0"}]}]},
            {"package": {"ecosystem": "npm", "name": "beta"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "2.0.0"}]}]},
        ],
    }
    (feed / "a.json").write_text(json.dumps(record))
    first = import_feed(store, feed)
    assert first.changed == {PackageKey("PyPI", "", "alpha"), PackageKey("npm", "", "beta")}
    assert import_feed(store, feed).changed == set()  # same content: nothing to re-test

    record["affected"][1]["ranges"][0]["events"][1]["fixed"] = "2.0.1"
    (feed / "a.json").write_text(json.dumps(record))
    third = import_feed(store, feed)
    assert third.changed == {PackageKey("npm", "", "beta")}
    assert store.changed_keys(third.import_id) == {PackageKey("npm", "", "beta")}

    del record["affected"][0]
    (feed / "a.json").write_text(json.dumps(record))
    assert import_feed(store, feed).changed == {PackageKey("PyPI", "", "alpha")}
    assert store.lookup([PackageKey("PyPI", "", "alpha")]) == {}

    record["withdrawn"] = "2024-02-01T00:00:00Z"
    (feed / "a.json").write_text(json.dumps(record))
    assert import_feed(store, feed).changed == {PackageKey("npm", "", "beta")}
    assert store.lookup([PackageKey("npm", "", "beta")]) == {}


def test_secdb_partitions_do_not_clobber_each_other(store, tmp_path: Path) -> None:
    main = tmp_path / "main.yaml"
    community = tmp_path / "community.yaml"
    main.write_text("distroversion: v3.10\nreponame: main\npackages:\n  - pkg:\n      name: a\n      secfixes:\n        1.0-r1:\n          - CVE-2020-0001\n")
    community.write_text("distroversion: v3.10\nreponame: community\npackages:\n  - pkg:\n      name: b\n      secfixes:\n        2.0-r1:\n          - CVE-2020-0001\n")
    import_feed(store, main)
    import_feed(store, community)
    import_feed(store, main)
    found = store.lookup([PackageKey("Alpine", "3.10", "a"), PackageKey("Alpine", "3.10", "b")])
    assert set(found) == {PackageKey("Alpine", "3.10", "a"), PackageKey("Alpine", "3.10", "b")}


def test_status_counts_and_newest_modification(store) -> None:
    import_feed(store, FIXTURES / "debian-osv")
    import_feed(store, FIXTURES / "ubuntu-osv")
    status = {row.ecosystem: row for row in store.status()}
    assert status["Debian"].records == 2
    assert status["Debian"].newest_modified == "2024-09-18T03:21:07Z"
    assert status["Ubuntu"].records == 1


def test_a_corrupt_store_file_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "advisories.db"
    broken.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open the advisory store"):
        SqliteAdvisoryStore(broken)


def test_directories_are_walked_in_a_stable_order() -> None:
    locations = [d.location for d in read_feed(FIXTURES)]
    assert locations == sorted(locations)
