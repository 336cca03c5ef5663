"""rpm NDB databases (``Packages.db`` on SUSE) read from memory, and damaged the way a hostile
image could damage them. The files come from tests/support/rpmdb.py's writer, which follows
rpm's lib/backend/ndb/rpmpkg.c: no tool on this machine writes NDB."""

from __future__ import annotations

import io
import struct

import pytest
from quaywatch.inventory.analyzers.base import AnalyzerError
from quaywatch.inventory.analyzers.ndb import NdbError, package_blobs
from quaywatch.inventory.analyzers.rpm import RpmDatabaseAnalyzer

from tests.support.rpmdb import header_blob, rpmdb_ndb

PACKAGES = [
    {"name": f"pkg{n}", "version": f"1.{n}", "release": f"150500.{n}.1", "arch": "x86_64",
     "sourcerpm": f"src{n // 2}-1.{n}-150500.{n}.1.src.rpm", "summary": "s" * (n * 37)}
    for n in range(9)
]


def test_every_used_slot_yields_its_header_blob_in_slot_order() -> None:
    data = rpmdb_ndb(PACKAGES, free_slots=(3, 5))
    assert list(package_blobs(data)) == [header_blob(p) for p in PACKAGES]


def test_slots_on_later_pages_are_read() -> None:
    many = [{"name": f"p{n}", "version": "1", "release": "1", "arch": "noarch"} for n in range(300)]
    data = rpmdb_ndb(many, slot_pages=2)  # page 1 holds 254 slots, the rest spill onto page 2
    assert [b for b in package_blobs(data)] == [header_blob(p) for p in many]


def test_the_rpm_analyzer_reads_packages_db() -> None:
    packages = [*PACKAGES, {"name": "gpg-pubkey", "version": "39db7c82", "release": "5f68629b"}]
    data = rpmdb_ndb(packages)
    findings = RpmDatabaseAnalyzer().analyze("usr/lib/sysimage/rpm/Packages.db", io.BytesIO(data), len(data))
    assert findings is not None and not findings.warnings
    assert [(p.name, p.version, p.source_name, p.source_version) for p in findings.packages][:2] == [
        ("pkg0", "1.0-150500.0.1", "src0", "1.0-150500.0.1"), ("pkg1", "1.1-150500.1.1", "src0", "1.1-150500.1.1")]
    assert len(findings.packages) == len(PACKAGES)  # the key ring entry is not a package


def _damaged(data: bytes, offset: int, value: bytes) -> bytes:
    return data[:offset] + value + data[offset + len(value):]


FIRST_SLOT = 32
FIRST_BLOB = 4096


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: _damaged(d, 0, b"XpmP"), "no RpmP header"),
    (lambda d: _damaged(d, 4, struct.pack("<I", 1)), "version 1"),
    (lambda d: _damaged(d, 12, struct.pack("<I", 0)), "slot pages"),
    (lambda d: _damaged(d, 12, struct.pack("<I", 10**6)), "slot pages"),
    (lambda d: d[:4000], "truncated"),
    (lambda d: d[:-16], "outside the blob area"),  # the last blob's blocks are gone
    (lambda d: _damaged(d, FIRST_SLOT, b"Slut"), "bad slot magic"),
    (lambda d: _damaged(d, FIRST_SLOT + 8, struct.pack("<I", 3)), "outside the blob area"),  # into the slot pages
    (lambda d: _damaged(d, FIRST_SLOT + 4, struct.pack("<I", 0)), "outside the blob area"),
    (lambda d: _damaged(d, FIRST_SLOT + 4, struct.pack("<I", 2)), "no blob where its slot points"),
    (lambda d: _damaged(d, FIRST_BLOB + 12, struct.pack("<I", 10**6)), "does not fill"),
    (lambda d: _damaged(d, FIRST_BLOB + 40, b"\xff"), "checksum mismatch"),
])
def test_damage_is_refused_with_a_reason(change, message) -> None:
    with pytest.raises(NdbError, match=message):
        list(package_blobs(change(rpmdb_ndb(PACKAGES))))


def test_a_damaged_database_is_an_analyzer_error_not_a_crash() -> None:
    data = _damaged(rpmdb_ndb(PACKAGES), FIRST_BLOB + 40, b"\xff")
    with pytest.raises(AnalyzerError, match="unreadable NDB rpm database"):
        RpmDatabaseAnalyzer().analyze("var/lib/rpm/Packages.db", io.BytesIO(data), len(data))
