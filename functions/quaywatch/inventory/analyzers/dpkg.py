"""Debian packages: ``var/lib/dpkg/status`` and distroless ``var/lib/dpkg/status.d/*``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from quaywatch.inventory.analyzers.base import Analyzer, Interest
from quaywatch.inventory.models import FileFindings, Package

STATUS_FILE = "var/lib/dpkg/status"
STATUS_DIR = "var/lib/dpkg/status.d/"
_SOURCE_RE = re.compile(r"^(?P<name>\S+)(?:\s+\((?P<version>[^)]+)\))?$")


def parse_deb822(text: str) -> Iterator[dict[str, str]]:
    """Paragraphs of a deb822 control file, continuation lines folded in."""
    fields: dict[str, str] = {}
    last = None
    for line in text.splitlines():
        if not line.strip():
            if fields:
                yield fields
            fields, last = {}, None
        elif line[0] in " \t":
            if last is not None:
                fields[last] += "\n" + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            last = key.strip()
            fields[last] = value.strip()
    if fields:
        yield fields


class DpkgAnalyzer(Analyzer):
    name = "dpkg"
    version = 1
    interest = Interest(basenames=frozenset({"status"}), directories=frozenset({STATUS_DIR.rstrip("/")}))
    max_file_bytes = 128 << 20

    def wants(self, path: str, executable: bool) -> bool:
        if path == STATUS_FILE:
            return True
        return (
            path.startswith(STATUS_DIR)
            and "/" not in path[len(STATUS_DIR) :]
            and not path.endswith(".md5sums")
        )

    def analyze(self, path: str, stream: BinaryIO, size: int) -> FileFindings | None:
        text = stream.read().decode("utf-8", errors="replace")
        in_status_dir = path.startswith(STATUS_DIR)
        packages: list[Package] = []
        for record in parse_deb822(text):
            name, version = record.get("Package"), record.get("Version")
            if not name or not version:
                continue
            status = record.get("Status")
            if status is not None:
                words = status.split()
                if len(words) < 3 or words[2] != "installed":
                    continue
            elif not in_status_dir:
                continue
            source_name, source_version = name, version
            match = _SOURCE_RE.match(record.get("Source", "").strip())
            if match:
                source_name = match["name"]
                source_version = match["version"] or version
            packages.append(
                Package(
                    type="deb",
                    name=name,
                    version=version,
                    arch=record.get("Architecture"),
                    source_name=source_name,
                    source_version=source_version,
                    path=path,
                )
            )
        return FileFindings(analyzer=self.name, packages=packages)
