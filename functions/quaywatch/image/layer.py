"""Analysis of one layer: a single streaming pass over its tar entries.

Whiteouts (``.wh.<name>``) and opaque directories (``.wh..wh..opq``) are recorded, not
applied: they act on lower layers and are applied when layers are merged (``merge.py``), which
lets each layer's result be cached and shared between images on its own.
"""

from __future__ import annotations

import posixpath
import tarfile
from collections.abc import Iterator, Sequence

from quaywatch.image.decompress import open_layer_stream
from quaywatch.image.errors import LayerRejectedError
from quaywatch.image.limits import ScanLimits
from quaywatch.inventory.analyzers.base import Analyzer, AnalyzerError
from quaywatch.inventory.models import FileFindings, LayerAnalysis
from quaywatch.observability import logger

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
_TAR_BUFSIZE = 1 << 20


def normalise_member_path(name: str, digest: str) -> str:
    """A tar member name as a clean relative path; traversal out of the root is refused."""
    path = name.replace("\\", "/").lstrip("/")
    while path.startswith("./"):
        path = path[2:]
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
) -> LayerAnalysis:
    """Stream one layer blob (compressed chunks) and collect what the analyzers find."""
    stream, counter = open_layer_stream(chunks, limits, digest)
    result = LayerAnalysis(digest=digest)
    try:
        archive = tarfile.open(fileobj=stream, mode="r|", bufsize=_TAR_BUFSIZE)
    except tarfile.ReadError as exc:
        if counter.bytes_out == 0:
            return result  # an empty blob is an empty layer
        raise LayerRejectedError(f"layer {digest} is not a valid tar archive: {exc}") from None
    with archive:
        try:
            for member in archive:
                result.file_count += 1
                if result.file_count > limits.max_members:
                    raise LayerRejectedError(
                        f"layer {digest} has more than {limits.max_members} entries (limit max_members)"
                    )
                _visit(archive, member, digest, analyzers, limits, result)
        except tarfile.TarError as exc:
            raise LayerRejectedError(f"layer {digest} is a corrupt tar archive: {exc}") from None
        except EOFError:
            raise LayerRejectedError(f"layer {digest} is truncated") from None
    # Drain what follows the end-of-archive marker so the whole blob is read and its digest
    # gets verified by the registry stream.
    while stream.read(_TAR_BUFSIZE):
        pass
    result.uncompressed_bytes = counter.bytes_out
    return result


def _visit(
    archive: tarfile.TarFile,
    member: tarfile.TarInfo,
    digest: str,
    analyzers: Sequence[Analyzer],
    limits: ScanLimits,
    result: LayerAnalysis,
) -> None:
    if member.size < 0 or member.size > limits.max_member_bytes:
        raise LayerRejectedError(
            f"layer {digest} has an entry {member.name!r} of absurd size {member.size} bytes "
            f"(limit max_member_bytes={limits.max_member_bytes})"
        )
    path = normalise_member_path(member.name, digest)
    if not path:
        return
    directory, base = posixpath.split(path)
    if base.startswith(WHITEOUT_PREFIX):
        if base == OPAQUE_MARKER:
            result.opaque_dirs.append(directory)
        else:
            result.whiteouts.append(posixpath.join(directory, base[len(WHITEOUT_PREFIX) :]))
        return
    if member.islnk():
        target = normalise_member_path(member.linkname, digest)
        if target in result.files:
            result.files[path] = result.files[target].model_copy(deep=True)
        return
    if not member.isreg():
        return
    executable = bool(member.mode & 0o111)
    for analyzer in analyzers:
        if not analyzer.wants(path, executable):
            continue
        if member.size > min(analyzer.max_file_bytes, limits.max_kept_file_bytes):
            logger.warning(
                "skipping oversized file",
                extra={"layer": digest, "path": path, "size": member.size, "analyzer": analyzer.name},
            )
            continue
        findings = _run(analyzer, archive, member, path, digest)
        if findings is not None:
            result.files[path] = findings
        break


def _run(
    analyzer: Analyzer, archive: tarfile.TarFile, member: tarfile.TarInfo, path: str, digest: str
) -> FileFindings | None:
    stream = archive.extractfile(member)
    if stream is None:
        return None
    try:
        return analyzer.analyze(path, stream, member.size)
    except (AnalyzerError, ValueError, KeyError, UnicodeDecodeError) as exc:
        logger.warning(
            "could not parse file", extra={"layer": digest, "path": path, "analyzer": analyzer.name, "error": str(exc)}
        )
        return FileFindings(analyzer=analyzer.name, warnings=[f"{path}: {analyzer.name} could not parse it: {exc}"])
