"""The Red Hat family: RHEL (and CentOS, whose packages Red Hat's advisories cover),
AlmaLinux and Rocky Linux. Binary package names, rpm versions with the epoch, major release."""

from __future__ import annotations

import re

from quaywatch.distros.base import SOURCE_PREFIX, ProductScope, RpmDistribution
from quaywatch.inventory.models import OperatingSystem, Package

# /etc/redhat-release names the product: "Red Hat Enterprise Linux release 8.9 (Ootpa)".
_RELEASE_LINE = re.compile(r"^(?P<name>.+?) release (?P<version>[\d.]+)")
_PRODUCT_IDS = {"red hat": "rhel", "centos": "centos", "rocky": "rocky", "almalinux": "almalinux", "fedora": "fedora"}
# RPM distributions quaywatch recognises in purls but does not match (no feed of theirs here).
OTHER_PURL_NAMESPACES = {"ol": "oracle", "amzn": "amazon"}
VEX_SOURCE = "redhat-vex"


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
    own_feeds = frozenset({VEX_SOURCE})

    def product_scope(self, release: str, content_sets: list[str],
                      repository_cpes: dict[str, list[str]]) -> ProductScope | None:
        return product_scope(release, content_sets, repository_cpes)

    def extra_lookups(self, package: Package) -> list[tuple[str, str]]:
        """Red Hat's VEX names unfixed packages by their source rpm as well as by binary name."""
        if not package.source_name:
            return []
        version = package.source_version or package.version
        return [(SOURCE_PREFIX + package.source_name, f"{package.epoch}:{version}" if package.epoch else version)]

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


# --- Red Hat's security data: products named by CPE, packages by purl ----------------------

_RHEL_STREAMS = frozenset({"enterprise_linux", "rhel_eus", "rhel_aus", "rhel_tus", "rhel_e4s", "rhel_els",
                           "rhel_eus_long_life", "rhel_mission_critical", "rhel_extras"})
_CHANNEL_RELEASE = re.compile(r"^el(\d+)")
_CPE_RE = re.compile(r"^cpe:/[aho]:(?P<vendor>[^:]+):(?P<product>[^:]+):(?P<version>[^:]*)(?::(?P<update>[^:]*))?"
                     r"(?::(?P<channel>[^:]*))?")


def cpe_scope(cpe: str) -> tuple[str, str] | None:
    """(release, product) of a Red Hat product CPE, or None when no RHEL release can be told.

    The product is ``vendor:product:version`` - Red Hat asks scanners to match on the CPE's
    first five segments and to leave the channel (``::baseos``) out; the part (``/o`` or ``/a``)
    is left out too, since unfixed statements name ``/o`` for packages an image takes from
    AppStream. RHEL's own streams are keyed by major release for the main stream
    (``enterprise_linux:9``; RHEL 10 names minor releases in fixed CPEs), by minor release
    for the xUS streams (``rhel_eus:9.2``); a layered product counts where its channel names
    the RHEL it runs on (``openshift:4.16::el9``)."""
    match = _CPE_RE.match(cpe.strip().lower())
    if match is None or match["vendor"] != "redhat" or not match["version"]:
        return None
    product, version = match["product"], match["version"]
    if product in _RHEL_STREAMS:
        major = version.split(".")[0]
        if not major.isdigit():
            return None
        if product == "enterprise_linux":
            version = major
        return major, f"redhat:{product}:{version}"
    channel = _CHANNEL_RELEASE.match(match["channel"] or "")
    return (channel[1], f"redhat:{product}:{version}") if channel else None


def main_stream(release: str) -> str:
    return f"redhat:enterprise_linux:{release}"


def product_scope(release: str, content_sets: list[str], repository_cpes: dict[str, list[str]]) -> ProductScope:
    """The scope of an image of RHEL ``release`` built from ``content_sets``."""
    streams = {scope[1] for repository in content_sets for cpe in repository_cpes.get(repository, [])
               if (scope := cpe_scope(cpe)) is not None and scope[0] == release}
    main = frozenset({main_stream(release)})
    if not streams:
        return ProductScope(main)
    return ProductScope(frozenset(streams), main - streams)
