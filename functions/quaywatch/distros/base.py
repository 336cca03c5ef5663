"""What every distribution module declares, so that matching, version look-up and feed
priority read it instead of naming distributions themselves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from quaywatch.inventory.models import OperatingSystem, Package

# How a statement naming a source package is keyed where a feed also names binary packages
# (Red Hat's ``pkg:rpm/redhat/NAME?arch=src``): ``src:NAME``.
SOURCE_PREFIX = "src:"


@dataclass(frozen=True)
class ProductScope:
    """The product streams of a distribution an image's packages come from (Red Hat's, see
    ``distros.rhel.product_scope``). ``direct``: the streams its content sets map to, or the
    main stream of its release when it carries no content manifest; ``fallback``: the main
    stream, which decides for an xUS image where its own stream says nothing (an unfixed CVE
    is stated for the main stream only)."""

    direct: frozenset[str]
    fallback: frozenset[str] = frozenset()

    def select(self, products: list[str | None]) -> list[bool]:
        """Which statements (by their product) apply: unscoped ones always; scoped ones from
        the direct streams, else from the fallback."""
        direct = [p is None or p in self.direct for p in products]
        if any(p is not None and p in self.direct for p in products):
            return direct
        return [p is None or p in self.fallback for p in products]


class Distribution:
    """One distribution family: how its images are recognised, where its packages are looked
    up (ecosystem and release, as OSV names them), by which name, with which version rules,
    and which feeds decide for it."""

    ecosystem: ClassVar[str]  # OSV ecosystem name, without its release ("Debian", "SUSE")
    os_release_ids: ClassVar[frozenset[str]]  # os-release ID values of its images
    package_type: ClassVar[str]  # the purl type of its packages: deb, apk, rpm
    keyed_by: ClassVar[str]  # "source", "origin" or "binary": which package name the feeds use
    version_scheme: ClassVar[str]  # dpkg, apk or rpm (quaywatch.versions)
    own_feeds: ClassVar[frozenset[str]] = frozenset()  # feeds that decide over OSV for its packages

    @property
    def rating_source(self) -> str:
        """How a finding names this distribution as the source of its severity (``debian``,
        ``redhat``, ``rockylinux``): the vendor's own rating decides for its packages."""
        return self.ecosystem.lower().replace(" ", "")

    def purl_namespace(self, os_id: str) -> str:
        """The namespace of its packages' purls (syft's: the os-release ID, unless the purl
        spec names the vendor otherwise)."""
        return os_id

    def release(self, os: OperatingSystem) -> str | None:
        """The release an image's packages are matched in, from its os-release facts."""
        version = os.version_id or ""
        return version.split(".")[0] or None

    def osv_release(self, qualifier: list[str]) -> str:
        """The release of an OSV ecosystem string's qualifier (``Debian:12`` -> ["12"])."""
        return qualifier[0].split(".")[0] if qualifier else ""

    def lookup_name(self, package: Package) -> str:
        if self.keyed_by in ("source", "origin"):
            return package.source_name or package.name
        return package.name

    def lookup_version(self, package: Package) -> str:
        if self.keyed_by == "source":
            return package.source_version or package.version
        return package.version

    def product_scope(self, release: str, content_sets: list[str],
                      repository_cpes: dict[str, list[str]]) -> ProductScope | None:
        """Which of the feed's product-scoped statements apply to an image (None: the
        distribution's feeds scope nothing below the release)."""
        return None

    def extra_lookups(self, package: Package) -> list[tuple[str, str]]:
        """Further (name, version) pairs a feed of this distribution may state the package
        under, less specific than ``lookup_name``: a statement under the name decides over one
        under these."""
        return []


class RpmDistribution(Distribution):
    """RPM distributions: binary package names, versions with the epoch when there is one."""

    package_type = "rpm"
    keyed_by = "binary"
    version_scheme = "rpm"

    def lookup_version(self, package: Package) -> str:
        return f"{package.epoch}:{package.version}" if package.epoch else package.version
