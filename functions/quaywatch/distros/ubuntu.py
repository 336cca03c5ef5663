"""Ubuntu: source packages, dpkg versions, releases as ``22.04``; Ubuntu Pro (ESM) fixes are
a release of their own (``pro-22.04``), not in the standard archive an image uses."""

from __future__ import annotations

from quaywatch.distros.base import Distribution
from quaywatch.inventory.models import OperatingSystem

CODENAMES = {"xenial": "16.04", "bionic": "18.04", "focal": "20.04", "jammy": "22.04", "noble": "24.04",
             "plucky": "25.04", "questing": "25.10"}


def release_of_codename(codename: str) -> str | None:
    return CODENAMES.get(codename.lower())


class Ubuntu(Distribution):
    ecosystem = "Ubuntu"
    os_release_ids = frozenset({"ubuntu"})
    package_type = "deb"
    keyed_by = "source"
    version_scheme = "dpkg"

    def release(self, os: OperatingSystem) -> str | None:
        return os.version_id or None

    def osv_release(self, qualifier: list[str]) -> str:
        # Ubuntu:22.04:LTS, Ubuntu:Pro:18.04:LTS
        if qualifier and qualifier[0] == "Pro":
            return f"pro-{qualifier[1]}" if len(qualifier) > 1 else "pro"
        return qualifier[0] if qualifier else ""
