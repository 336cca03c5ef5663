"""SUSE Linux Enterprise and openSUSE: binary package names, rpm versions.

SUSE files an advisory under the *product or module* that ships the package, with its
support phase: glibc on SLES 15 SP5 is "SUSE:Linux Enterprise Module for Basesystem 15 SP5"
or "SUSE:Linux Enterprise Server 15 SP5-LTSS", never a name os-release could give. So every
SLE 15/12 product string is reduced to its service-pack release ("15.5"), which is what an
image's VERSION_ID says; SLE Micro keeps its own line ("micro-5.5"). openSUSE Leap is
"openSUSE:Leap 15.5" -> "15.5", Leap Micro "leap-micro-5.5", Tumbleweed "tumbleweed".
"""

from __future__ import annotations

import re

from quaywatch.distros.base import RpmDistribution
from quaywatch.inventory.models import OperatingSystem

_SERVICE_PACK = re.compile(r"\b(\d+) SP(\d+)\b")
_MAJOR_ONLY = re.compile(r"\b(\d+)(?:-LTSS|-ESPOS)?$")
_MICRO = re.compile(r"Micro (\d+\.\d+)")


class Suse(RpmDistribution):
    ecosystem = "SUSE"
    os_release_ids = frozenset({"sles", "sled", "sles_sap", "sle_hpc", "sle-micro"})

    def release(self, os: OperatingSystem) -> str | None:
        version = os.version_id or ""
        if not version:
            return None
        if os.id == "sle-micro":
            return f"micro-{_major_minor(version)}"
        return _major_minor(version)

    def osv_release(self, qualifier: list[str]) -> str:
        product = ":".join(qualifier)
        micro = _MICRO.search(product)
        if micro:
            return f"micro-{micro[1]}"
        service_pack = _SERVICE_PACK.search(product)
        if service_pack:
            return f"{service_pack[1]}.{service_pack[2]}"
        major = _MAJOR_ONLY.search(product.strip())
        return f"{major[1]}.0" if major else product


class OpenSuse(RpmDistribution):
    ecosystem = "openSUSE"
    os_release_ids = frozenset({"opensuse-leap", "opensuse-tumbleweed", "opensuse-leap-micro"})

    def release(self, os: OperatingSystem) -> str | None:
        if os.id == "opensuse-tumbleweed":
            return "tumbleweed"
        if not os.version_id:
            return None
        if os.id == "opensuse-leap-micro":
            return f"leap-micro-{_major_minor(os.version_id)}"
        return _major_minor(os.version_id)

    def osv_release(self, qualifier: list[str]) -> str:
        product = ":".join(qualifier).strip()
        if product.startswith("Tumbleweed"):
            return "tumbleweed"
        if product.startswith("Leap Micro "):
            return f"leap-micro-{_major_minor(product.removeprefix('Leap Micro '))}"
        if product.startswith("Leap "):
            return _major_minor(product.removeprefix("Leap "))
        return product


def _major_minor(version: str) -> str:
    parts = version.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else f"{parts[0]}.0"


