"""The analyzer interface: each ecosystem says which files it needs and reads them.

The layer walker streams every layer once and asks each analyzer, per tar member, whether it
wants that file (a cheap test on the path). Wanted files are handed over as a stream;
everything else is skipped without being kept. Adding an ecosystem is adding one module.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import BinaryIO, ClassVar

from quaywatch.inventory.models import FileFindings


class AnalyzerError(Exception):
    """A wanted file could not be parsed; the walker turns it into a warning, not a failure."""


@dataclass(frozen=True, slots=True)
class Interest:
    """A cheap superset of the files an analyzer wants, by base name, name suffix, parent
    directory or the executable bit.

    Most tar entries are wanted by no analyzer; the walker indexes the interests of all
    analyzers so that such an entry costs a dictionary look-up and one ``endswith``, and asks
    ``wants`` (the precise test) only of the analyzers whose interest matched.
    """

    basenames: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()
    directories: frozenset[str] = frozenset()
    executables: bool = False


class Analyzer(ABC):
    """Base class of inventory analyzers.

    ``name`` and ``version`` form part of the layer-cache key: bump ``version`` whenever the
    analyzer's output for the same file changes, and cached layer results are recomputed.
    """

    name: ClassVar[str]
    version: ClassVar[int] = 1
    max_file_bytes: ClassVar[int] = 64 << 20
    # True when the analyzer reads its file in chunks instead of keeping it whole, so the
    # kept-file size limit does not apply.
    streams: ClassVar[bool] = False
    # None: offer every regular file to ``wants`` (correct, but slower for every entry).
    interest: ClassVar[Interest | None] = None

    @abstractmethod
    def wants(self, path: str, executable: bool) -> bool:
        """Whether this analyzer needs the regular file at ``path`` (no leading slash)."""

    @abstractmethod
    def analyze(self, path: str, stream: BinaryIO, size: int) -> FileFindings | None:
        """Read the file from ``stream`` and report what it declares."""
