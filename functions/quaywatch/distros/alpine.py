"""Alpine: packages keyed by origin (the aports package that built them), apk versions, in
the release the image's repositories point at; Alpine's secdb decides over OSV."""

from __future__ import annotations

import re

from quaywatch.distros.base import Distribution
from quaywatch.inventory.models import OperatingSystem

_MINOR = re.compile(r"^(\d+\.\d+)")


def os_from_alpine_release(raw: str) -> OperatingSystem:
    """An image without os-release: its /etc/alpine-release."""
    return OperatingSystem(id="alpine", version_id=raw.split()[0], pretty_name=f"Alpine Linux {raw}")


def apk_release(os: OperatingSystem, repositories: list[str]) -> str | None:
    """The release /etc/apk/repositories points at when it is not the image's own (an
    image upgraded in place installs from there): matched there."""
    own = _MINOR.match(os.version_id or "")
    own_release = f"v{own[1]}" if own else None
    return repositories[0] if repositories and own_release not in repositories else None


class Alpine(Distribution):
    ecosystem = "Alpine"
    os_release_ids = frozenset({"alpine"})
    package_type = "apk"
    keyed_by = "origin"
    version_scheme = "apk"
    own_feeds = frozenset({"alpine-secdb"})

    def release(self, os: OperatingSystem) -> str | None:
        if os.apk_release:  # packages come from the release the repositories point at
            return os.apk_release.removeprefix("v")
        match = re.match(r"^(\d+\.\d+)", os.version_id or "")
        return match[1] if match else None

    def osv_release(self, qualifier: list[str]) -> str:
        return qualifier[0].removeprefix("v") if qualifier else ""  # Alpine:v3.19
