"""Which analyzers may want a tar entry, decided once per entry at the cost of a dict look-up.

A layer of 20,000 files usually holds a handful that any analyzer reads. Asking each of nine
analyzers ``wants`` for every entry cost more than parsing the tar header; the declared
``Interest`` of each analyzer is indexed here so that the common entry is dismissed at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from quaywatch.inventory.analyzers.base import Analyzer, Interest


class AnalyzerIndex:
    """The analyzers in offer order, and the union of their interests for the fast refusal."""

    __slots__ = ("_always", "_analyzers", "_union")

    def __init__(self, analyzers: Sequence[Analyzer]) -> None:
        self._analyzers = tuple(analyzers)
        declared = [a.interest for a in analyzers if a.interest is not None]
        self._union = Interest(
            basenames=frozenset().union(*(i.basenames for i in declared)),
            suffixes=tuple(s for i in declared for s in i.suffixes),
            directories=frozenset().union(*(i.directories for i in declared)),
            executables=any(i.executables for i in declared),
        )
        self._always = len(declared) < len(self._analyzers)

    @property
    def wanted(self) -> Interest | None:
        """Files some analyzer may want (None: any file, an analyzer declared no interest).
        The tar walker may step over everything else without asking."""
        return None if self._always else self._union

    def candidates(self, directory: str, base: str, executable: bool) -> Sequence[Analyzer]:
        """The analyzers, in offer order, whose interest covers this file (``wants`` decides)."""
        if not (self._always or _covers(self._union, directory, base, executable)):
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
