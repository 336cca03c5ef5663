"""A lean streaming tar reader for layer analysis.

Python's ``tarfile`` in stream mode re-buffers every byte it skips; for layers of tens of
thousands of files that cost more than decompressing them (measured in tests/bench). This
reader walks the headers (ustar, PAX ``x`` records, GNU long names) and skips file data by
moving a cursor over the decompressed chunks, copying only the files an analyzer reads.
Headers are checksummed and sizes bounded: the input is hostile.

Entries that nobody reads can be stepped over in C (``_tarskip.c``, built when a compiler is
at hand): that code only skips plain entries and hands anything unusual back to this module,
so results and refusals are the same with it and without it (tests/unit/test_tar_skip.py).
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from quaywatch.image.errors import LayerRejectedError

if TYPE_CHECKING:
    from quaywatch.inventory.analyzers.base import Interest

try:
    from quaywatch.image._tarskip import skip_boring as _skip_boring
except ImportError:  # built without a C compiler: every entry is walked here
    _skip_boring = None

BLOCK = 512
_ZERO_BLOCK = bytes(BLOCK)
REGULAR = frozenset({b"0", b"\0", b"7"})
HARDLINK = b"1"
SYMLINK = b"2"
DIRECTORY = b"5"
_LINKS = frozenset({HARDLINK, SYMLINK})
_MAX_META = 1 << 20  # PAX and GNU long-name records
_POSIX_MAGIC = b"ustar\0"  # GNU headers say b"ustar " and have no name prefix
# name, mode, (uid, gid), size, (mtime), checksum, type flag, link name, magic
_HEADER = struct.Struct("100s8s16x12s12x8sc100s6s")


class ByteFeed:
    """A cursor over a stream of byte chunks: take a few bytes, or skip many cheaply."""

    __slots__ = ("_buffer", "_chunks", "_position")

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""
        self._position = 0

    def take(self, count: int) -> bytes:
        """Up to ``count`` bytes (fewer only at the end of the stream)."""
        end = self._position + count
        if end <= len(self._buffer):
            data = self._buffer[self._position : end]
            self._position = end
            return data
        parts = [self._buffer[self._position :]]
        needed = count - len(parts[0])
        self._buffer, self._position = b"", 0
        while needed > 0:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            if len(chunk) > needed:
                parts.append(chunk[:needed])
                self._buffer, self._position = chunk, needed
                break
            parts.append(chunk)
            needed -= len(chunk)
        return b"".join(parts)

    def skip(self, count: int) -> None:
        """Move ``count`` bytes ahead; raises EOFError if the stream ends first."""
        available = len(self._buffer) - self._position
        if count <= available:
            self._position += count
            return
        count -= available
        self._buffer, self._position = b"", 0
        while count > 0:
            chunk = next(self._chunks, None)
            if chunk is None:
                raise EOFError
            if len(chunk) > count:
                self._buffer, self._position = chunk, count
                return
            count -= len(chunk)

    def window(self) -> tuple[bytes, int]:
        """The buffer at hand and the cursor in it, for a walker that moves the cursor itself."""
        return self._buffer, self._position

    def fill(self) -> None:
        """Load the next chunk when the one at hand is used up (at the end it stays empty)."""
        if self._position >= len(self._buffer):
            self._buffer, self._position = next(self._chunks, b""), 0

    def seek_within(self, position: int) -> None:
        """Put the cursor at ``position`` of the buffer that ``window`` returned."""
        self._position = position

    def drain(self) -> None:
        """Consume the rest of the stream (so the blob's digest gets verified)."""
        self._buffer, self._position = b"", 0
        for _ in self._chunks:
            pass


@dataclass(slots=True)
class TarEntry:
    name: str
    kind: bytes
    size: int
    mode: int
    linkname: str

    @property
    def is_regular(self) -> bool:
        return self.kind in REGULAR


@dataclass(frozen=True, slots=True)
class SkipRule:
    """Which entries may be stepped over unseen: directories, symbolic links, devices and
    FIFOs with plain names, and regular files outside ``wanted`` (the analyzers' interests
    together; None when some analyzer wants to see every file, so no regular file is skipped)."""

    wanted: Interest | None


_SkipArguments = tuple[frozenset[str], frozenset[str], tuple[str, ...], bool, bool]


class EntryReader:
    """The data of the current entry as a file-like object (``read`` only)."""

    __slots__ = ("_feed", "remaining")

    def __init__(self, feed: ByteFeed, size: int) -> None:
        self._feed = feed
        self.remaining = size

    def read(self, count: int = -1) -> bytes:
        if count < 0 or count > self.remaining:
            count = self.remaining
        data = self._feed.take(count)
        if len(data) < count:
            raise EOFError
        self.remaining -= count
        return data


class TarStream:
    """Iterates the entries of a tar stream; data not read by the caller is skipped.

    With a ``skip`` rule (and the C accelerator built), entries the rule covers are not
    yielded at all; ``skipped`` counts them.
    """

    def __init__(self, feed: ByteFeed, digest: str, max_member_bytes: int, skip: SkipRule | None = None,
                 *, max_extension_bytes: int = 16 << 20, max_path_bytes: int = 4096) -> None:
        self._feed = feed
        self._digest = digest
        self._max_member = max_member_bytes
        self._max_extension_bytes = max_extension_bytes
        self._max_path = max_path_bytes
        self.extension_headers = 0  # PAX and GNU headers: they count as members too
        self.extension_bytes = 0
        self._current: EntryReader | None = None
        self._padding = 0
        self._skip_arguments = _skip_arguments(skip) if skip is not None and _skip_boring is not None else None
        self.skipped = 0

    def entries(self) -> Iterator[tuple[TarEntry, EntryReader]]:
        overrides: dict[str, str] = {}
        while True:
            self._finish_current()
            if self._skip_arguments is not None and not overrides:
                self._skip_unwanted(self._skip_arguments)
            block = self._feed.take(BLOCK)
            if not block or block == _ZERO_BLOCK:
                return  # end-of-archive marker (or an archive ending without one)
            if len(block) < BLOCK:
                raise LayerRejectedError(f"layer {self._digest} is truncated inside a tar header")
            entry = self._parse(block)
            if entry.kind in (b"x", b"L", b"K", b"g"):
                data = self._meta(entry)
                if entry.kind == b"x":
                    overrides.update(_pax_records(data, self._digest))
                elif entry.kind == b"L":
                    overrides["path"] = _text(data.split(b"\0", 1)[0])
                elif entry.kind == b"K":
                    overrides["linkpath"] = _text(data.split(b"\0", 1)[0])
                continue
            if overrides:
                entry.name = overrides.get("path", entry.name)
                entry.linkname = overrides.get("linkpath", entry.linkname)
                if "size" in overrides:
                    entry.size = self._check_size(int(overrides["size"]), entry.name)
                overrides = {}
            if len(entry.name) > self._max_path or len(entry.linkname) > self._max_path:
                raise LayerRejectedError(
                    f"layer {self._digest} has an entry name of {max(len(entry.name), len(entry.linkname))} "
                    f"characters (limit {self._max_path})")
            data_size = entry.size if entry.kind not in (DIRECTORY, SYMLINK, HARDLINK) else 0
            self._current = EntryReader(self._feed, data_size)
            self._padding = -data_size % BLOCK
            yield entry, self._current

    def _skip_unwanted(self, arguments: _SkipArguments) -> None:
        """Step over the entries that the rule covers, in C, chunk after chunk, up to the first
        entry it leaves to this class (or a header that straddles two chunks)."""
        assert _skip_boring is not None
        feed = self._feed
        while True:
            feed.fill()
            buffer, start = feed.window()
            position, skipped, pending = _skip_boring(buffer, start, self._max_member, *arguments)
            self.skipped += skipped
            feed.seek_within(position)
            if pending:  # the last skipped file goes on in the next chunks
                try:
                    feed.skip(pending)
                except EOFError:
                    raise LayerRejectedError(f"layer {self._digest} is truncated inside a file") from None
            elif not skipped or position < len(buffer):
                return

    def _finish_current(self) -> None:
        if self._current is None:
            return
        try:
            self._feed.skip(self._current.remaining + self._padding)
        except EOFError:
            raise LayerRejectedError(f"layer {self._digest} is truncated inside a file") from None
        self._current = None

    def _meta(self, entry: TarEntry) -> bytes:
        if entry.size > _MAX_META:
            raise LayerRejectedError(f"layer {self._digest} has an oversized tar extended header")
        self.extension_headers += 1
        self.extension_bytes += entry.size
        if self.extension_bytes > self._max_extension_bytes:
            raise LayerRejectedError(f"layer {self._digest} holds more than {self._max_extension_bytes >> 20} MiB "
                                     "of tar extension headers (limit max_extension_bytes)")
        data = self._feed.take(entry.size)
        if len(data) < entry.size:
            raise LayerRejectedError(f"layer {self._digest} is truncated")
        self._feed.skip(-entry.size % BLOCK)
        return data

    def _parse(self, block: bytes) -> TarEntry:
        # One struct call for all fields: this runs once per tar entry.
        name, mode, size_field, stored, kind, linkname, magic = _HEADER.unpack_from(block)
        try:
            checksum = _octal(stored)
            mode_bits = _octal(mode)
            if size_field[0] & 0x80:
                if size_field[0] == 0xFF:
                    raise LayerRejectedError(f"layer {self._digest} has an entry with a negative size")
                size = int.from_bytes(size_field[1:], "big")
            else:
                size = _octal(size_field)
        except ValueError:
            raise LayerRejectedError(f"layer {self._digest} is a corrupt tar archive (bad number field)") from None
        if checksum != _checksum(block) and checksum != _signed_checksum(block):
            raise LayerRejectedError(f"layer {self._digest} is a corrupt tar archive (bad header checksum)")
        name = name.partition(b"\0")[0]
        if block[345] and magic == _POSIX_MAGIC:  # GNU tar keeps other fields there
            name = block[345:500].partition(b"\0")[0] + b"/" + name
        text = _text(name)
        return TarEntry(
            name=text,
            kind=kind,
            size=self._check_size(size, text),
            mode=mode_bits,
            linkname=_text(linkname.partition(b"\0")[0]) if kind in _LINKS else "",
        )

    def _check_size(self, size: int, name: str) -> int:
        if size < 0 or size > self._max_member:
            raise LayerRejectedError(
                f"layer {self._digest} has an entry {name!r} of absurd size {size} bytes "
                f"(limit max_member_bytes={self._max_member})"
            )
        return size


def _skip_arguments(rule: SkipRule) -> _SkipArguments:
    """The rule as ``_tarskip.skip_boring`` takes it: base names, directories, suffixes, the
    executables flag, and whether regular files may be skipped at all."""
    wanted = rule.wanted
    if wanted is None:
        return frozenset(), frozenset(), (), False, False
    return wanted.basenames, wanted.directories, wanted.suffixes, wanted.executables, True


def _octal(field: bytes) -> int:
    """A NUL- or space-terminated octal header field; ValueError when it is not a number."""
    return int(field.partition(b"\0")[0].strip() or b"0", 8)


def _checksum(block: bytes) -> int:
    """The header checksum: the sum of its bytes, the checksum field counted as spaces.

    ``sum(block)`` costs about 2 µs per entry, a large share of walking a layer of small
    files. The low half of Adler-32 is 1 + the byte sum modulo 65521, which is the exact sum
    for 256 bytes (at most 65,280), so two halves give the sum at C speed.
    """
    view = memoryview(block)
    total = (zlib.adler32(view[:256]) & 0xFFFF) + (zlib.adler32(view[256:]) & 0xFFFF) - 2
    return total - sum(block[148:156]) + 8 * 32


def _signed_checksum(block: bytes) -> int:
    """The same sum with bytes taken as signed, as some old tar writers computed it."""
    return sum(b - 256 if b > 127 else b for b in block[:148] + b" " * 8 + block[156:])


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


# PAX keywords whose values are numbers (POSIX pax, "pax Extended Header"): a value that is
# not one refuses the layer, as GNU tar and libarchive refuse it.
_PAX_INTEGER = re.compile(r"^[0-9]{1,20}$")
_PAX_TIME = re.compile(r"^-?[0-9]{1,20}(?:\.[0-9]{1,9})?$")
_PAX_NUMERIC = {"size": _PAX_INTEGER, "uid": _PAX_INTEGER, "gid": _PAX_INTEGER,
                "mtime": _PAX_TIME, "atime": _PAX_TIME, "ctime": _PAX_TIME}


def _pax_records(data: bytes, digest: str = "") -> dict[str, str]:
    records: dict[str, str] = {}
    position = 0
    while position < len(data):
        space = data.find(b" ", position)
        if space < 0:
            break
        length_text = data[position:space]
        if not length_text.isdigit():
            raise LayerRejectedError(f"layer {digest} has a corrupt PAX header (record length)")
        length = int(length_text)
        if length <= space - position or position + length > len(data):
            raise LayerRejectedError(f"layer {digest} has a corrupt PAX header (record length)")
        record = data[space + 1 : position + length - 1]
        key, _, value = record.partition(b"=")
        name, text = _text(key), _text(value)
        pattern = _PAX_NUMERIC.get(name)
        if pattern is not None and not pattern.match(text):
            raise LayerRejectedError(f"layer {digest} has a PAX {name} that is not a number: {text[:40]!r}")
        records[name] = text
        position += length
    return records
