"""RPM versions (``[epoch:]version-release``), ordered by rpm's ``rpmvercmp``.

univers' ``RpmVersion`` passes every case of claircore's port of rpm's ``rpmvercmp.at``
(including ``~`` and ``^``), so it is used as is; the tests replay those vectors.
"""

from __future__ import annotations

from univers.versions import InvalidVersion, RpmVersion

from quaywatch.versions.base import InvalidVersionError, VersionScheme


class RpmScheme(VersionScheme):
    name = "rpm"

    def parse(self, version: str) -> RpmVersion:
        text = version.strip()
        if not text:
            raise InvalidVersionError("empty rpm version")
        try:
            return RpmVersion(text)
        except (InvalidVersion, ValueError, TypeError) as exc:
            raise InvalidVersionError(f"invalid rpm version {version!r}: {exc}") from None
