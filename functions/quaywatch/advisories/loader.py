"""Read advisory feeds from files, directories and zip dumps, in any supported format.

A path may be one OSV record (JSON or YAML; GitHub advisories are OSV too), a directory of
them (walked recursively, as the PyPA repository's ``vulns/``), an OSV ``all.zip`` dump, an
Alpine secdb document (YAML or JSON), a Debian security tracker JSON, NVD CVE API 2.0 data
(feed files ``nvdcve-2.0-*.json[.gz|.zip]``, API pages, or one ``cve`` object per file), CVE
JSON 5 records (the CVE List's release zips too), CISA's KEV catalog (JSON), an EPSS score
file (CSV), Red Hat's CSAF VEX documents (one file, a ``YYYY/cve-*.json`` directory or the
``csaf_vex_*.tar.zst`` archive; a ``deletions.csv`` beside them withdraws what it lists) and
Red Hat's repository-to-CPE mapping. ``.gz`` files are read through gzip. Formats are recognised by content, not
name. NVD files are streamed (a year file is hundreds of megabytes), in documents of
``_BATCH`` records. Every malformed document or record becomes a ``BadRecord`` with its
location; it never stops the rest.
"""

from __future__ import annotations

import gzip
import json
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import ijson
import yaml
import zstandard

from quaywatch.advisories.formats.alpine_secdb import looks_like_secdb, parse_secdb
from quaywatch.advisories.formats.cve5 import looks_like_cve5, parse_cve5
from quaywatch.advisories.formats.debian_tracker import (
    looks_like_debian_tracker,
    parse_debian_tracker,
)
from quaywatch.advisories.formats.errors import InvalidRecordError
from quaywatch.advisories.formats.exploits import (
    looks_like_epss,
    looks_like_kev,
    parse_epss,
    parse_kev,
)
from quaywatch.advisories.formats.nvd import (
    looks_like_nvd_cve,
    looks_like_nvd_feed,
    parse_nvd_cve,
    parse_nvd_item,
)
from quaywatch.advisories.formats.osv import looks_like_osv, parse_osv
from quaywatch.advisories.formats.redhat_csaf import (
    looks_like_csaf,
    looks_like_repository_cpes,
    parse_csaf,
    parse_repository_cpes,
    withdrawn_documents,
)
from quaywatch.advisories.models import (
    Advisory,
    BadRecord,
    ExploitPrediction,
    KnownExploited,
    Rating,
)
from quaywatch.errors import UsageError

_SUFFIXES = (".json", ".yaml", ".yml", ".csv", ".json.gz", ".csv.gz")
_TAR_SUFFIXES = (".tar", ".tar.zst", ".tar.gz")
_MEMBER_LIMIT = 64 << 20  # a document read whole; NVD files are streamed and have no limit
_STREAM_ABOVE = 8 << 20  # members smaller than this are read whole, NVD ones too (one open, not two)
_INNER_ZIP_LIMIT = 4 << 30  # the CVE List's cves.zip is some hundreds of MB
_BATCH = 2000
_ZSTD_WINDOW = 128 << 20  # a frame asking for a larger window (memory) is refused
_YAML_LOADER = getattr(yaml, "CBaseLoader", yaml.BaseLoader)  # every scalar a string: 1.10 stays "1.10"


@dataclass
class Document:
    """What one file (or zip member) contained."""

    location: str
    advisories: list[Advisory] = field(default_factory=list)
    bad: list[BadRecord] = field(default_factory=list)
    ratings: list[Rating] = field(default_factory=list)
    known_exploited: list[KnownExploited] = field(default_factory=list)
    predictions: list[ExploitPrediction] = field(default_factory=list)
    repository_cpes: dict[str, list[str]] = field(default_factory=dict)  # Red Hat's repository-to-CPE mapping
    kev_catalog: bool = False  # a complete KEV catalog: it replaces the previous one
    epss_snapshot: bool = False  # a complete EPSS file: it replaces the previous scores


Fingerprint = frozenset[tuple[str, int, int]]


