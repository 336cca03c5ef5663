"""Installed Python distributions: ``*.dist-info/METADATA`` and ``*.egg-info`` in any
``site-packages`` or ``dist-packages`` directory."""

from __future__ import annotations

import re
from typing import BinaryIO

from quaywatch.inventory.analyzers.base import Analyzer, Interest
from quaywatch.inventory.models import FileFindings, Package

_METADATA_RE = re.compile(
    r"(?:^|/)(?:site|dist)-packages/[^/]+\.(?:dist-info/METADATA|egg-info/PKG-INFO|egg-info)$"
)


class PythonPackageAnalyzer(Analyzer):
    name = "python"
    version = 1
    max_file_bytes = 16 << 20
    interest = Interest(basenames=frozenset({"METADATA", "PKG-INFO"}), suffixes=(".egg-info",))

    def wants(self, path: str, executable: bool) -> bool:
        return path.endswith(("METADATA", "PKG-INFO", ".egg-info")) and bool(_METADATA_RE.search(path))

    def analyze(self, path: str, stream: BinaryIO, size: int) -> FileFindings | None:
        # Only the header block matters; the long description after it can be large.
        head = stream.read(min(size, 256 << 10)).decode("utf-8", errors="replace")
        fields = _core_fields(head)
        name, version = fields.get("name"), fields.get("version")
        if not name or not version:
            return FileFindings(analyzer=self.name, warnings=[f"{path}: no Name/Version header"])
        return FileFindings(
            analyzer=self.name,
            packages=[Package(type="pypi", name=name, version=version, path=path)],
        )


def _core_fields(head: str) -> dict[str, str]:
    """``Name`` and ``Version`` from the RFC 822 header block of core metadata.

    They come first in every writer's output, so the scan stops as soon as both are seen
    (``email.parser`` would parse every classifier of thousands of METADATA files).
    Folded continuation lines belong to other fields (Description, License) and are skipped.
    """
    fields: dict[str, str] = {}
    for line in head.splitlines():
        if not line.strip():
            break  # the end of the header block
        if line[0] in " \t":
            continue
        key, colon, value = line.partition(":")
        key = key.strip().lower()
        if colon and key in ("name", "version") and key not in fields:
            fields[key] = value.strip()
            if len(fields) == 2:
                break
    return fields
