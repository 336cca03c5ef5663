"""Operating-system release files: os-release and the older distro-specific ones."""

from __future__ import annotations

import shlex
from typing import BinaryIO

from quaywatch.inventory.analyzers.base import Analyzer, Interest
from quaywatch.inventory.models import FileFindings

# In order of authority: the first one present in the merged image decides.
RELEASE_FILES = (
    "etc/os-release",
    "usr/lib/os-release",
    "etc/alpine-release",
    "etc/redhat-release",
    "etc/debian_version",
)


def parse_os_release(text: str) -> dict[str, str]:
    """Parse the shell-like ``KEY=value`` lines of os-release(5)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        try:
            words = shlex.split(value)
        except ValueError:
            words = [value.strip("\"'")]
        fields[key.strip()] = " ".join(words)
    return fields


class OsReleaseAnalyzer(Analyzer):
    name = "os-release"
    version = 1
    interest = Interest(basenames=frozenset(path.rpartition("/")[2] for path in RELEASE_FILES))
    max_file_bytes = 64 << 10

    def wants(self, path: str, executable: bool) -> bool:
        return path in RELEASE_FILES

    def analyze(self, path: str, stream: BinaryIO, size: int) -> FileFindings | None:
        text = stream.read().decode("utf-8", errors="replace")
        if path.endswith("os-release"):
            facts = parse_os_release(text)
        else:
            facts = {"RAW": text.strip()}
        return FileFindings(analyzer=self.name, facts=facts)
