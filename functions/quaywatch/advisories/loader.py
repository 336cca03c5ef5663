"""Read advisory feeds from files, directories and zip dumps, in any supported format.

A path may be one OSV record (JSON or YAML), a directory of them (walked recursively, as
the PyPA repository's ``vulns/``), an OSV ``all.zip`` dump, an Alpine secdb document
(YAML or JSON) or a Debian security tracker JSON. Formats are recognised by content, not
name. Every malformed document or record becomes a ``BadRecord`` with its location; it
never stops the rest of the import.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from quaywatch.advisories.formats.alpine_secdb import looks_like_secdb, parse_secdb
from quaywatch.advisories.formats.debian_tracker import (
    looks_like_debian_tracker,
    parse_debian_tracker,
)
from quaywatch.advisories.formats.errors import InvalidRecordError
from quaywatch.advisories.formats.osv import looks_like_osv, parse_osv
from quaywatch.advisories.models import Advisory, BadRecord
from quaywatch.errors import UsageError

_SUFFIXES = (".json", ".yaml", ".yml")
_YAML_LOADER = getattr(yaml, "CBaseLoader", yaml.BaseLoader)  # every scalar a string: 1.10 stays "1.10"


@dataclass
class Document:
    """What one file (or zip member) contained."""

    location: str
    advisories: list[Advisory] = field(default_factory=list)
    bad: list[BadRecord] = field(default_factory=list)


def read_feed(path: Path) -> Iterator[Document]:
    """Documents of a file, directory or zip, in a stable order."""
    if not path.exists():
        raise UsageError(f"advisory feed {path} does not exist")
    if path.is_dir():
        for child in sorted(path.rglob("*")):
            if child.is_file() and (child.suffix in _SUFFIXES or child.suffix == ".zip"):
                yield from read_feed(child)
        return
    if path.suffix == ".zip":
        yield from _read_zip(path)
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield Document(str(path), bad=[BadRecord(location=str(path), reason=f"unreadable: {exc.strerror}")])
        return
    yield parse_document(str(path), data)


def _read_zip(path: Path) -> Iterator[Document]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        yield Document(str(path), bad=[BadRecord(location=str(path), reason=f"not a readable zip: {exc}")])
        return
    with archive:
        for info in archive.infolist():
            if info.is_dir() or not info.filename.endswith(_SUFFIXES):
                continue
            location = f"{path}!{info.filename}"
            if info.file_size > 64 << 20:
                yield Document(location, bad=[BadRecord(location=location, reason="member larger than 64 MiB")])
                continue
            try:
                data = archive.read(info)
            except (zipfile.BadZipFile, OSError, ValueError) as exc:
                yield Document(location, bad=[BadRecord(location=location, reason=f"unreadable member: {exc}")])
                continue
            yield parse_document(location, data)


def parse_document(location: str, data: bytes) -> Document:
    """Decode and recognise one document."""
    document = Document(location)
    try:
        content = _decode(location, data)
    except (ValueError, yaml.YAMLError) as exc:
        document.bad.append(BadRecord(location=location, reason=f"not valid JSON or YAML: {_short(exc)}"))
        return document
    notes: list[str] = []
    try:
        if looks_like_secdb(content):
            document.advisories = parse_secdb(content, notes)
        elif looks_like_osv(content):
            document.advisories = [parse_osv(content)]
        elif isinstance(content, list) and all(looks_like_osv(item) for item in content):
            for index, item in enumerate(content):
                try:
                    document.advisories.append(parse_osv(item))
                except InvalidRecordError as exc:
                    notes.append(f"[{index}]: {exc}")
        elif looks_like_debian_tracker(content):
            document.advisories = parse_debian_tracker(content, notes)
        else:
            notes.append("not a recognised advisory format (OSV, Alpine secdb, Debian tracker)")
    except InvalidRecordError as exc:
        notes.append(str(exc))
    document.bad = [BadRecord(location=location, reason=note) for note in notes]
    return document


def _decode(location: str, data: bytes) -> Any:
    if location.endswith(".json"):
        return json.loads(data)
    return yaml.load(data, Loader=_YAML_LOADER)


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200]
