"""One module per distribution family; this registry is how the rest of quaywatch finds them
(by an image's os-release ID, or by the OSV ecosystem name of an advisory)."""

from __future__ import annotations

from quaywatch.distros.alpine import Alpine
from quaywatch.distros.base import Distribution
from quaywatch.distros.debian import Debian
from quaywatch.distros.rhel import OTHER_PURL_NAMESPACES, AlmaLinux, RedHat, RockyLinux
from quaywatch.distros.suse import OpenSuse, Suse
from quaywatch.distros.ubuntu import Ubuntu
from quaywatch.inventory.models import OperatingSystem

DISTRIBUTIONS: tuple[Distribution, ...] = (
    Debian(), Ubuntu(), Alpine(), RedHat(), AlmaLinux(), RockyLinux(), Suse(), OpenSuse(),
)
_BY_OS_ID = {os_id: d for d in DISTRIBUTIONS for os_id in d.os_release_ids}
_BY_ECOSYSTEM = {d.ecosystem: d for d in DISTRIBUTIONS}
ECOSYSTEMS = frozenset(_BY_ECOSYSTEM)


def purl_namespace(package_type: str, os: OperatingSystem | None) -> str | None:
    """The purl namespace of an OS package (deb, apk, rpm) in an image of ``os``."""
    distribution = _BY_OS_ID.get(os.id) if os is not None else None
    if distribution is not None and distribution.package_type == package_type:
        return distribution.purl_namespace(os.id)
    if package_type == "deb":
        return "debian"  # a Debian derivative, or no OS found: its packages are Debian's
    if package_type == "apk":
        return "alpine"
    return OTHER_PURL_NAMESPACES.get(os.id, os.id) if os is not None else None


def by_ecosystem(name: str) -> Distribution | None:
    return _BY_ECOSYSTEM.get(name)


def for_image(os: OperatingSystem | None) -> tuple[Distribution, str] | None:
    """The distribution and release an image's OS packages are matched in, or None."""
    if os is None:
        return None
    distribution = _BY_OS_ID.get(os.id)
    if distribution is None:
        return None
    release = distribution.release(os)
    return (distribution, release) if release else None


_OWN_FEEDS = frozenset(feed for d in DISTRIBUTIONS for feed in d.own_feeds)


def feed_authority(source: str) -> int:
    """Which feed decides when several speak of one vulnerability and package: a
    distribution's own feed (2) over OSV (1) over anything else."""
    if source in _OWN_FEEDS:
        return 2
    return 1 if source == "osv" else 0


__all__ = ["DISTRIBUTIONS", "ECOSYSTEMS", "Distribution", "by_ecosystem", "feed_authority", "for_image"]
