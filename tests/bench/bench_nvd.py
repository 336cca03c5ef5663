"""NVD year-file ingest benchmark (run on demand: ``make bench-nvd``). Prints, never asserts.

No network here, so the year file is built from the real NVD records in
tests/fixtures/advisories/enrichment (their metric blocks, descriptions, KEV fields) and
padded with the parts quaywatch skips but must still parse (``configurations`` with CPE
matches, ``references``, ``weaknesses``), to the size of a real year: 2023 has ~29,000
CVEs and its ``nvdcve-2.0-2023.json.gz`` is ~20 MB compressed. Measures records per second
for the gzip file streamed into a new store, then a re-import of the same file (nothing
changes: what a nightly sync of an unchanged year costs), against a baseline of reading and
JSON-decoding the same file whole in the same run.

Then the CVE List's midnight baseline (what the first CVE JSON 5 sync imports): a zip holding
``cves.zip`` with one pretty-printed record per CVE, built from the real records in the
fixtures, against reading and decoding every member of the same archive.
"""

from __future__ import annotations

import copy
import gzip
import io
import json
import os
import random
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from quaywatch.advisories.importer import import_feed
from quaywatch.advisories.store import SqliteAdvisoryStore

T = TypeVar("T")
RECORDS = int(os.environ.get("QUAYWATCH_BENCH_NVD_RECORDS", "29000"))
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "advisories"
SOURCE = FIXTURES / "enrichment" / "nvd" / "nvdcve-2.0-demo.json"
CVE5_TEMPLATES = [FIXTURES / "enrichment" / "cve5" / "CVE-2023-5678.json", FIXTURES / "cvelist" / "CVE-2024-3094.json"]


def year_file(directory: Path) -> Path:
    templates = [item["cve"] for item in json.loads(SOURCE.read_text())["vulnerabilities"]]
    rng = random.Random(2023)
    items = []
    for number in range(RECORDS):
        cve = copy.deepcopy(rng.choice(templates))
        cve["id"] = f"CVE-2023-{number + 1000}"
        cve["references"] = [{"url": f"https://example.org/advisory/{number}/{i}", "source": "cve@mitre.org",
                              "tags": ["Third Party Advisory"]} for i in range(rng.randint(2, 12))]
        cve["weaknesses"] = [{"source": "nvd@nist.gov", "type": "Primary",
                              "description": [{"lang": "en", "value": f"CWE-{rng.randint(20, 900)}"}]}]
        cve["configurations"] = [{"nodes": [{"operator": "OR", "negate": False, "cpeMatch": [
            {"vulnerable": True, "criteria": f"cpe:2.3:a:vendor{number % 997}:product{i}:*:*:*:*:*:*:*:*",
             "versionEndExcluding": f"{rng.randint(1, 9)}.{rng.randint(0, 20)}", "matchCriteriaId": f"{number:08X}-{i:04X}"}
            for i in range(rng.randint(1, 8))]}]}]
        if "cisaExploitAdd" in cve and rng.random() > 0.005:  # ~0.5% of a year's CVEs reach KEV
            for key in ("cisaExploitAdd", "cisaActionDue", "cisaVulnerabilityName"):
                cve.pop(key, None)
        items.append({"cve": cve})
    document = {"resultsPerPage": RECORDS, "startIndex": 0, "totalResults": RECORDS, "format": "NVD_CVE",
                "version": "2.0", "timestamp": "2026-11-30T08:00:00.000", "vulnerabilities": items}
    path = directory / "nvdcve-2.0-2023.json.gz"
    path.write_bytes(gzip.compress(json.dumps(document).encode(), compresslevel=6))
    return path


def timed(call: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


def cvelist_baseline(directory: Path) -> Path:
    """A baseline zip as the CVE List releases it: ``cves.zip`` inside, records indented by 4."""
    templates = [json.loads(path.read_text()) for path in CVE5_TEMPLATES]
    rng = random.Random(5)
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as archive:
        for number in range(RECORDS):
            record = copy.deepcopy(rng.choice(templates))
            cve_id = f"CVE-2024-{number + 1000}"
            record["cveMetadata"]["cveId"] = cve_id
            archive.writestr(f"cves/2024/{number // 1000}xxx/{cve_id}.json", json.dumps(record, indent=4))
    path = directory / "2026-12-02_all_CVEs_at_midnight.zip.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as outer:
        outer.writestr("cves.zip", inner.getvalue())
    return path


def bench_cvelist(directory: Path) -> None:
    path = cvelist_baseline(directory)
    started = time.perf_counter()
    with zipfile.ZipFile(path) as outer, zipfile.ZipFile(io.BytesIO(outer.read("cves.zip"))) as inner:
        decoded = sum(1 for info in inner.infolist() if json.loads(inner.read(info)))
    baseline = time.perf_counter() - started
    assert decoded == RECORDS
    with SqliteAdvisoryStore(directory / "cvelist.db") as store:
        result, fresh = timed(lambda: import_feed(store, path))
    print(f"CVE List baseline: {RECORDS} records, {path.stat().st_size / 1e6:.1f} MB zip, {result.records} ratings")
    print(f"baseline (unzip + json.loads every member): {baseline:.2f} s = {RECORDS / baseline:,.0f} records/s")
    print(f"ingest into a new store:  {fresh:.2f} s = {RECORDS / fresh:,.0f} records/s (ratio to baseline {fresh / baseline:.2f})")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        path = year_file(directory)
        started = time.perf_counter()
        decoded = json.loads(gzip.decompress(path.read_bytes()))
        baseline = time.perf_counter() - started
        assert len(decoded["vulnerabilities"]) == RECORDS
        del decoded
        with SqliteAdvisoryStore(directory / "advisories.db") as store:
            first, fresh = timed(lambda: import_feed(store, path))
            again, repeat = timed(lambda: import_feed(store, path))
        print(f"NVD year file: {RECORDS} CVEs, {path.stat().st_size / 1e6:.1f} MB gzip, {first.records} ratings + KEV rows")
        print(f"baseline (gunzip + json.loads whole): {baseline:.2f} s = {RECORDS / baseline:,.0f} CVEs/s")
        print(f"ingest into a new store:  {fresh:.2f} s = {RECORDS / fresh:,.0f} CVEs/s (ratio to baseline {fresh / baseline:.2f})")
        print(f"re-import, nothing new:  {repeat:.2f} s = {RECORDS / repeat:,.0f} CVEs/s (ratio {repeat / baseline:.2f}); "
              f"changed keys {len(again.changed)}")
        bench_cvelist(directory)


if __name__ == "__main__":
    main()
