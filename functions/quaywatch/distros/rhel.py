"""The Red Hat family: RHEL (and CentOS, whose packages Red Hat's advisories cover),
AlmaLinux and Rocky Linux. Binary package names, rpm versions with the epoch, major release."""

from __future__ import annotations

from quaywatch.distros.base import RpmDistribution


class RedHat(RpmDistribution):
    ecosystem = "Red Hat"
    os_release_ids = frozenset({"rhel", "centos"})

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
