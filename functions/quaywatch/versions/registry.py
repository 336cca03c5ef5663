"""Which version scheme an ecosystem uses."""

from __future__ import annotations

from quaywatch import distros
from quaywatch.versions.apk import ApkScheme
from quaywatch.versions.base import VersionScheme
from quaywatch.versions.dpkg import DpkgScheme
from quaywatch.versions.maven import MavenScheme
from quaywatch.versions.pep440 import Pep440Scheme
from quaywatch.versions.rpm import RpmScheme
from quaywatch.versions.semver import SemverScheme

DPKG, RPM, APK = DpkgScheme(), RpmScheme(), ApkScheme()
PEP440, SEMVER, MAVEN = Pep440Scheme(), SemverScheme(), MavenScheme()

_BY_NAME: dict[str, VersionScheme] = {"dpkg": DPKG, "rpm": RPM, "apk": APK}
# Ecosystems without a distribution module -> the scheme of their ECOSYSTEM ranges; the
# distributions say theirs (``quaywatch.distros``).
_BY_ECOSYSTEM: dict[str, VersionScheme] = {
    "Mageia": RPM,
    "PyPI": PEP440,
    "npm": SEMVER,
    "Go": SEMVER,
    "Maven": MAVEN,
}


def scheme_for(ecosystem: str, range_type: str = "ECOSYSTEM") -> VersionScheme | None:
    """The scheme for an OSV ecosystem, or None when quaywatch cannot order its versions."""
    if range_type == "SEMVER":
        return SEMVER
    distribution = distros.by_ecosystem(ecosystem)
    if distribution is not None:
        return _BY_NAME[distribution.version_scheme]
    return _BY_ECOSYSTEM.get(ecosystem)
