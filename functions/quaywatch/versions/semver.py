"""Semantic versions (npm, Go modules, OSV ``SEMVER`` ranges), by python-semver.

npm writes ``1.2.3``, sometimes ``v1.2.3`` or ``=1.2.3``; Go writes ``v1.2.3``,
pseudo-versions (``v0.0.0-20210101-abcdef``, valid pre-releases) and ``+incompatible``
(build metadata, which semver ignores for ordering). OSV strips the ``v``.
"""

from __future__ import annotations

from semver import Version

from quaywatch.versions.base import InvalidVersionError, VersionScheme


class _Ordered:
    """python-semver compares build metadata too; semver 2.0 says it must not order."""

    __slots__ = ("version",)

    def __init__(self, version: Version) -> None:
        self.version = version.replace(build=None)

    def __lt__(self, other: "_Ordered") -> bool:
        return self.version < other.version

    def __gt__(self, other: "_Ordered") -> bool:
        return self.version > other.version

    def __le__(self, other: "_Ordered") -> bool:
        return self.version <= other.version

    def __ge__(self, other: "_Ordered") -> bool:
        return self.version >= other.version

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Ordered) and self.version == other.version

    def __hash__(self) -> int:
        return hash(str(self.version))


class SemverScheme(VersionScheme):
    name = "semver"

    def parse(self, version: str) -> _Ordered:
        text = version.strip().lstrip("=v")
        try:
            return _Ordered(Version.parse(text, optional_minor_and_patch=True))
        except (ValueError, TypeError):
            raise InvalidVersionError(f"invalid semantic version {version!r}") from None
