"""From the merged filesystem view to the inventory: OS detection, purls, origins."""

from __future__ import annotations

import dataclasses

from quaywatch.distros import alpine, debian, rhel
from quaywatch.image.merge import MergedFile
from quaywatch.inventory.analyzers.content_sets import ContentSetsAnalyzer
from quaywatch.inventory.analyzers.osrelease import RELEASE_FILES
from quaywatch.inventory.models import ImageSummary, Inventory, OperatingSystem, Package
from quaywatch.inventory.purl import package_url


def assemble_inventory(image: ImageSummary, view: dict[str, MergedFile]) -> Inventory:
    """Build the inventory of an image from its merged per-file findings."""
    os = detect_os(view)
    packages: list[Package] = []
    warnings: list[str] = []
    for merged in view.values():
        warnings.extend(merged.findings.warnings)
        for package in merged.findings.packages:
            placed = dataclasses.replace(package, layer=merged.layer)
            if placed.purl is None:  # OS packages; application packages got theirs per layer
                placed.purl = package_url(placed, os)
            packages.append(placed)
    deb_paths = [p.path for p in packages if p.type == "deb"]
    if os is not None and deb_paths and all(p.startswith("var/lib/dpkg/status.d/") for p in deb_paths):
        os.distroless = True  # distroless images carry per-package files instead of status
    packages.sort(key=lambda p: (p.type, p.namespace or "", p.name, p.version, p.path))
    return Inventory(image=image, os=os, packages=packages, warnings=sorted(set(warnings)))


def detect_os(view: dict[str, MergedFile]) -> OperatingSystem | None:
    """The image's distribution from the most authoritative release file present."""
    os: OperatingSystem | None = None
    for path in RELEASE_FILES:
        merged = view.get(path)
        if merged is None:
            continue
        os = _from_release_file(path, merged.findings.facts)
        if os is not None:
            break
    repositories = view.get("etc/apk/repositories")
    if os is not None and os.id == "alpine" and repositories is not None:
        os.apk_release = alpine.apk_release(os, [r for r in repositories.findings.facts.get("releases", "").split(",")
                                                 if r])
    if os is not None:
        os.content_sets = _content_sets(view)
    return os


def _content_sets(view: dict[str, MergedFile]) -> list[str]:
    """Every content set the image's content manifests name, in path order, once each."""
    found: dict[str, None] = {}
    for path in sorted(view):
        if view[path].findings.analyzer == ContentSetsAnalyzer.name:
            found.update(dict.fromkeys(s for s in view[path].findings.facts.get("content_sets", "").split(",") if s))
    return list(found)


def _from_release_file(path: str, facts: dict[str, str]) -> OperatingSystem | None:
    if path.endswith("os-release"):
        if not facts.get("ID"):
            return None
        pretty = facts.get("PRETTY_NAME")
        return OperatingSystem(
            id=facts["ID"].lower(),
            version_id=facts.get("VERSION_ID"),
            version_codename=facts.get("VERSION_CODENAME") or None,
            pretty_name=pretty,
            id_like=facts.get("ID_LIKE", "").split(),
            distroless="distroless" in (pretty or "").lower(),
        )
    raw = facts.get("RAW", "")
    if path == "etc/alpine-release" and raw:
        return alpine.os_from_alpine_release(raw)
    if path == "etc/debian_version" and raw:
        return debian.os_from_debian_version(raw)
    if path == "etc/redhat-release":
        return rhel.os_from_redhat_release(raw)
    return None
