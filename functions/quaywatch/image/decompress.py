"""Streaming decompression of layer blobs into chunks of the uncompressed tar stream.

The compression is detected from the first bytes (registries mislabel media types); gzip is
inflated with ISA-L (several times faster than zlib), zstd with the reference library.
Output comes in bounded slices so that a decompression bomb is caught by the byte and ratio
limits before it can fill memory.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import zstandard
from isal import isal_zlib

from quaywatch.image.errors import LayerRejectedError, UnsupportedLayerError
from quaywatch.image.limits import ScanLimits

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
SLICE = 1 << 20
BATCH = 1 << 20


class StreamStats:
    """Byte counters of one layer stream: compressed in, uncompressed out."""

    __slots__ = ("bytes_in", "bytes_out")

    def __init__(self) -> None:
        self.bytes_in = 0
        self.bytes_out = 0


class _IterFile(io.RawIOBase):
    """A raw file over an iterator of byte chunks (what zstandard's reader wants)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def decompressed_chunks(
    chunks: Iterator[bytes], limits: ScanLimits, digest: str, stats: StreamStats
) -> Iterator[bytes]:
    """The uncompressed bytes of a layer blob given as compressed ``chunks``."""
    first = b""
    while len(first) < 4:
        chunk = next(chunks, None)
        if chunk is None:
            break
        first += chunk
    source = _counted(first, chunks, stats)
    if first.startswith(GZIP_MAGIC):
        output = _gunzip(source)
    elif first.startswith(ZSTD_MAGIC):
        output = _unzstd(source, limits.max_zstd_window_bytes)
    elif first.startswith((b"PK\x03\x04", b"BZh", b"\xfd7zXZ")):
        raise UnsupportedLayerError(f"layer {digest} is neither a tar archive nor gzip- or zstd-compressed")
    else:
        output = source
    for out in output:
        stats.bytes_out += len(out)
        if stats.bytes_out > limits.max_layer_bytes:
            raise LayerRejectedError(
                f"layer {digest} expands beyond {limits.max_layer_bytes} bytes (limit max_layer_bytes)"
            )
        if stats.bytes_out > limits.ratio_grace_bytes:
            ratio = stats.bytes_out / max(1, stats.bytes_in)
            if ratio > limits.max_compression_ratio:
                raise LayerRejectedError(
                    f"layer {digest} looks like a decompression bomb: {ratio:.0f}x expansion "
                    f"(limit max_compression_ratio={limits.max_compression_ratio:g})"
                )
        yield out


def _counted(first: bytes, rest: Iterator[bytes], stats: StreamStats) -> Iterator[bytes]:
    """The compressed bytes in pieces of at least BATCH bytes: each inflate call releases and
    re-takes the GIL, and with several layers in flight re-taking it is what costs."""
    pending = [first] if first else []
    size = len(first)
    for chunk in rest:
        pending.append(chunk)
        size += len(chunk)
        if size >= BATCH:
            stats.bytes_in += size
            yield b"".join(pending)
            pending, size = [], 0
    if pending:
        stats.bytes_in += size
        yield b"".join(pending)


def _gunzip(source: Iterator[bytes]) -> Iterator[bytes]:
    """Inflate (possibly multi-member) gzip; trailing zero padding is ignored like gzip(1)."""
    inflater = isal_zlib.decompressobj(wbits=31)
    member_open = False
    for data in source:
        while data:
            member_open = True
            try:
                out = inflater.decompress(data, SLICE)
            except isal_zlib.error as exc:
                raise LayerRejectedError(f"layer is not valid gzip: {exc}") from None
            if out:
                yield out
            data = inflater.unconsumed_tail
            while len(out) == SLICE and not data and not inflater.eof:
                out = inflater.decompress(b"", SLICE)  # drain output zlib still holds
                if out:
                    yield out
            if inflater.eof:
                data = inflater.unused_data + data
                inflater = isal_zlib.decompressobj(wbits=31)
                member_open = False
                if data and not data.startswith(GZIP_MAGIC[: len(data)]):
                    for _ in source:  # padding: read on so the blob digest still gets checked
                        pass
                    return
    if member_open:
        raise LayerRejectedError("layer is truncated: its gzip stream ends early")


def _unzstd(source: Iterator[bytes], max_window: int) -> Iterator[bytes]:
    """A frame asking for a larger window than ``max_window`` is refused (the window is memory
    the decompressor must hold: up to 2 GiB by the format, more than a worker has)."""
    reader = zstandard.ZstdDecompressor(max_window_size=max_window).stream_reader(
        _IterFile(source), read_size=SLICE, read_across_frames=True, closefd=False
    )
    try:
        while out := reader.read(SLICE):
            yield out
    except zstandard.ZstdError as exc:
        raise LayerRejectedError(f"layer is not valid zstd: {exc}") from None
