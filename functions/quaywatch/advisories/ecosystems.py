"""Ecosystem names and package identities, the keys advisories and inventories meet on.

OSV writes ecosystems with their release (``Debian:12``, ``Alpine:v3.19``,
``Ubuntu:22.04:LTS``, ``Red Hat:enterprise_linux:9::appstream``, ``SUSE:Linux Enterprise
Module for Basesystem 15 SP5``); an image has os-release facts. Both are reduced to
(ecosystem, release) by the distribution's own module (``quaywatch.distros``), and package
names to the form the feeds use (PEP 503 for PyPI, ``group:artifact`` for Maven, module
paths for Go).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from quaywatch import distros
from quaywatch.inventory.models import OperatingSystem, Package

_PEP503 = re.compile(r"[-_.]+")
DISTRO_ECOSYSTEMS = distros.ECOSYSTEMS


class PackageKey(NamedTuple):
    """Where a package is looked up: (ecosystem, release, name)."""

    ecosystem: str
    release: str
    name: str


def parse_osv_ecosystem(value: str) -> tuple[str, str]:
    """``Debian:12`` -> (Debian, 12); ``Alpine:v3.19`` -> (Alpine, 3.19); ``PyPI`` -> (PyPI, "")."""
    name, _, rest = value.partition(":")
    name = name.strip()
    if not rest:
        return name, ""
    qualifier = rest.split(":")
    distribution = distros.by_ecosystem(name)
    if distribution is not None:
        return name, distribution.osv_release(qualifier)
    return name, qualifier[0]


def normalise_name(ecosystem: str, name: str) -> str:
    if ecosystem == "PyPI":
        return _PEP503.sub("-", name).lower()
    if ecosystem == "npm":
        return name.lower()
    return name


def image_distro(os: OperatingSystem | None) -> tuple[str, str] | None:
    """The (ecosystem, release) an image's OS packages are matched in, or None."""
    found = distros.for_image(os)
    return (found[0].ecosystem, found[1]) if found else None


def package_key(package: Package, distro: tuple[str, str] | None) -> tuple[PackageKey, str] | None:
    """Where to look a package up and the version to compare, or None if it has no feed."""
    if package.type in ("deb", "apk", "rpm"):
        distribution = distros.by_ecosystem(distro[0]) if distro else None
        if distribution is None or distribution.package_type != package.type:
            return None
        return PackageKey(distribution.ecosystem, distro[1], distribution.lookup_name(package)), (
            distribution.lookup_version(package))
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


def extra_keys(package: Package, distro: tuple[str, str] | None) -> list[tuple[PackageKey, str]]:
    """Further keys a distribution's feeds may state an OS package under (Red Hat: its source
    rpm), less specific than ``package_key``'s."""
    distribution = distros.by_ecosystem(distro[0]) if distro else None
    if distribution is None or distribution.package_type != package.type:
        return []
    return [(PackageKey(distribution.ecosystem, distro[1], name), version)
            for name, version in distribution.extra_lookups(package)]
