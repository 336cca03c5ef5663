"""The interface every version scheme implements."""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from typing import Any

from quaywatch.errors import QuaywatchError


class InvalidVersionError(QuaywatchError, ValueError):
    """A version string the ecosystem's rules cannot order (the package gets no finding)."""


class VersionScheme(ABC):
    """Parse versions once into sortable keys, compare keys.

    ``key`` returns an object supporting ``<`` and ``==`` (a tuple or a library version
    object); parsed keys are memoised because the same versions appear in many advisories.
    """

    name: str

    @abstractmethod
    def parse(self, version: str) -> Any:
        """The comparable key of ``version``; raises InvalidVersionError."""

    def key(self, version: str) -> Any:
        return _cached_parse(self, version)

    def compare(self, left: str, right: str) -> int:
        a, b = self.key(left), self.key(right)
        return (a > b) - (a < b)

    def __repr__(self) -> str:
        return f"<VersionScheme {self.name}>"


@functools.lru_cache(maxsize=65536)
def _cached_parse(scheme: VersionScheme, version: str) -> Any:
    return scheme.parse(version)
