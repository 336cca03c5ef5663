"""Semantic versions (npm, Go modules, OSV ``SEMVER`` ranges), by python-semver.

npm writes ``1.2.3``, sometimes ``v1.2.3`` or ``=1.2.3``; Go writes ``v1.2.3``,
pseudo-versions (``v0.0.0-20210101-abcdef``, valid pre-releases) and ``+incompatible``
(build metadata, which semver ignores for ordering). OSV strips the ``v``.
"""

from __future__ import annotations

from functools import cmp_to_key

from semver import Version

from quaywatch.versions.base import InvalidVersionError, VersionScheme


def _compare(left: Version, right: Version) -> int:
    return left.compare(right)


# python-semver would compare build metadata too; semver 2.0 says it must not order, so keys
# are built without it.
_ORDER = cmp_to_key(_compare)


class SemverScheme(VersionScheme):
    name = "semver"

    def parse(self, version: str) -> object:
        text = version.strip().lstrip("=v")
        try:
            return _ORDER(Version.parse(text, optional_minor_and_patch=True).replace(build=None))
        except (ValueError, TypeError):
            raise InvalidVersionError(f"invalid semantic version {version!r}") from None