def fingerprint(path: Path) -> Fingerprint:
    """(file, size, mtime in ns) of every file of a feed path: what changes when its content
    does (a missing path has an empty fingerprint)."""
    try:
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        return frozenset((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    except OSError:
        return frozenset()


def read_feed(path: Path) -> Iterator[Document]:
    """Documents of a file, directory or zip, in a stable order."""
    if not path.exists():
        raise UsageError(f"advisory feed {path} does not exist")
    if path.is_dir():
        for child in sorted(path.rglob("*")):
            if child.is_file() and (child.name.endswith((*_SUFFIXES, *_TAR_SUFFIXES)) or child.suffix == ".zip"):
                yield from read_feed(child)
        return
    if path.suffix == ".zip":
        yield from _read_zip(path)
        return
    if path.name.endswith(_TAR_SUFFIXES):
        yield from _read_tar(path)
        return
    location = str(path)
    try:
        if _is_nvd_stream(lambda: _open(path)):
            with _open(path) as stream:
                yield from _read_nvd_stream(location, stream)
            return
        with _open(path) as stream:
            data = stream.read()
    except (OSError, EOFError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        yield Document(location, bad=[BadRecord(location=location, reason=f"unreadable: {reason}")])
        return
    yield parse_document(location.removesuffix(".gz"), data, shown_as=location)


def _open(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _is_nvd_stream(opener: Any) -> bool:
    """NVD feed files and API pages say ``"format": "NVD_CVE"`` before their records."""
    with opener() as stream:
        head = stream.read(4096)
    return b'"NVD_CVE"' in head and b'"vulnerabilities"' in head


def _read_nvd_stream(location: str, stream: IO[bytes]) -> Iterator[Document]:
    document = Document(location)
    index = 0
    try:
        for index, item in enumerate(ijson.items(stream, "vulnerabilities.item", use_float=True)):
            try:
                ratings, kev = parse_nvd_item(item)
            except InvalidRecordError as exc:
                document.bad.append(BadRecord(location=f"{location}[{index}]", reason=str(exc)))
                continue
            document.ratings.extend(ratings)
            if kev is not None:
                document.known_exploited.append(kev)
            if len(document.ratings) >= _BATCH:
                yield document
                document = Document(location)
    except ijson.JSONError as exc:
        document.bad.append(BadRecord(location=f"{location}[{index}]", reason=f"not valid JSON: {_short(exc)}"))
    yield document


def _read_zip(path: Path, nested: bool = False) -> Iterator[Document]:
    """Members in archive order. A zip inside the zip (the CVE List's baseline holds
    ``cves.zip``) is unpacked next to it and read too, one level deep."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        yield Document(str(path), bad=[BadRecord(location=str(path), reason=f"not a readable zip: {exc}")])
        return
    with archive:
        for info in archive.infolist():
            if not nested and not info.is_dir() and info.filename.endswith(".zip"):
                yield from _read_inner_zip(path, archive, info)
                continue
            if info.is_dir() or not info.filename.endswith(_SUFFIXES):
                continue
            location = f"{path}!{info.filename}"
            try:
                if info.file_size > _STREAM_ABOVE and _is_nvd_stream(lambda member=info: archive.open(member)):
                    with archive.open(info) as stream:
                        yield from _read_nvd_stream(location, stream)
                    continue
                if info.file_size > _MEMBER_LIMIT:
                    yield Document(location, bad=[BadRecord(location=location, reason="member larger than 64 MiB")])
                    continue
                data = archive.read(info)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
                yield Document(location, bad=[BadRecord(location=location, reason=f"unreadable member: {exc}")])
                continue
            yield parse_document(location, data)


def _read_tar(path: Path) -> Iterator[Document]:
    """A tar archive, plain or compressed (Red Hat's ``csaf_vex_YYYY-MM-DD.tar.zst``: some
    300,000 documents), read as a stream: one member at a time, nothing unpacked to disk."""
    try:
        with open(path, "rb") as raw:
            stream: IO[bytes] = raw
            if path.name.endswith(".zst"):
                stream = zstandard.ZstdDecompressor(max_window_size=_ZSTD_WINDOW).stream_reader(raw)
            with tarfile.open(fileobj=stream, mode="r|gz" if path.name.endswith(".gz") else "r|") as archive:
                for member in archive:
                    if not member.isfile() or not member.name.endswith(_SUFFIXES):
                        continue
                    location = f"{path}!{member.name}"
                    if member.size > _MEMBER_LIMIT:
                        yield Document(location, bad=[BadRecord(location=location, reason="member larger than 64 MiB")])
                        continue
                    extracted = archive.extractfile(member)
                    yield parse_document(location, extracted.read() if extracted else b"")
    except (tarfile.TarError, zstandard.ZstdError, OSError, EOFError) as exc:
        yield Document(str(path), bad=[BadRecord(location=str(path), reason=f"not a readable archive: {exc}")])


def _read_inner_zip(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[Document]:
    location = f"{path}!{info.filename}"
    if info.file_size > _INNER_ZIP_LIMIT:
        yield Document(location, bad=[BadRecord(location=location, reason="inner zip larger than 4 GiB")])
        return
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".inner-") as scratch:
        inner = Path(scratch) / "inner.zip"
        try:
            with archive.open(info) as member, open(inner, "wb") as out:
                shutil.copyfileobj(member, out, 1 << 20)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            yield Document(location, bad=[BadRecord(location=location, reason=f"unreadable member: {exc}")])
            return
        for document in _read_zip(inner, nested=True):
            document.location = document.location.replace(str(inner), location, 1)
            for bad in document.bad:
                bad.location = bad.location.replace(str(inner), location, 1)
            yield document


def parse_document(location: str, data: bytes, shown_as: str | None = None) -> Document:
    """Decode and recognise one document (``location``'s suffix says how to decode it;
    ``shown_as`` is the name reports use, e.g. with the ``.gz`` the reader removed)."""
    document = Document(shown_as or location)
    if location.endswith(".csv"):
        return _csv_document(document, data)
    try:
        content = _decode(location, data)
    except (ValueError, yaml.YAMLError) as exc:
        document.bad.append(BadRecord(location=document.location, reason=f"not valid JSON or YAML: {_short(exc)}"))
        return document
    except RecursionError:  # the decoders recurse per level: a hostile document nests thousands deep
        document.bad.append(BadRecord(location=document.location, reason="not valid JSON or YAML: nested too deeply"))
        return document
    notes: list[str] = []
    try:
        if looks_like_nvd_feed(content):
            for index, item in enumerate(content["vulnerabilities"] or []):
                try:
                    ratings, kev = parse_nvd_item(item)
                except InvalidRecordError as exc:
                    notes.append(f"[{index}]: {exc}")
                    continue
                document.ratings.extend(ratings)
                document.known_exploited.extend([kev] if kev else [])
        elif looks_like_nvd_cve(content):
            ratings, kev = parse_nvd_cve(content)
            document.ratings.extend(ratings)
            document.known_exploited.extend([kev] if kev else [])
        elif looks_like_cve5(content):
            document.ratings = parse_cve5(content)
        elif looks_like_kev(content):
            document.known_exploited = parse_kev(content, notes)
            document.kev_catalog = True
        elif looks_like_secdb(content):
            document.advisories = parse_secdb(content, notes)
        elif looks_like_osv(content):
            document.advisories = [parse_osv(content)]
        elif isinstance(content, list) and all(looks_like_osv(item) for item in content):
            for index, item in enumerate(content):
                try:
                    document.advisories.append(parse_osv(item))
                except InvalidRecordError as exc:
                    notes.append(f"[{index}]: {exc}")
        elif looks_like_csaf(content):
            document.advisories = parse_csaf(content, notes)
        elif looks_like_repository_cpes(content):
            document.repository_cpes = parse_repository_cpes(content, notes)
        elif looks_like_debian_tracker(content):
            document.advisories = parse_debian_tracker(content, notes)
        else:
            notes.append("not a recognised advisory format (OSV, Alpine secdb, Debian tracker, NVD, CVE JSON 5, KEV, "
                         "CSAF VEX)")
    except InvalidRecordError as exc:
        notes.append(str(exc))
    document.bad = [BadRecord(location=document.location, reason=note) for note in notes]
    return document


def _csv_document(document: Document, data: bytes) -> Document:
    notes: list[str] = []
    text = data.decode("utf-8", errors="replace")
    name = document.location.rsplit("/", 1)[-1].rsplit("!", 1)[-1]
    if name == "deletions.csv":  # Red Hat's VEX directory: the documents it removed
        document.advisories = withdrawn_documents(text, notes)
        document.bad = [BadRecord(location=document.location, reason=note) for note in notes]
        return document
    if name == "changes.csv":
        return document  # Red Hat's VEX directory: what the sync downloads, not a record itself
    try:
        if not looks_like_epss(text):
            raise InvalidRecordError("not a recognised CSV feed (EPSS: cve,epss,percentile)")
        document.predictions = parse_epss(text, notes)
        document.epss_snapshot = True
    except InvalidRecordError as exc:
        notes.append(str(exc))
    document.bad = [BadRecord(location=document.location, reason=note) for note in notes]
    return document


def _decode(location: str, data: bytes) -> Any:
    if location.endswith(".json"):
        return json.loads(data)
    return yaml.load(data, Loader=_YAML_LOADER)


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200]
