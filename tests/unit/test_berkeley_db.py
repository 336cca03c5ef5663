"""Berkeley DB hash files (rpm's ``Packages`` on RHEL 7/8), written by libdb's own
``db5.3_load`` and then damaged the way a hostile image could damage them."""

from __future__ import annotations

import io
import struct

import pytest
from quaywatch.inventory.analyzers.base import AnalyzerError
from quaywatch.inventory.analyzers.berkeleydb import BerkeleyDbError, hash_values
from quaywatch.inventory.analyzers.rpm import RpmDatabaseAnalyzer

from tests.support.rpmdb import header_blob, rpmdb_berkeley

PACKAGES = [
    {"name": f"pkg{n}", "version": f"1.{n}", "release": "1.el8", "arch": "x86_64",
     "sourcerpm": f"src{n // 2}-1.{n}-1.el8.src.rpm", "summary": "s" * (n * 700)}
    for n in range(12)
]


@pytest.mark.parametrize("page_size", [512, 4096, 16384])
@pytest.mark.parametrize("big_endian", [False, True])
def test_every_value_is_read_inline_or_from_overflow_chains(page_size: int, big_endian: bool):
    data = rpmdb_berkeley(PACKAGES, page_size=page_size, big_endian=big_endian)
    values = sorted(hash_values(data), key=len)
    assert len(values) == len(PACKAGES) + 1
    assert sorted(values[1:]) == sorted(header_blob(p) for p in PACKAGES)  # byte for byte


def analyze(data: bytes):
    return RpmDatabaseAnalyzer().analyze("var/lib/rpm/Packages", io.BytesIO(data), len(data))


def test_the_rpm_analyzer_reads_packages_and_sources():
    findings = analyze(rpmdb_berkeley(PACKAGES))
    found = {(p.name, p.version, p.source_name, p.source_version) for p in findings.packages}
    assert ("pkg5", "1.5-1.el8", "src2", "1.5-1.el8") in found and len(found) == 12
    assert findings.warnings == []


def _corrupt(data: bytes, offset: int, value: bytes) -> bytes:
    return data[:offset] + value + data[offset + len(value):]


def test_truncated_file_is_refused_with_a_reason():
    data = rpmdb_berkeley(PACKAGES)
    with pytest.raises(AnalyzerError, match="truncated"):
        analyze(data[: len(data) // 2])


def test_an_overflow_chain_that_loops_is_refused():
    data = rpmdb_berkeley(PACKAGES[-1:], page_size=512)  # one value over many overflow pages
    overflow = [n for n in range(1, len(data) // 512) if data[n * 512 + 25] == 7]
    first, second = overflow[0], overflow[1]
    looped = _corrupt(data, second * 512 + 16, struct.pack("<I", first))  # next page -> back to the start
    with pytest.raises(BerkeleyDbError, match="loops back"):
        list(hash_values(looped))


def test_pages_pointing_outside_the_file_are_refused():
    data = rpmdb_berkeley(PACKAGES[-1:], page_size=512)
    overflow = next(n for n in range(1, len(data) // 512) if data[n * 512 + 25] == 7)
    broken = _corrupt(data, overflow * 512 + 16, struct.pack("<I", 10**6))
    with pytest.raises(BerkeleyDbError, match="out of range"):
        list(hash_values(broken))


def test_encrypted_or_foreign_files_are_refused():
    data = rpmdb_berkeley(PACKAGES[:1])
    with pytest.raises(BerkeleyDbError, match="encrypted"):
        list(hash_values(_corrupt(data, 24, b"\x01")))
    with pytest.raises(BerkeleyDbError, match="not a Berkeley DB"):
        list(hash_values(b"\0" * 4096))


def test_rpm_itself_reads_the_same_packages_from_the_file(tmp_path):
    """rpm 4.18's own read-only Berkeley DB backend (Debian package rpm) as the reference."""
    import shutil
    import subprocess

    rpm = shutil.which("rpm")
    assert rpm, "rpm is missing: apt-get install rpm (.ci/run installs it)"
    data = rpmdb_berkeley(PACKAGES, page_size=4096)
    (tmp_path / "Packages").write_bytes(data)
    listed = subprocess.run(
        [rpm, "--dbpath", str(tmp_path), "--define", "_db_backend bdb_ro", "-qa",
         "--qf", "%{NAME} %{VERSION}-%{RELEASE} %{SOURCERPM}\\n"],
        capture_output=True, text=True, check=True,
    ).stdout.split("\n")
    ours = {f"{p.name} {p.version} {p.source_rpm}" for p in analyze(data).packages}
    assert ours == {line for line in listed if line}
