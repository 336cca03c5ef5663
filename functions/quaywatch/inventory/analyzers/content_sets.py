"""Red Hat's content manifests: which rpm repositories (content sets) an image was built from.

Red Hat's images carry one ``root/buildinfo/content_manifests/*.json`` per build layer and,
since 2025, ``usr/share/buildinfo/content-sets.json``; both hold a ``content_sets`` list of
repository labels (``rhel-9-for-x86_64-appstream-eus-rpms__9_DOT_2``). Red Hat's
repository-to-CPE mapping turns them into the product streams its VEX statements are scoped
to (``distros.rhel.product_scope``).
"""

from __future__ import annotations

import json
import re
from typing import BinaryIO

from quaywatch.inventory.analyzers.base import Analyzer, AnalyzerError, Interest
from quaywatch.inventory.models import FileFindings

MANIFEST_DIRECTORY = "root/buildinfo/content_manifests"
CONTENT_SETS_FILE = "usr/share/buildinfo/content-sets.json"
_LABEL = re.compile(r"^[A-Za-z0-9_.:+-]{1,200}$")
_MAX_SETS = 1000


class ContentSetsAnalyzer(Analyzer):
    name = "content-sets"
    version = 1
    interest = Interest(basenames=frozenset({"content-sets.json"}), directories=frozenset({MANIFEST_DIRECTORY}))
    max_file_bytes = 4 << 20

    def wants(self, path: str, executable: bool) -> bool:
        return path == CONTENT_SETS_FILE or (path.startswith(MANIFEST_DIRECTORY + "/") and path.endswith(".json"))

    def analyze(self, path: str, stream: BinaryIO, size: int) -> FileFindings | None:
        try:
            document = json.loads(stream.read())
        except ValueError as exc:
            raise AnalyzerError(f"not valid JSON: {exc}") from None
        sets = document.get("content_sets") if isinstance(document, dict) else None
        if not isinstance(sets, list):
            return FileFindings(analyzer=self.name, warnings=[f"{path}: no content_sets list"])
        labels = [s for s in sets[:_MAX_SETS] if isinstance(s, str) and _LABEL.match(s)]
        return FileFindings(analyzer=self.name, facts={"content_sets": ",".join(dict.fromkeys(labels))})
