"""Ecosystem names and package identities, the keys advisories and inventories meet on.

OSV writes ecosystems with their release (``Debian:12``, ``Alpine:v3.19``,
``Ubuntu:22.04:LTS``, ``Red Hat:enterprise_linux:9::appstream``); an image has os-release
facts. Both are reduced to (ecosystem, release) here, and package names to the form the
feeds use (PEP 503 for PyPI, ``group:artifact`` for Maven, module paths for Go).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from quaywatch.inventory.models import OperatingSystem, Package

_PEP503 = re.compile(r"[-_.]+")
_DEBIAN_CODENAMES = {
    "jessie": "8", "stretch": "9", "buster": "10", "bullseye": "11", "bookworm": "12",
    "trixie": "13", "forky": "14", "duke": "15",
}
# os-release ID -> OSV ecosystem of its packages (RPM distros matched by binary name).
_RPM_DISTROS = {"rhel": "Red Hat", "centos": "Red Hat", "almalinux": "AlmaLinux", "rocky": "Rocky Linux"}
DISTRO_ECOSYSTEMS = frozenset({"Debian", "Ubuntu", "Alpine", *_RPM_DISTROS.values()})


class PackageKey(NamedTuple):
    """Where a package is looked up: (ecosystem, release, name)."""

    ecosystem: str
    release: str
    name: str


def debian_release(codename: str) -> str | None:
    return _DEBIAN_CODENAMES.get(codename.lower())


def parse_osv_ecosystem(value: str) -> tuple[str, str]:
    """``Debian:12`` -> (Debian, 12); ``Alpine:v3.19`` -> (Alpine, 3.19); ``PyPI`` -> (PyPI, "")."""
    name, _, rest = value.partition(":")
    name = name.strip()
    if not rest:
        return name, ""
    parts = rest.split(":")
    if name == "Alpine":
        return name, parts[0].removeprefix("v")
    if name == "Ubuntu":
        # Ubuntu:22.04:LTS, Ubuntu:Pro:18.04:LTS (ESM fixes, not in the standard archive)
        if parts[0] == "Pro":
            return name, f"pro-{parts[1]}" if len(parts) > 1 else "pro"
        return name, parts[0]
    if name == "Red Hat":
        # Red Hat:enterprise_linux:9::appstream -> 9; other products keep their own release
        product = parts[0]
        version = parts[1] if len(parts) > 1 else ""
        if product == "enterprise_linux":
            return name, version.split(".")[0]
        return name, f"{product}-{version}"
    if name == "Debian":
        return name, parts[0].split(".")[0]
    return name, parts[0].split(".")[0] if name in ("AlmaLinux", "Rocky Linux") else parts[0]


def normalise_name(ecosystem: str, name: str) -> str:
    if ecosystem == "PyPI":
        return _PEP503.sub("-", name).lower()
    if ecosystem == "npm":
        return name.lower()
    return name


def image_distro(os: OperatingSystem | None) -> tuple[str, str] | None:
    """The (ecosystem, release) an image's OS packages are matched in, or None."""
    if os is None:
        return None
    version = os.version_id or ""
    if os.id == "debian":
        if version:
            return "Debian", version.split(".")[0]
        release = debian_release(os.version_codename or "")
        return ("Debian", release) if release else None
    if os.id == "ubuntu" and version:
        return "Ubuntu", version
    if os.id == "alpine":
        if os.apk_release:  # packages come from the release the repositories point at
            return "Alpine", os.apk_release.removeprefix("v")
        match = re.match(r"^(\d+\.\d+)", version)
        return ("Alpine", match[1]) if match else None
    if os.id in _RPM_DISTROS and version:
        return _RPM_DISTROS[os.id], version.split(".")[0]
    return None


def package_key(package: Package, distro: tuple[str, str] | None) -> tuple[PackageKey, str] | None:
    """Where to look a package up and the version to compare, or None if it has no feed."""
    if package.type == "deb":
        if distro is None or distro[0] not in ("Debian", "Ubuntu"):
            return None
        return PackageKey(distro[0], distro[1], package.source_name or package.name), (
            package.source_version or package.version
        )
    if package.type == "apk":
        if distro is None or distro[0] != "Alpine":
            return None
        return PackageKey("Alpine", distro[1], package.source_name or package.name), package.version
    if package.type == "rpm":
        if distro is None or distro[0] not in _RPM_DISTROS.values():
            return None
        version = f"{package.epoch}:{package.version}" if package.epoch else package.version
        return PackageKey(distro[0], distro[1], package.name), version
    if package.type == "pypi":
        return PackageKey("PyPI", "", normalise_name("PyPI", package.name)), package.version
    if package.type == "npm":
        return PackageKey("npm", "", normalise_name("npm", package.full_name)), package.version
    if package.type == "maven":
        if not package.namespace:
            return None
        return PackageKey("Maven", "", package.full_name), package.version
    if package.type == "golang":
        return PackageKey("Go", "", package.full_name), package.version.removeprefix("v")
    return None
