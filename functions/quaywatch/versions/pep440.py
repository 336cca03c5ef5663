"""Python package versions (PEP 440), by ``packaging``, the reference implementation."""

from __future__ import annotations

from packaging.version import InvalidVersion, Version

from quaywatch.versions.base import InvalidVersionError, VersionScheme


class Pep440Scheme(VersionScheme):
    name = "pep440"

    def parse(self, version: str) -> Version:
        try:
            return Version(version)
        except InvalidVersion:
            raise InvalidVersionError(f"invalid PEP 440 version {version!r}") from None
