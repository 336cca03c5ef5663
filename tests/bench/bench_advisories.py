"""Advisory benchmark (run on demand: ``make bench-advisories``). Prints, never asserts.

Builds a synthetic OSV corpus of 200,000 records shaped like the real dumps (ids, aliases,
summaries and details, CVSS vectors, references, 1-3 affected packages across PyPI, npm,
Maven, Go, Debian and Alpine, introduced/fixed events, explicit version lists), zipped as
OSV publishes ``all.zip``, plus the real feeds in ../shared/data/advisories, and measures:

1. ingest: records per second into the SQLite store (target >= 5,000/s)
2. matching a 500-package image, warm (target < 50 ms)
3. store size on disk
4. memory of the matcher (peak traced allocation during a match, and process RSS)
"""

from __future__ import annotations

import json
import os
import random
import resource
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path

from quaywatch.advisories.importer import import_feed
from quaywatch.advisories.store import SqliteAdvisoryStore
from quaywatch.inventory.models import ImageSummary, Inventory, OperatingSystem, Package
from quaywatch.matching.matcher import match_inventory

from tests.support.shared_data import ADVISORIES

RECORDS = int(os.environ.get("QUAYWATCH_BENCH_RECORDS", "200000"))
ECOSYSTEMS = [("PyPI", 0.25), ("npm", 0.25), ("Maven", 0.15), ("Go", 0.1), ("Debian:12", 0.15), ("Alpine:v3.19", 0.1)]
NAMES_PER_ECOSYSTEM = 20_000
VECTORS = ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:H",
           "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"]
WORDS = ["buffer", "overflow", "in", "parser", "allows", "remote", "attackers", "to", "cause", "denial", "of", "service", "via", "crafted", "input"]


def package_name(ecosystem: str, n: int) -> str:
    if ecosystem == "Maven":
        return f"org.example{n % 97}:artifact-{n}"
    if ecosystem == "Go":
        return f"github.com/org{n % 113}/module{n}"
    return f"pkg-{n}"


def version(rng: random.Random, ecosystem: str, major: int, minor: int, patch: int) -> str:
    if ecosystem.startswith("Debian"):
        return f"{major}.{minor}.{patch}-{rng.randint(1, 5)}+deb12u{rng.randint(1, 3)}"
    if ecosystem.startswith("Alpine"):
        return f"{major}.{minor}.{patch}-r{rng.randint(0, 5)}"
    return f"{major}.{minor}.{patch}"


def record(rng: random.Random, index: int) -> dict:
    affected = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        ecosystem = rng.choices([e for e, _ in ECOSYSTEMS], [w for _, w in ECOSYSTEMS])[0]
        major, minor = rng.randint(0, 9), rng.randint(0, 30)
        fixed = version(rng, ecosystem, major, minor, rng.randint(1, 20))
        entry = {
            "package": {"ecosystem": ecosystem, "name": package_name(ecosystem, rng.randrange(NAMES_PER_ECOSYSTEM))},
            "ranges": [{"type": "SEMVER" if ecosystem in ("npm", "Go") else "ECOSYSTEM",
                        "events": [{"introduced": "0" if rng.random() < 0.6 else version(rng, ecosystem, major, 0, 0)},
                                   {"fixed": fixed}]}],
        }
        if ecosystem in ("PyPI", "Maven") and rng.random() < 0.5:
            entry["versions"] = [version(rng, ecosystem, major, m, 0) for m in range(rng.randint(1, 15))]
        if ecosystem.startswith("Debian"):
            entry["ecosystem_specific"] = {"urgency": rng.choice(["low", "medium", "high", "unimportant"])}
        affected.append(entry)
    year = 2015 + index % 10
    return {
        "schema_version": "1.6.0",
        "id": f"SYN-{year}-{index:07d}",
        "aliases": [f"CVE-{year}-{100000 + index}"],
        "summary": " ".join(rng.choices(WORDS, k=8)),
        "details": " ".join(rng.choices(WORDS, k=45)),
        "published": f"{year}-0{1 + index % 9}-1{index % 10}T00:00:00Z",
        "modified": f"{year + 1}-0{1 + index % 9}-1{index % 10}T12:00:00Z",
        "severity": [{"type": "CVSS_V3", "score": rng.choice(VECTORS)}],
        "affected": affected,
        "references": [{"type": "ADVISORY", "url": f"https://example.org/advisories/{index}"},
                       {"type": "WEB", "url": f"https://example.org/issues/{index}"}],
    }


