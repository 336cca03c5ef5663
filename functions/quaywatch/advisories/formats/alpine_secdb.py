"""Alpine secdb (``v3.x/main.yaml`` or the live ``main.json``) into advisories.

Secdb lists, per release and repository, the version of each package (by origin name) that
fixed each CVE. A package older than that version is affected; the fixed version ``"0"``
means the package was never affected in that release. One advisory per CVE per document;
its ``partition`` is ``<release>/<repository>`` so that re-importing ``main`` never drops
what ``community`` said.
"""

from __future__ import annotations

import re
from typing import Any

from quaywatch.advisories.formats.errors import InvalidRecordError
from quaywatch.advisories.models import Advisory, AffectedPackage, Event, FixStatus, Range

SOURCE = "alpine-secdb"
_ID = re.compile(r"^(CVE-\d{4}-\d+|[A-Za-z][A-Za-z0-9]*-[\w.-]*\d[\w.-]*)$")


def looks_like_secdb(document: Any) -> bool:
    return isinstance(document, dict) and "packages" in document and "distroversion" in document


def parse_secdb(document: dict, bad: list[str]) -> list[Advisory]:
    """All advisories of one secdb document; malformed entries are described in ``bad``."""
    release = str(document.get("distroversion", "")).removeprefix("v")
    if not re.match(r"^(\d+\.\d+|edge)$", release):
        raise InvalidRecordError(f"secdb document with an unusable distroversion {document.get('distroversion')!r}")
    partition = f"{release}/{document.get('reponame', '')}"
    by_id: dict[str, Advisory] = {}
    packages = document.get("packages") or []
    if not isinstance(packages, list):
        raise InvalidRecordError("secdb 'packages' must be a list")
    for index, item in enumerate(packages):
        package = item.get("pkg") if isinstance(item, dict) else None
        name = package.get("name") if isinstance(package, dict) else None
        fixes = package.get("secfixes") if isinstance(package, dict) else None
        if not isinstance(name, str) or not isinstance(fixes, dict | None):
            bad.append(f"packages[{index}]: no pkg.name or secfixes")
            continue
        for fixed, ids in (fixes or {}).items():
            fixed_version = str(fixed).strip()
            if not isinstance(ids, list):
                bad.append(f"{name} {fixed_version}: the CVE list is not a list")
                continue
            for raw in ids:
                identifiers = _identifiers(str(raw))
                if not identifiers:
                    bad.append(f"{name} {fixed_version}: unrecognised identifier {raw!r}")
                for identifier in identifiers:
                    advisory = by_id.setdefault(
                        identifier, Advisory(id=identifier, source=SOURCE, partition=partition)
                    )
                    advisory.affected.append(_affected(release, name, fixed_version))
    return list(by_id.values())


def _identifiers(raw: str) -> list[str]:
    """The advisory ids in one secfixes entry. Real entries hold several ids
    (``CVE-2019-1 CVE-2019-2``), placeholders (``CVE-????-????? XSA-295``), typos
    (``CVE_2019-2426``) and vendor ids (``wnpa-sec-2017-18``)."""
    found = []
    for token in raw.replace(",", " ").split():
        token = token.replace("CVE_", "CVE-")
        if _ID.match(token):
            found.append(token.upper() if token.upper().startswith("CVE-") else token)
    return found


def _affected(release: str, name: str, fixed: str) -> AffectedPackage:
    if fixed == "0":
        return AffectedPackage(ecosystem="Alpine", release=release, name=name, status=FixStatus.NOT_AFFECTED)
    return AffectedPackage(
        ecosystem="Alpine",
        release=release,
        name=name,
        ranges=[Range(events=[Event(kind="introduced", version="0"), Event(kind="fixed", version=fixed)])],
        status=FixStatus.FIXED,
    )
