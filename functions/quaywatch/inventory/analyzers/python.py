"""Installed Python distributions: ``*.dist-info/METADATA`` and ``*.egg-info`` in any
``site-packages`` or ``dist-packages`` directory."""

from __future__ import annotations

import re
from email.parser import HeaderParser
from typing import BinaryIO

from quaywatch.inventory.analyzers.base import Analyzer
from quaywatch.inventory.models import FileFindings, Package

_METADATA_RE = re.compile(
    r"(?:^|/)(?:site|dist)-packages/[^/]+\.(?:dist-info/METADATA|egg-info/PKG-INFO|egg-info)$"
)


class PythonPackageAnalyzer(Analyzer):
    name = "python"
    version = 1
    max_file_bytes = 16 << 20

    def wants(self, path: str, executable: bool) -> bool:
        return path.endswith(("METADATA", "PKG-INFO", ".egg-info")) and bool(_METADATA_RE.search(path))

    def analyze(self, path: str, stream: BinaryIO, size: int) -> FileFindings | None:
        # Only the header block matters; the long description after it can be large.
        head = stream.read(min(size, 256 << 10)).decode("utf-8", errors="replace")
        message = HeaderParser().parsestr(head.split("\n\n", 1)[0])
        name, version = message.get("Name"), message.get("Version")
        if not name or not version:
            return FileFindings(analyzer=self.name, warnings=[f"{path}: no Name/Version header"])
        return FileFindings(
            analyzer=self.name,
            packages=[Package(type="pypi", name=name.strip(), version=version.strip(), path=path)],
        )
