"""npm packages installed under ``node_modules`` (each package's own ``package.json``)."""

from __future__ import annotations

import json
import re
from typing import BinaryIO

import orjson

from quaywatch.inventory.analyzers.base import Analyzer, AnalyzerError, Interest
from quaywatch.inventory.models import FileFindings, Package

# The package.json at the root of an installed package, not one of its inner files.
_PACKAGE_JSON_RE = re.compile(r"(?:^|/)node_modules/(?:@[^/]+/)?[^/@.][^/]*/package\.json$")


class NpmPackageAnalyzer(Analyzer):
    name = "npm"
    version = 1
    interest = Interest(basenames=frozenset({"package.json"}))
    max_file_bytes = 4 << 20

    def wants(self, path: str, executable: bool) -> bool:
        return path.endswith("/package.json") and bool(_PACKAGE_JSON_RE.search(path))

    def analyze(self, path: str, stream: BinaryIO, size: int) -> FileFindings | None:
        try:
            document = _load(stream.read())
        except json.JSONDecodeError as exc:
            raise AnalyzerError(f"invalid JSON: {exc}") from None
        if not isinstance(document, dict):
            return None
        name, version = document.get("name"), document.get("version")
        if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
            return None
        namespace = None
        if name.startswith("@") and "/" in name:
            namespace, name = name.split("/", 1)
        return FileFindings(
            analyzer=self.name,
            packages=[Package(type="npm", namespace=namespace, name=name, version=version, path=path)],
        )


def _load(raw: bytes) -> object:
    """orjson first (several times faster on the thousands of package.json files of a Node
    image); what it refuses (a byte-order mark, NaN, huge integers) goes to the standard
    parser, which has the last word."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)
