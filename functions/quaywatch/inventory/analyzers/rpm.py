"""RPM packages from the sqlite rpmdb (RHEL 9, Fedora, Amazon Linux 2023, UBI 9).

The database is opened from memory with ``sqlite3.deserialize``: nothing touches the disk.
Berkeley DB ``Packages`` (RHEL 7/8) and NDB ``Packages.db`` (SUSE) are recognised and
reported as unsupported for now rather than silently yielding no packages.
"""

from __future__ import annotations

import re
import sqlite3
from typing import BinaryIO

from quaywatch.inventory.analyzers.base import Analyzer, AnalyzerError, Interest
from quaywatch.inventory.analyzers.rpmheader import RpmHeaderError, parse_header
from quaywatch.inventory.models import FileFindings, Package

SQLITE_PATHS = ("var/lib/rpm/rpmdb.sqlite", "usr/lib/sysimage/rpm/rpmdb.sqlite")
LEGACY_PATHS = (
    "var/lib/rpm/Packages",
    "usr/lib/sysimage/rpm/Packages",
    "var/lib/rpm/Packages.db",
    "usr/lib/sysimage/rpm/Packages.db",
)
_SOURCE_RPM_RE = re.compile(r"^(?P<name>.+)-(?P<version>[^-]+)-(?P<release>[^-]+)\.(?:no)?src\.rpm$")


class RpmDatabaseAnalyzer(Analyzer):
    name = "rpm"
    version = 1
    interest = Interest(basenames=frozenset(p.rpartition("/")[2] for p in SQLITE_PATHS + LEGACY_PATHS))
    max_file_bytes = 256 << 20

    def wants(self, path: str, executable: bool) -> bool:
        return path in SQLITE_PATHS or path in LEGACY_PATHS

    def analyze(self, path: str, stream: BinaryIO, size: int) -> FileFindings | None:
        data = stream.read()
        if path in LEGACY_PATHS:
            return FileFindings(
                analyzer=self.name,
                warnings=[f"{path}: Berkeley DB / NDB rpm databases are not supported yet"],
            )
        if not data.startswith(b"SQLite format 3\0"):
            raise AnalyzerError("not an SQLite database")
        connection = sqlite3.connect(":memory:")
        try:
            connection.deserialize(data)
            rows = connection.execute("SELECT blob FROM Packages").fetchall()
        except sqlite3.DatabaseError as exc:
            raise AnalyzerError(f"unreadable rpmdb.sqlite: {exc}") from None
        finally:
            connection.close()
        packages: list[Package] = []
        warnings: list[str] = []
        for (blob,) in rows:
            try:
                header = parse_header(bytes(blob))
            except RpmHeaderError as exc:
                warnings.append(f"{path}: skipped a malformed package header: {exc}")
                continue
            if header.name == "gpg-pubkey":
                continue
            source_name = source_version = None
            if header.source_rpm:
                match = _SOURCE_RPM_RE.match(header.source_rpm)
                if match:
                    source_name = match["name"]
                    source_version = f"{match['version']}-{match['release']}"
            packages.append(
                Package(
                    type="rpm",
                    name=header.name,
                    version=f"{header.version}-{header.release}",
                    epoch=header.epoch,
                    arch=header.arch,
                    source_name=source_name,
                    source_version=source_version,
                    source_rpm=header.source_rpm,
                    path=path,
                )
            )
        return FileFindings(analyzer=self.name, packages=packages, warnings=warnings)
