"""Severity by precedence, from the feeds people use for it (issue 13): GitHub advisories
(OSV), NVD CVE API 2.0 data, CVE JSON 5 records, CISA KEV and FIRST EPSS, on real records
(tests/fixtures/advisories/enrichment, see its README) and the real PyPA feed."""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest
from quaywatch.advisories.importer import import_feed
from quaywatch.advisories.loader import read_feed
from quaywatch.advisories.store import SCHEMA_VERSION, SqliteAdvisoryStore
from quaywatch.inventory.models import ImageSummary, Inventory, OperatingSystem, Package
from quaywatch.matching.matcher import match_inventory

from tests.support.shared_data import ADVISORIES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "advisories"
ENRICHMENT = FIXTURES / "enrichment"


def image(os: OperatingSystem | None, *packages: Package) -> Inventory:
    summary = ImageSummary(reference="r/x:1", registry="r", repository="x", tag="1", digest="sha256:0",
                           platform="linux/amd64")
    return Inventory(image=summary, os=os, packages=list(packages))


def maven(group: str, artifact: str, version: str) -> Package:
    return Package(type="maven", namespace=group, name=artifact, version=version, path=f"opt/{artifact}.jar")


def pypi(name: str, version: str) -> Package:
    return Package(type="pypi", name=name, version=version, path=f"site-packages/{name}.dist-info/METADATA")


@pytest.fixture
def store(tmp_path: Path):
    with SqliteAdvisoryStore(tmp_path / "advisories.db") as opened:
        yield opened


def test_nvd_feed_records_become_ratings_by_source(tmp_path: Path) -> None:
    (document,) = list(read_feed(ENRICHMENT / "nvd" / "nvdcve-2.0-demo.json"))
    assert document.bad == []
    by_key = {(r.vulnerability, r.source): r for r in document.ratings}
    log4shell = by_key[("CVE-2021-44228", "nvd")]
    assert log4shell.severity == "CRITICAL"
    assert [v.type for v in log4shell.vectors] == ["CVSS_V3", "CVSS_V2"]
    # the Secondary metric of CISA-ADP (not the CNA, apache) is an adp rating
    assert ("CVE-2021-44228", "adp") in by_key and ("CVE-2021-44228", "cna") not in by_key
    assert by_key[("CVE-2023-45853", "adp")].severity == "HIGH"  # ADP scored 8.8 where NVD says 9.8
    assert not any(r.vulnerability == "CVE-2023-5678" for r in document.ratings)  # awaiting analysis: no metrics
    (kev,) = document.known_exploited
    assert (kev.vulnerability, kev.date_added) == ("CVE-2021-44228", "2021-12-10")


def test_nvd_files_are_streamed_gzip_and_zip_alike(tmp_path: Path) -> None:
    source = (ENRICHMENT / "nvd" / "nvdcve-2.0-demo.json").read_bytes()
    (tmp_path / "nvdcve-2.0-2021.json.gz").write_bytes(gzip.compress(source))
    with zipfile.ZipFile(tmp_path / "nvdcve-2.0-2022.json.zip", "w") as archive:
        archive.writestr("nvdcve-2.0-2022.json", source)
    for name in ("nvdcve-2.0-2021.json.gz", "nvdcve-2.0-2022.json.zip"):
        ratings = [r for d in read_feed(tmp_path / name) for r in d.ratings]
        assert len(ratings) == 7, name


def test_a_broken_nvd_file_keeps_what_came_before_the_break(tmp_path: Path) -> None:
    text = (ENRICHMENT / "nvd" / "nvdcve-2.0-demo.json").read_text()
    cut = text.index('"CVE-2019-14697"')
    broken = tmp_path / "nvdcve-2.0-broken.json"
    broken.write_text(text[:cut] + "{{{")
    documents = list(read_feed(broken))
    assert {r.vulnerability for d in documents for r in d.ratings} == {"CVE-2021-44228", "CVE-2023-45853"}
    assert any("not valid JSON" in b.reason for d in documents for b in d.bad)


def test_cve5_record_gives_the_cna_rating_on_its_own_scale() -> None:
    (document,) = list(read_feed(ENRICHMENT / "cve5" / "CVE-2023-5678.json"))
    (rating,) = document.ratings
    assert (rating.vulnerability, rating.source, rating.severity, rating.vectors) == ("CVE-2023-5678", "cna", "LOW", [])


