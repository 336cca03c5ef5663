"""Debian: packages are keyed by source package and source version (the Debian security
tracker and Debian's OSV records speak of source packages); the tracker decides over OSV."""

from __future__ import annotations

from quaywatch.distros.base import Distribution
from quaywatch.inventory.models import OperatingSystem

CODENAMES = {
    "jessie": "8", "stretch": "9", "buster": "10", "bullseye": "11", "bookworm": "12",
    "trixie": "13", "forky": "14", "duke": "15",
}


def release_of_codename(codename: str) -> str | None:
    return CODENAMES.get(codename.lower())


def os_from_debian_version(raw: str) -> OperatingSystem:
    """An image without os-release: /etc/debian_version (``12.5``, or ``trixie/sid``)."""
    major = raw.split(".")[0]
    version_id = major if major.isdigit() else None
    codename = None if version_id else raw.split("/")[0]
    return OperatingSystem(id="debian", version_id=version_id, version_codename=codename, pretty_name=f"Debian {raw}")


class Debian(Distribution):
    ecosystem = "Debian"
    os_release_ids = frozenset({"debian"})
    package_type = "deb"
    keyed_by = "source"
    version_scheme = "dpkg"
    own_feeds = frozenset({"debian-tracker"})

    def release(self, os: OperatingSystem) -> str | None:
        if os.version_id:
            return os.version_id.split(".")[0]
        return release_of_codename(os.version_codename or "")  # testing/sid images carry only a codename
