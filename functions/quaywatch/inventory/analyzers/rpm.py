"""RPM packages from the rpm database: sqlite (RHEL 9, Fedora, Amazon Linux 2023, UBI 9),
Berkeley DB ``Packages`` (RHEL/CentOS 7 and 8, UBI 8, Amazon Linux 2) and NDB ``Packages.db``
(SUSE Linux Enterprise 15, openSUSE).

All three are read from memory (``sqlite3.deserialize``, ``berkeleydb.hash_values``,
``ndb.package_blobs``): nothing touches the disk.
"""

from __future__ import annotations

import re
import sqlite3
from typing import BinaryIO

from quaywatch.inventory.analyzers.base import Analyzer, AnalyzerError, Interest
from quaywatch.inventory.analyzers.berkeleydb import BerkeleyDbError, hash_values
from quaywatch.inventory.analyzers.ndb import NdbError, package_blobs
from quaywatch.inventory.analyzers.rpmheader import RpmHeaderError, parse_header
from quaywatch.inventory.models import FileFindings, Package

SQLITE_PATHS = ("var/lib/rpm/rpmdb.sqlite", "usr/lib/sysimage/rpm/rpmdb.sqlite")
BERKELEY_PATHS = ("var/lib/rpm/Packages", "usr/lib/sysimage/rpm/Packages")
NDB_PATHS = ("var/lib/rpm/Packages.db", "usr/lib/sysimage/rpm/Packages.db")
_ALL_PATHS = SQLITE_PATHS + BERKELEY_PATHS + NDB_PATHS
_SOURCE_RPM_RE = re.compile(r"^(?P<name>.+)-(?P<version>[^-]+)-(?P<release>[^-]+)\.(?:no)?src\.rpm$")


class RpmDatabaseAnalyzer(Analyzer):
    name = "rpm"
    version = 4  # 2: Berkeley DB Packages read; 3: NDB Packages.db read; 4: WAL-mode rpmdb.sqlite read
    interest = Interest(basenames=frozenset(p.rpartition("/")[2] for p in _ALL_PATHS))
    max_file_bytes = 256 << 20

    def wants(self, path: str, executable: bool) -> bool:
        return path in _ALL_PATHS

    def analyze(self, path: str, stream: BinaryIO, size: int) -> FileFindings | None:
        data = stream.read()
        if path in BERKELEY_PATHS:
            return self._berkeley_db(path, data)
        if path in NDB_PATHS:
            return self._ndb(path, data)
        if not data.startswith(b"SQLite format 3\0"):
            raise AnalyzerError("not an SQLite database")
        if data[18:20] == b"\x02\x02":
            # rpm keeps its database in WAL mode (header bytes 18-19 say 2), which SQLite cannot
            # open from memory; read as a rollback-journal file it is the same database, as
            # checkpointed when the image was built (the -wal file, if any, is not read).
            data = data[:18] + b"\x01\x01" + data[20:]
        connection = sqlite3.connect(":memory:")
        try:
            connection.deserialize(data)
            rows = connection.execute("SELECT blob FROM Packages").fetchall()
        except sqlite3.DatabaseError as exc:
            raise AnalyzerError(f"unreadable rpmdb.sqlite: {exc}") from None
        finally:
            connection.close()
        return self._from_headers(path, [bytes(blob) for (blob,) in rows])

    def _berkeley_db(self, path: str, data: bytes) -> FileFindings:
        """RHEL/CentOS 7 and 8: a Berkeley DB hash file of header blobs, keyed by number."""
        try:
            # Key 0 holds rpm's next instance number (4 bytes), not a header.
            blobs = [value for value in hash_values(data) if len(value) > 8]
        except BerkeleyDbError as exc:
            raise AnalyzerError(f"unreadable Berkeley DB rpm database: {exc}") from None
        return self._from_headers(path, blobs)

    def _ndb(self, path: str, data: bytes) -> FileFindings:
        """SUSE: rpm's own slot-and-blob file of header blobs."""
        try:
            blobs = list(package_blobs(data))
        except NdbError as exc:
            raise AnalyzerError(f"unreadable NDB rpm database: {exc}") from None
        return self._from_headers(path, blobs)

    def _from_headers(self, path: str, blobs: list[bytes]) -> FileFindings:
        packages: list[Package] = []
        warnings: list[str] = []
        for blob in blobs:
            try:
                header = parse_header(blob)
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
