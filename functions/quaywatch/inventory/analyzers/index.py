"""Which analyzers may want a tar entry, decided once per entry at the cost of a dict look-up.

A layer of 20,000 files usually holds a handful that any analyzer reads. Asking each of nine
analyzers ``wants`` for every entry cost more than parsing the tar header; the declared
``Interest`` of each analyzer is indexed here so that the common entry is dismissed at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from quaywatch.inventory.analyzers.base import Analyzer, Interest


class AnalyzerIndex:
    """The analyzers in offer order, indexed by the base names and directories they watch."""

    __slots__ = ("_always", "_analyzers", "_basenames", "_directories", "_executables", "_suffixes")

    def __init__(self, analyzers: Sequence[Analyzer]) -> None:
        self._analyzers = tuple(analyzers)
        self._basenames = frozenset(n for a in analyzers if a.interest for n in a.interest.basenames)
        self._directories = frozenset(d for a in analyzers if a.interest for d in a.interest.directories)
        self._suffixes = tuple(s for a in analyzers if a.interest for s in a.interest.suffixes)
        self._executables = any(a.interest and a.interest.executables for a in analyzers)
        self._always = any(a.interest is None for a in analyzers)

    def candidates(self, directory: str, base: str, executable: bool) -> Sequence[Analyzer]:
        """The analyzers, in offer order, whose interest covers this file (``wants`` decides)."""
        if not (
            self._always
            or base in self._basenames
            or directory in self._directories
            or (executable and self._executables)
            or (self._suffixes and base.endswith(self._suffixes))
        ):
            return ()
        return [a for a in self._analyzers if _covers(a.interest, directory, base, executable)]


def _covers(interest: Interest | None, directory: str, base: str, executable: bool) -> bool:
    if interest is None:
        return True
    return (
        base in interest.basenames
        or directory in interest.directories
        or (executable and interest.executables)
        or (bool(interest.suffixes) and base.endswith(interest.suffixes))
    )
