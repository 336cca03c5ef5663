"""Version rules per ecosystem: one comparator per scheme, all behind ``VersionScheme``.

Matching asks "is this installed version inside that advisory range?" and gets it right only
with each ecosystem's own ordering. Every scheme here is proven in tests on upstream vectors
(dpkg, rpm, apk-tools, Maven) or the library's own (PEP 440, semver).
"""

from quaywatch.versions.base import InvalidVersionError, VersionScheme
from quaywatch.versions.registry import scheme_for

__all__ = ["InvalidVersionError", "VersionScheme", "scheme_for"]