def test_kev_catalog_and_epss_csv_are_read(tmp_path: Path) -> None:
    (kev,) = list(read_feed(ENRICHMENT / "kev" / "known_exploited_vulnerabilities.json"))
    assert kev.kev_catalog and [e.vulnerability for e in kev.known_exploited] == ["CVE-2021-44228"]
    assert kev.known_exploited[0].ransomware == "Known"
    gz = tmp_path / "epss_scores-2026-03-28.csv.gz"
    gz.write_bytes(gzip.compress((ENRICHMENT / "epss" / "epss_scores-2026-03-28.csv").read_bytes()))
    for path in (ENRICHMENT / "epss" / "epss_scores-2026-03-28.csv", gz):
        (epss,) = list(read_feed(path))
        scores = {p.vulnerability: p for p in epss.predictions}
        assert epss.epss_snapshot and len(scores) == 4
        assert (scores["CVE-2021-44228"].score, scores["CVE-2021-44228"].percentile) == (0.94358, 0.9996)
        assert scores["CVE-2021-44228"].date == "2026-03-28"


def test_malformed_exploit_rows_are_reported_not_fatal(tmp_path: Path) -> None:
    csv_file = tmp_path / "epss.csv"
    csv_file.write_text("cve,epss,percentile\nCVE-2021-44228,0.9,0.99\nnot-a-cve,0.1,0.2\nCVE-2020-1,2.5,0.1\n")
    (document,) = list(read_feed(csv_file))
    assert [p.vulnerability for p in document.predictions] == ["CVE-2021-44228"]
    assert len(document.bad) == 2


def test_log4shell_gets_ghsa_severity_kev_and_epss(store) -> None:
    for folder in ("ghsa", "nvd", "kev", "epss"):
        import_feed(store, ENRICHMENT / folder)
    report = match_inventory(image(None, maven("org.apache.logging.log4j", "log4j-core", "2.14.1"),
                                   maven("com.fasterxml.jackson.core", "jackson-databind", "2.9.10")), store)
    found = {f.package: f for f in report.findings}
    log4j = found["org.apache.logging.log4j:log4j-core"]
    assert (log4j.id, log4j.aliases) == ("CVE-2021-44228", ["GHSA-jfh8-c2jp-5v3q"])
    assert (log4j.severity, log4j.severity_source) == ("critical", "ghsa")
    assert (log4j.cvss_score, log4j.cvss_source) == (10.0, "ghsa")
    assert log4j.kev is True and log4j.kev_date_added == "2021-12-10"
    assert log4j.epss is not None and log4j.epss.score == 0.94358 and log4j.epss.percentile == 0.9996
    jackson = found["com.fasterxml.jackson.core:jackson-databind"]
    assert (jackson.id, jackson.fixed_version, jackson.severity, jackson.kev) == ("CVE-2020-8840", "2.9.10.3", "critical", False)
    assert jackson.epss is None


def test_pypa_findings_take_nvd_then_cna_and_stay_one_per_vulnerability(store, tmp_path: Path) -> None:
    pyyaml = tmp_path / "pypa" / "pyyaml"
    pyyaml.mkdir(parents=True)
    for record in (ADVISORIES / "pypa-osv" / "vulns" / "pyyaml").glob("*.yaml"):
        shutil.copy(record, pyyaml)
    import_feed(store, tmp_path / "pypa")
    unrated = match_inventory(image(None, pypi("PyYAML", "5.3.1")), store).findings
    assert unrated and all(f.severity == "unknown" and f.severity_source == "none" for f in unrated)
    import_feed(store, ENRICHMENT / "nvd")
    findings = match_inventory(image(None, pypi("PyYAML", "5.3.1")), store).findings
    assert len(findings) == len(unrated)  # enrichment adds ratings, never findings
    rated = next(f for f in findings if f.id == "CVE-2020-14343")
    assert (rated.severity, rated.severity_source, rated.cvss_score, rated.cvss_source) == ("critical", "nvd", 9.8, "nvd")
    # a GitHub advisory for the same CVE joins the PYSEC one as one finding and decides its severity
    ghsa = {"id": "GHSA-8q59-q68h-6hv4", "modified": "2021-03-29T16:40:00Z", "aliases": ["CVE-2020-14343"],
            "summary": "Improper Input Validation in PyYAML",
            "affected": [{"package": {"ecosystem": "PyPI", "name": "PyYAML"},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "5.4"}]}]}],
            "database_specific": {"severity": "HIGH"}}  # the rating is ours for the test: GHSA above NVD
    (tmp_path / "ghsa").mkdir()
    (tmp_path / "ghsa" / "GHSA-8q59-q68h-6hv4.json").write_text(json.dumps(ghsa))
    import_feed(store, tmp_path / "ghsa")
    again = [f for f in match_inventory(image(None, pypi("PyYAML", "5.3.1")), store).findings if f.id == "CVE-2020-14343"]
    assert len(again) == 1 and "GHSA-8q59-q68h-6hv4" in again[0].aliases
    assert (again[0].severity, again[0].severity_source) == ("high", "ghsa")
    assert (again[0].cvss_score, again[0].cvss_source) == (9.8, "nvd")  # GHSA gave no vector here


