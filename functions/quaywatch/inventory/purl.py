"""Package URLs (purl spec) for inventory packages, written as syft writes them.

OS packages carry ``arch`` and ``distro`` qualifiers; when a package was built from a source
of another name or version, ``upstream`` names it (``openssl``, or ``openssl@3.0.11-1``
when the versions differ). Serialisation (escaping, qualifier order) is packageurl-python's.
"""

from __future__ import annotations

import re

from packageurl import PackageURL

from quaywatch.distros import purl_namespace
from quaywatch.inventory.models import OperatingSystem, Package

OS_PACKAGE_TYPES = frozenset({"deb", "apk", "rpm"})  # their purls name the distribution


def package_url(package: Package, os: OperatingSystem | None) -> str:
    """The purl of ``package`` in an image whose OS is ``os``."""
    qualifiers: dict[str, str] = {}
    namespace = package.namespace
    name = package.name
    if package.type in OS_PACKAGE_TYPES:
        if package.arch:
            qualifiers["arch"] = package.arch
        if os is not None and os.version_id:
            qualifiers["distro"] = f"{os.id}-{os.version_id}"
    if package.type in OS_PACKAGE_TYPES:
        namespace = purl_namespace(package.type, os)  # the distribution modules say
    if package.type in ("deb", "apk"):
        _add_upstream(package, qualifiers)
    elif package.type == "rpm":
        if package.epoch is not None:
            qualifiers["epoch"] = str(package.epoch)
        if package.source_rpm:
            qualifiers["upstream"] = package.source_rpm
    elif package.type == "pypi":
        name = re.sub(r"[-_.]+", "-", name).lower()
    return PackageURL(
        type=package.type,
        namespace=namespace,
        name=name,
        version=package.version,
        qualifiers=qualifiers or None,
    ).to_string()


def _add_upstream(package: Package, qualifiers: dict[str, str]) -> None:
    source_name = package.source_name or package.name
    source_version = package.source_version or package.version
    if source_version != package.version:
        qualifiers["upstream"] = f"{source_name}@{source_version}"
    elif source_name != package.name:
        qualifiers["upstream"] = source_name
