"""Java archives (jar, war, ear): Maven coordinates from ``pom.properties``, else from the
manifest and the file name; nested archives (``WEB-INF/lib``, ``BOOT-INF/lib``) too."""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from typing import BinaryIO

from quaywatch.inventory.analyzers.base import Analyzer, AnalyzerError, Interest
from quaywatch.inventory.models import FileFindings, Package

ARCHIVE_SUFFIXES = (".jar", ".war", ".ear", ".jpi", ".hpi")
_MAX_NESTING = 2
_MAX_NESTED_BYTES = 64 << 20
_FILENAME_RE = re.compile(r"^(?P<artifact>.+?)-(?P<version>\d[\w.+-]*)$")


class JavaArchiveAnalyzer(Analyzer):
    name = "java"
    version = 1
    interest = Interest(suffixes=ARCHIVE_SUFFIXES)
    max_file_bytes = 256 << 20

    def wants(self, path: str, executable: bool) -> bool:
        return path.endswith(ARCHIVE_SUFFIXES)

    def analyze(self, path: str, stream: BinaryIO, size: int) -> FileFindings | None:
        packages: list[Package] = []
        warnings: list[str] = []
        _inspect(stream.read(), path, path, 0, packages, warnings)
        return FileFindings(analyzer=self.name, packages=packages, warnings=warnings)


def _inspect(
    data: bytes, declared_by: str, archive_name: str, depth: int, packages: list[Package], warnings: list[str]
) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        if depth == 0:
            raise AnalyzerError(f"not a zip archive: {exc}") from None
        warnings.append(f"{declared_by}: nested archive {archive_name} is not a zip archive")
        return
    with archive:
        names = archive.namelist()
        found = [_from_pom_properties(archive, n, declared_by) for n in names if _is_pom_properties(n)]
        found = [p for p in found if p is not None]
        if not found:
            fallback = _from_manifest(archive, archive_name, declared_by)
            if fallback is not None:
                found = [fallback]
        packages.extend(found)
        if depth >= _MAX_NESTING:
            return
        for name in names:
            if name.endswith(ARCHIVE_SUFFIXES) and not name.endswith("/"):
                info = archive.getinfo(name)
                if info.file_size > _MAX_NESTED_BYTES:
                    warnings.append(f"{declared_by}: nested archive {name} skipped (too large)")
                    continue
                _inspect(archive.read(name), f"{declared_by}:{name}", name, depth + 1, packages, warnings)


def _is_pom_properties(name: str) -> bool:
    return name.startswith("META-INF/maven/") and name.endswith("/pom.properties")


_PROPERTY_RE = re.compile(r"^(?P<key>[^=:\s]+)\s*[=:\s]\s*(?P<value>.*)$")


def _properties(text: str) -> dict[str, str]:
    """Java ``.properties`` key/value lines (comments and blank lines skipped)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        match = _PROPERTY_RE.match(line.strip())
        if match and not line.lstrip().startswith(("#", "!")):
            values[match["key"]] = match["value"].strip()
    return values


def _from_pom_properties(archive: zipfile.ZipFile, name: str, declared_by: str) -> Package | None:
    values = _properties(archive.read(name).decode("utf-8", errors="replace"))
    group, artifact, version = values.get("groupId"), values.get("artifactId"), values.get("version")
    if not group or not artifact or not version:
        return None
    return Package(type="maven", namespace=group, name=artifact, version=version, path=declared_by)


def _from_manifest(archive: zipfile.ZipFile, archive_name: str, declared_by: str) -> Package | None:
    attributes: dict[str, str] = {}
    try:
        text = archive.read("META-INF/MANIFEST.MF").decode("utf-8", errors="replace")
    except KeyError:
        text = ""
    for line in text.replace("\r\n", "\n").replace("\n ", "").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            attributes[key.strip()] = value.strip()
    stem = posixpath.splitext(posixpath.basename(archive_name))[0]
    match = _FILENAME_RE.match(stem)
    artifact = match["artifact"] if match else stem
    version = (
        attributes.get("Implementation-Version")
        or attributes.get("Bundle-Version")
        or (match["version"] if match else None)
    )
    if not version:
        return None
    group = attributes.get("Implementation-Vendor-Id") or None
    return Package(type="maven", namespace=group, name=artifact, version=version, path=declared_by)
