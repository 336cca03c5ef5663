"""Importing Red Hat's CSAF VEX archive: a realistic sample, timed (``make bench-redhat-vex``).

Red Hat's archive holds one document per CVE touching its products. Each sample document
has the shape of Red Hat's (tests/support/redhat_vex.py) and the breadth of a typical one:
a fix for RHEL 8 and 9 (source and four binary packages on two architectures), unfixed
statements for RHEL 7, 8 and 9 with their remediations, not-affected components, an EUS
stream. The baseline is reading the same archive without importing (decompress, untar, JSON):
the ratio says what the import adds on top of the reading.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import time
from pathlib import Path

from quaywatch.advisories.importer import import_feed
from quaywatch.advisories.loader import read_feed
from quaywatch.advisories.store import SqliteAdvisoryStore

from tests.support.redhat_vex import (
    AFFECTED,
    APPSTREAM_EUS_92,
    BASEOS_9,
    DEFERRED,
    RHEL8,
    RHEL9,
    WILL_NOT_FIX,
    Product,
    Statement,
    vex_archive,
    vex_document,
)

DOCUMENTS = int(os.environ.get("QUAYWATCH_BENCH_VEX_DOCUMENTS", "10000"))
RHEL7 = Product("red_hat_enterprise_linux_7", "Red Hat Enterprise Linux 7", "cpe:/o:redhat:enterprise_linux:7",
                "Red Hat Enterprise Linux 7")
BASEOS_8 = Product("BaseOS-8.10.0.Z.MAIN", "Red Hat Enterprise Linux BaseOS (v. 8)",
                   "cpe:/o:redhat:enterprise_linux:8::baseos", "Red Hat Enterprise Linux 8")


def document(rng: random.Random, number: int) -> dict:
    name = f"pkg{rng.randrange(3000)}"
    binaries = [name, f"{name}-libs", f"{name}-devel", f"{name}-tools"]
    statements = []
    for product, release in ((BASEOS_9, "el9"), (BASEOS_8, "el8")):
        fixed = f"1.{rng.randrange(20)}.{rng.randrange(9)}-{rng.randrange(1, 40)}.{release}"
        statements.append(Statement(product, name, "fixed", source=True, fixed=fixed, rhsa=f"RHSA-2024:{number}"))
        statements += [Statement(product, binary, "fixed", fixed=fixed, arch=arch, rhsa=f"RHSA-2024:{number}")
                       for binary in binaries for arch in ("x86_64", "aarch64")]
    statements.append(Statement(APPSTREAM_EUS_92, name, "fixed", source=True, fixed=f"1.0-{number}.el9_2",
                                rhsa=f"RHSA-2024:{number + 1}"))
    statements += [Statement(RHEL7, name, "known_affected", source=True, remediation=WILL_NOT_FIX),
                   Statement(RHEL8, f"{name}-compat", "known_affected", remediation=DEFERRED),
                   Statement(RHEL9, f"{name}-extra", "known_affected", remediation=AFFECTED),
                   Statement(RHEL9, f"{name}-docs", "known_not_affected")]
    return vex_document(f"CVE-{2000 + number % 25}-{10000 + number}", statements,
                        impact=rng.choice(["Low", "Moderate", "Important", "Critical"]))


def main() -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="quaywatch-bench-vex-") as tmp:
        started = time.perf_counter()
        documents = [document(rng, n) for n in range(DOCUMENTS)]
        archive = Path(tmp) / "csaf_vex_2026-12-01.tar.zst"
        archive.write_bytes(vex_archive(documents))
        raw = sum(len(json.dumps(d)) for d in documents)
        print(f"sample archive: {DOCUMENTS} documents, {raw / 1e6:.0f} MB of JSON, "
              f"{archive.stat().st_size / 1e6:.1f} MB compressed (built in {time.perf_counter() - started:.1f} s)")
        started = time.perf_counter()
        read = sum(len(d.advisories) for d in read_feed(archive))
        reading = time.perf_counter() - started
        print(f"baseline, reading only: {read} documents in {reading:.1f} s = {read / reading:,.0f} documents/s")
        with SqliteAdvisoryStore(Path(tmp) / "advisories.db") as store:
            started = time.perf_counter()
            report = import_feed(store, archive)
            elapsed = time.perf_counter() - started
        print(f"import: {report.records} documents in {elapsed:.1f} s = {report.records / elapsed:,.0f} documents/s, "
              f"{len(report.changed)} package keys; {elapsed / reading:.2f}x the reading alone")
        print(f"at this rate 100,000 documents import in {100_000 / (report.records / elapsed) / 60:.1f} min")


if __name__ == "__main__":
    main()