def build_corpus(path: Path) -> None:
    rng = random.Random(7)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for index in range(RECORDS):
            item = record(rng, index)
            archive.writestr(f"{item['id']}.json", json.dumps(item))


def image_of(size: int) -> Inventory:
    rng = random.Random(11)
    types = [("pypi", "PyPI"), ("npm", "npm"), ("deb", "Debian:12"), ("golang", "Go"), ("maven", "Maven")]
    packages = []
    for n in range(size):
        kind, ecosystem = types[n % len(types)]
        name = package_name(ecosystem, rng.randrange(NAMES_PER_ECOSYSTEM))
        namespace = None
        if kind == "maven":
            namespace, name = name.split(":")
        elif kind == "golang":
            namespace, _, name = name.rpartition("/")
        v = version(rng, ecosystem, rng.randint(0, 9), rng.randint(0, 30), rng.randint(0, 20))
        packages.append(Package(type=kind, namespace=namespace, name=name, version=v, source_name=name if kind == "deb" else None,
                                source_version=v if kind == "deb" else None, path=f"layer/file{n}"))
    summary = ImageSummary(reference="bench", registry="r", repository="bench", digest="sha256:0", platform="linux/amd64")
    return Inventory(image=summary, os=OperatingSystem(id="debian", version_id="12"), packages=packages)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="quaywatch-bench-advisories-") as tmp:
        corpus = Path(tmp) / "all.zip"
        started = time.perf_counter()
        build_corpus(corpus)
        print(f"synthetic OSV corpus: {RECORDS} records, {corpus.stat().st_size / 1e6:.0f} MB zipped "
              f"(built in {time.perf_counter() - started:.1f} s)")
        db = Path(tmp) / "advisories.db"
        with SqliteAdvisoryStore(db) as store:
            started = time.perf_counter()
            report = import_feed(store, corpus)
            elapsed = time.perf_counter() - started
            print(f"ingest synthetic: {report.records} records in {elapsed:.1f} s = {report.records / elapsed:,.0f} records/s"
                  "  (target >= 5,000/s)")
            for feed in (ADVISORIES / "pypa-osv" / "vulns", ADVISORIES / "alpine-secdb"):
                started = time.perf_counter()
                real = import_feed(store, feed)
                elapsed = time.perf_counter() - started
                print(f"ingest {feed.relative_to(ADVISORIES)}: {real.records} records in {elapsed:.2f} s = {real.records / elapsed:,.0f} records/s")
            started = time.perf_counter()
            again = import_feed(store, corpus)
            elapsed = time.perf_counter() - started
            print(f"re-import unchanged synthetic: {again.records / elapsed:,.0f} records/s, {len(again.changed)} keys changed")
        size = db.stat().st_size + sum(p.stat().st_size for p in db.parent.glob("advisories.db-*"))
        print(f"store size: {size / 1e6:.0f} MB on disk")

        inventory = image_of(500)
        with SqliteAdvisoryStore(db) as store:
            started = time.perf_counter()
            cold = match_inventory(inventory, store)
            cold_ms = (time.perf_counter() - started) * 1000
            timings = []
            for _ in range(7):
                started = time.perf_counter()
                match_inventory(inventory, store)
                timings.append((time.perf_counter() - started) * 1000)
            warm_ms = sorted(timings)[len(timings) // 2]
            tracemalloc.start()
            match_inventory(inventory, store)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        print(f"match 500 packages: {len(cold.findings)} findings; first {cold_ms:.1f} ms, warm median {warm_ms:.1f} ms"
              "  (target < 20 ms warm, aim 10)")
        print(f"matcher memory: peak {peak / 1e6:.1f} MB allocated during a match; "
              f"process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
