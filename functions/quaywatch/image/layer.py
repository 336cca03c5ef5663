"""Analysis of one layer: a single streaming pass over its tar entries.

Whiteouts (``.wh.<name>``) and opaque directories (``.wh..wh..opq``) are recorded, not
applied: they act on lower layers and are applied when layers are merged (``merge.py``), which
lets each layer's result be cached and shared between images on its own.
"""

from __future__ import annotations

import copy
import posixpath
from collections.abc import Iterator, Sequence

from quaywatch.image.decompress import StreamStats, decompressed_chunks
from quaywatch.image.errors import LayerRejectedError
from quaywatch.image.limits import ScanLimits
from quaywatch.image.tarstream import HARDLINK, ByteFeed, EntryReader, SkipRule, TarEntry, TarStream
from quaywatch.inventory.analyzers.base import Analyzer, AnalyzerError
from quaywatch.inventory.analyzers.index import AnalyzerIndex
from quaywatch.inventory.models import FileFindings, LayerAnalysis
from quaywatch.inventory.purl import OS_PACKAGE_TYPES, package_url
from quaywatch.observability import logger

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"


def normalise_member_path(name: str, digest: str) -> str:
    """A tar member name as a clean relative path; traversal out of the root is refused."""
    path = name.lstrip("/")
    if not ("." in path and ("/." in path or path.startswith(".")) or "\\" in path or "//" in path or path.endswith("/")):
        return path  # the common case, already clean (this runs once per tar entry)
    path = path.replace("\\", "/")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise LayerRejectedError(
            f"layer {digest} contains a path traversal entry {name!r}; refusing the layer"
        )
    return "/".join(parts)


def analyze_layer(
    digest: str,
    chunks: Iterator[bytes],
    analyzers: Sequence[Analyzer],
    limits: ScanLimits,
    *,
    accelerated: bool = True,
) -> LayerAnalysis:
    """Stream one layer blob (compressed chunks) and collect what the analyzers find.

    ``accelerated``: let the tar walker step over unwanted entries in C where it is built
    (the result is the same either way; the tests compare both)."""
    stats = StreamStats()
    feed = ByteFeed(decompressed_chunks(chunks, limits, digest, stats))
    result = LayerAnalysis(digest=digest)
    index = AnalyzerIndex(analyzers)
    stream = TarStream(feed, digest, limits.max_member_bytes, SkipRule(index.wanted) if accelerated else None,
                       max_extension_bytes=limits.max_extension_bytes, max_path_bytes=limits.max_path_bytes)
    visited = kept_name_bytes = 0
    try:
        for entry, reader in stream.entries():
            visited += 1
            _check_member_count(visited + stream.skipped + stream.extension_headers, digest, limits)
            kept_name_bytes += _visit(entry, reader, digest, index, limits, result)
            if kept_name_bytes > limits.max_kept_metadata_bytes:
                raise LayerRejectedError(f"layer {digest} names more than {limits.max_kept_metadata_bytes >> 20} MiB "
                                         "of paths to keep (limit max_kept_metadata_bytes)")
    except EOFError:
        raise LayerRejectedError(f"layer {digest} is truncated") from None
    result.file_count = visited + stream.skipped
    _check_member_count(result.file_count + stream.extension_headers, digest, limits)
    _name_application_packages(result)
    # Read past the end-of-archive marker so the whole blob is consumed and its digest
    # gets verified by the registry stream.
    feed.drain()
    result.uncompressed_bytes = stats.bytes_out
    return result


def _check_member_count(count: int, digest: str, limits: ScanLimits) -> None:
    if count > limits.max_members:
        raise LayerRejectedError(f"layer {digest} has more than {limits.max_members} entries (limit max_members)")


def _name_application_packages(result: LayerAnalysis) -> None:
    """Give application packages their purls here, in the layer's worker thread while other
    layers still stream: those purls depend on the package alone (12 us each, 2,000 packages
    in a typical app image). OS packages wait for the image's OS (scanning/assemble.py)."""
    for findings in result.files.values():
        for package in findings.packages:
            if package.type not in OS_PACKAGE_TYPES:
                package.purl = package_url(package, None)


def _visit(
    entry: TarEntry,
    reader: EntryReader,
    digest: str,
    index: AnalyzerIndex,
    limits: ScanLimits,
    result: LayerAnalysis,
) -> int:
    """Hand the entry to the analyzer that wants it; returns the bytes of names it kept."""
    path = normalise_member_path(entry.name, digest)
    if not path:
        return 0
    directory, _, base = path.rpartition("/")
    if base.startswith(WHITEOUT_PREFIX):
        if base == OPAQUE_MARKER:
            result.opaque_dirs.append(directory)
        else:
            result.whiteouts.append(posixpath.join(directory, base[len(WHITEOUT_PREFIX) :]))
        return len(path)
    if entry.kind == HARDLINK:
        target = normalise_member_path(entry.linkname, digest)
        if target in result.files:
            result.files[path] = copy.deepcopy(result.files[target])
            return len(path)
        return 0
    if not entry.is_regular:
        return 0
    executable = bool(entry.mode & 0o111)
    for analyzer in index.candidates(directory, base, executable):
        if not analyzer.wants(path, executable):
            continue
        if entry.size > min(analyzer.max_file_bytes, limits.max_kept_file_bytes) and not analyzer.streams:
            logger.warning(
                "skipping oversized file",
                extra={"layer": digest, "path": path, "size": entry.size, "analyzer": analyzer.name},
            )
            continue
        findings = _run(analyzer, reader, path, entry.size, digest)
        if findings is not None:
            result.files[path] = findings
            return len(path)
        break
    return 0


def _run(analyzer: Analyzer, reader: EntryReader, path: str, size: int, digest: str) -> FileFindings | None:
    try:
        return analyzer.analyze(path, reader, size)  # type: ignore[arg-type]
    except (AnalyzerError, ValueError, KeyError, UnicodeDecodeError) as exc:
        logger.warning(
            "could not parse file",
            extra={"layer": digest, "path": path, "analyzer": analyzer.name, "error": str(exc)},
        )
        return FileFindings(analyzer=analyzer.name, warnings=[f"{path}: {analyzer.name} could not parse it: {exc}"])
