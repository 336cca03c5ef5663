"""Alpine packages (``lib/apk/db/installed``) and the release their repositories point at."""

from __future__ import annotations

import re
from typing import BinaryIO

from quaywatch.inventory.analyzers.base import Analyzer, Interest
from quaywatch.inventory.models import FileFindings, Package

INSTALLED_DB = "lib/apk/db/installed"
REPOSITORIES = "etc/apk/repositories"
_RELEASE_RE = re.compile(r"/(v\d+\.\d+|edge)/")


class ApkAnalyzer(Analyzer):
    name = "apk"
    version = 1
    interest = Interest(basenames=frozenset({"installed"}))
    max_file_bytes = 128 << 20

    def wants(self, path: str, executable: bool) -> bool:
        return path == INSTALLED_DB

    def analyze(self, path: str, stream: BinaryIO, size: int) -> FileFindings | None:
        packages: list[Package] = []
        record: dict[str, str] = {}
        for raw in stream.read().decode("utf-8", errors="replace").splitlines() + [""]:
            line = raw.rstrip("\r")
            if not line:
                if record.get("P") and record.get("V"):
                    packages.append(
                        Package(
                            type="apk",
                            name=record["P"],
                            version=record["V"],
                            arch=record.get("A"),
                            source_name=record.get("o") or record["P"],
                            source_version=record["V"],
                            path=path,
                        )
                    )
                record = {}
            elif len(line) > 1 and line[1] == ":" and line[0] not in record:
                # Only the first occurrence matters; F:/R: lines repeat per file.
                record[line[0]] = line[2:]
        return FileFindings(analyzer=self.name, packages=packages)


class ApkRepositoriesAnalyzer(Analyzer):
    """Reads ``etc/apk/repositories``: an image can run packages from a newer release (or
    edge) than its os-release says, and advisories must then be matched for that release."""

    name = "apk-repositories"
    version = 1
    interest = Interest(basenames=frozenset({"repositories"}))
    max_file_bytes = 64 << 10

    def wants(self, path: str, executable: bool) -> bool:
        return path == REPOSITORIES

    def analyze(self, path: str, stream: BinaryIO, size: int) -> FileFindings | None:
        releases: list[str] = []
        for line in stream.read().decode("utf-8", errors="replace").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            match = _RELEASE_RE.search(line + "/")
            if match and match[1] not in releases:
                releases.append(match[1])
        return FileFindings(analyzer=self.name, facts={"releases": ",".join(releases)})
