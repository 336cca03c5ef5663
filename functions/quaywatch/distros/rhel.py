"""The Red Hat family: RHEL (and CentOS, whose packages Red Hat's advisories cover),
AlmaLinux and Rocky Linux. Binary package names, rpm versions with the epoch, major release."""

from __future__ import annotations

import re

from quaywatch.distros.base import RpmDistribution
from quaywatch.inventory.models import OperatingSystem

# /etc/redhat-release names the product: "Red Hat Enterprise Linux release 8.9 (Ootpa)".
_RELEASE_LINE = re.compile(r"^(?P<name>.+?) release (?P<version>[\d.]+)")
_PRODUCT_IDS = {"red hat": "rhel", "centos": "centos", "rocky": "rocky", "almalinux": "almalinux", "fedora": "fedora"}
# RPM distributions quaywatch recognises in purls but does not match (no feed of theirs here).
OTHER_PURL_NAMESPACES = {"ol": "oracle", "amzn": "amazon"}


def os_from_redhat_release(raw: str) -> OperatingSystem | None:
    """An image without os-release: its /etc/redhat-release line."""
    match = _RELEASE_LINE.match(raw)
    if not match:
        return None
    name = match["name"].lower()
    os_id = next((value for key, value in _PRODUCT_IDS.items() if key in name), "rhel")
    return OperatingSystem(id=os_id, version_id=match["version"], pretty_name=raw)


class RedHat(RpmDistribution):
    ecosystem = "Red Hat"
    os_release_ids = frozenset({"rhel", "centos"})

    def purl_namespace(self, os_id: str) -> str:
        return "redhat" if os_id == "rhel" else os_id

    def osv_release(self, qualifier: list[str]) -> str:
        # Red Hat:enterprise_linux:9::appstream -> 9; other products keep their own release
        product = qualifier[0] if qualifier else ""
        version = qualifier[1] if len(qualifier) > 1 else ""
        if product == "enterprise_linux":
            return version.split(".")[0]
        return f"{product}-{version}"


class AlmaLinux(RpmDistribution):
    ecosystem = "AlmaLinux"
    os_release_ids = frozenset({"almalinux"})


class RockyLinux(RpmDistribution):
    ecosystem = "Rocky Linux"
    os_release_ids = frozenset({"rocky"})
