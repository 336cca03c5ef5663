"""Semantic versions (npm, Go modules, OSV ``SEMVER`` ranges), parsed by python-semver.

npm writes ``1.2.3``, sometimes ``v1.2.3`` or ``=1.2.3``; Go writes ``v1.2.3``,
pseudo-versions (``v0.0.0-20210101-abcdef``, valid pre-releases) and ``+incompatible``
(build metadata, which semver ignores for ordering). OSV strips the ``v``.
"""

from __future__ import annotations

from semver import Version

from quaywatch.versions.base import InvalidVersionError, VersionScheme


def _identifier(part: str) -> tuple[int, int | str]:
    """Semver 2.0 (11.4): numeric identifiers order numerically and below alphanumeric ones,
    which order in ASCII."""
    return (0, int(part)) if part.isdigit() else (1, part)


class SemverScheme(VersionScheme):
    name = "semver"

    def parse(self, version: str) -> object:
        """A plain tuple that orders as semver 2.0 says (python-semver's own comparison cost a
        tenth of a warm match): the release numbers, then a release above its pre-releases,
        then the pre-release identifiers (fewer identifiers lower when the rest are equal).
        Build metadata is left out: it must not order."""
        text = version.strip().lstrip("=v")
        try:
            parsed = Version.parse(text, optional_minor_and_patch=True)
        except (ValueError, TypeError):
            raise InvalidVersionError(f"invalid semantic version {version!r}") from None
        if parsed.prerelease is None:
            return (parsed.major, parsed.minor, parsed.patch, 1, ())
        return (parsed.major, parsed.minor, parsed.patch, 0,
                tuple(_identifier(part) for part in parsed.prerelease.split(".")))