def test_distro_rating_decides_over_nvd_and_the_cna_fills_a_gap(store) -> None:
    import_feed(store, FIXTURES / "debian-tracker")
    import_feed(store, FIXTURES / "debian-osv")
    for folder in ("nvd", "cve5"):
        import_feed(store, ENRICHMENT / folder)
    bookworm = OperatingSystem(id="debian", version_id="12")
    zlib = Package(type="deb", name="zlib1g", version="1:1.2.13.dfsg-1", source_name="zlib",
                   source_version="1:1.2.13.dfsg-1", path="var/lib/dpkg/status")
    ssl = Package(type="deb", name="libssl3", version="3.0.11-1~deb12u2", source_name="openssl",
                  source_version="3.0.11-1~deb12u2", path="var/lib/dpkg/status")
    found = {f.id: f for f in match_inventory(image(bookworm, zlib, ssl), store).findings}
    # Debian's tracker rates CVE-2010-0928 "unimportant": NVD would not be asked
    assert (found["CVE-2010-0928"].severity, found["CVE-2010-0928"].severity_source) == ("negligible", "debian")
    # CVE-2023-45853: Debian gives no urgency; NVD's 9.8 decides, not CISA-ADP's 8.8
    zlib_finding = found["CVE-2023-45853"]
    assert (zlib_finding.severity, zlib_finding.severity_source, zlib_finding.cvss_score) == ("critical", "nvd", 9.8)
    # CVE-2023-5678: NVD has no metrics yet, the CNA's record says LOW
    assert (found["CVE-2023-5678"].severity, found["CVE-2023-5678"].severity_source) == ("low", "cna")


def test_rating_changes_mark_the_packages_of_their_cves_changed(store) -> None:
    import_feed(store, ENRICHMENT / "ghsa")
    first = import_feed(store, ENRICHMENT / "nvd")
    assert ("Maven", "", "org.apache.logging.log4j:log4j-core") in first.changed
    assert not any(key.name == "zlib" for key in first.changed)  # no advisory names zlib here
    assert import_feed(store, ENRICHMENT / "nvd").changed == set()  # nothing new: nothing to re-test
    kev = import_feed(store, ENRICHMENT / "kev")  # the catalog adds the ransomware use NVD leaves out
    assert kev.changed == {("Maven", "", "org.apache.logging.log4j:log4j-core")}
    assert import_feed(store, ENRICHMENT / "kev").changed == set()
    epss = import_feed(store, ENRICHMENT / "epss")
    assert epss.changed == set() and epss.records == 4


def test_a_version_1_store_is_upgraded_with_its_alias_index(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with SqliteAdvisoryStore(path) as current:
        import_feed(current, ENRICHMENT / "ghsa")
    with sqlite3.connect(path) as db:  # what a version-1 store looked like: no alias index
        db.execute("DELETE FROM aliases")
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    with SqliteAdvisoryStore(path) as upgraded:
        report = import_feed(upgraded, ENRICHMENT / "nvd")
    assert ("Maven", "", "org.apache.logging.log4j:log4j-core") in report.changed
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (str(SCHEMA_VERSION),)


def test_status_reports_the_rating_and_exploit_feeds(store) -> None:
    assert store.signal_status() == []
    import_feed(store, ENRICHMENT)
    rows = {row.ecosystem: (row.records, row.newest_modified) for row in store.signal_status()}
    assert rows == {"ratings: adp": (2, None), "ratings: cna": (1, None), "ratings: nvd": (5, None),
                    "CISA KEV": (1, None), "EPSS scores": (4, "2026-03-28")}
