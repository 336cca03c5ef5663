"""Values of a Berkeley DB hash database, read from bytes in memory.

RHEL 7 and 8, CentOS 7 and 8 and their UBI images keep the rpm database in
``var/lib/rpm/Packages``: a Berkeley DB (libdb 5.3) hash file whose values are rpm header
blobs. Only what reading the values needs is implemented (layout from libdb's
``dbinc/db_page.h``): the hash meta page gives byte order, page size and page count; hash
pages hold key/data item pairs, each data item either inline (``H_KEYDATA``) or on a chain of
overflow pages (``H_OFFPAGE``). The file comes from an untrusted image: every page number,
offset and length is checked, and overflow chains cannot loop.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

HASH_MAGIC = 0x061561
_MAGIC_BYTES = {struct.pack("<I", HASH_MAGIC): "<", struct.pack(">I", HASH_MAGIC): ">"}  # -> byte order
_PAGE_HEADER = 26  # lsn 8, pgno 4, prev 4, next 4, entries 2, hf_offset 2, level 1, type 1
_P_HASH_UNSORTED = 2
_P_OVERFLOW = 7
_P_HASHMETA = 8
_P_HASH = 13
_H_KEYDATA = 1
_H_OFFPAGE = 3


class BerkeleyDbError(ValueError):
    """The data is not a readable Berkeley DB hash database."""


def is_hash_database(data: bytes) -> bool:
    """Whether ``data`` starts with a Berkeley DB hash meta page (either byte order)."""
    return len(data) >= 512 and data[12:16] in _MAGIC_BYTES


def hash_values(data: bytes) -> Iterator[bytes]:
    """Every data item of the hash database in ``data``, in page order."""
    if not is_hash_database(data):
        raise BerkeleyDbError("not a Berkeley DB hash database")
    order = _MAGIC_BYTES[data[12:16]]
    page_size, encryption, page_type = struct.unpack_from(order + "IBB", data, 20)
    (last_page,) = struct.unpack_from(order + "I", data, 32)
    if page_type != _P_HASHMETA:
        raise BerkeleyDbError(f"page 0 is of type {page_type}, not a hash meta page")
    if encryption:
        raise BerkeleyDbError("the database is encrypted")
    if page_size < 512 or page_size > 65536 or page_size & (page_size - 1):
        raise BerkeleyDbError(f"implausible page size {page_size}")
    if (last_page + 1) * page_size > len(data):
        raise BerkeleyDbError(f"truncated: {last_page + 1} pages of {page_size} bytes announced, {len(data)} bytes present")
    reader = _Pages(data, order, page_size, last_page)
    for number in range(1, last_page + 1):
        page = reader.page(number)
        if page.type not in (_P_HASH, _P_HASH_UNSORTED):
            continue
        yield from reader.data_items(page)


class _Page:
    __slots__ = ("entries", "free_offset", "next", "number", "start", "type")

    def __init__(self, number: int, start: int, fields: tuple[int, int, int, int]) -> None:
        self.number = number
        self.start = start
        self.next, self.entries, self.free_offset, self.type = fields


class _Pages:
    def __init__(self, data: bytes, order: str, page_size: int, last_page: int) -> None:
        self._data = data
        self._order = order
        self._size = page_size
        self._last = last_page
        self._header = struct.Struct(order + "IHH1xB")  # next pgno, entries, hf_offset, type

    def page(self, number: int) -> _Page:
        if not 0 < number <= self._last:
            raise BerkeleyDbError(f"page number {number} is out of range")
        start = number * self._size
        return _Page(number, start, self._header.unpack_from(self._data, start + 16))

    def data_items(self, page: _Page) -> Iterator[bytes]:
        """The data items of a hash page (items alternate key, data)."""
        if _PAGE_HEADER + 2 * page.entries > self._size:
            raise BerkeleyDbError(f"page {page.number} announces {page.entries} items, more than fit")
        offsets = struct.unpack_from(f"{self._order}{page.entries}H", self._data, page.start + _PAGE_HEADER)
        for index in range(1, page.entries, 2):
            offset = offsets[index]
            end = offsets[index - 1]  # items grow down from the page end
            if not _PAGE_HEADER < offset < end <= self._size:
                raise BerkeleyDbError(f"page {page.number} item {index} has a bad offset")
            kind = self._data[page.start + offset]
            if kind == _H_KEYDATA:
                yield self._data[page.start + offset + 1 : page.start + end]
            elif kind == _H_OFFPAGE:
                first, length = struct.unpack_from(self._order + "II", self._data, page.start + offset + 4)
                yield self._overflow(first, length)
            else:
                raise BerkeleyDbError(f"page {page.number} item {index} is of unsupported kind {kind} (duplicates)")

    def _overflow(self, first: int, length: int) -> bytes:
        """The value spread over a chain of overflow pages; ``hf_offset`` is the data on each."""
        if length > len(self._data):
            raise BerkeleyDbError(f"an overflow value claims {length} bytes, more than the file")
        parts: list[bytes] = []
        collected = 0
        number = first
        visited: set[int] = set()
        while number != 0 and collected < length:
            if number in visited:
                raise BerkeleyDbError(f"the overflow chain from page {first} loops back to page {number}")
            visited.add(number)
            page = self.page(number)
            if page.type != _P_OVERFLOW:
                raise BerkeleyDbError(f"page {number} of an overflow chain is of type {page.type}")
            size = page.free_offset
            if size > self._size - _PAGE_HEADER:
                raise BerkeleyDbError(f"overflow page {number} claims {size} bytes")
            parts.append(self._data[page.start + _PAGE_HEADER : page.start + _PAGE_HEADER + size])
            collected += size
            number = page.next
        value = b"".join(parts)
        if len(value) != length:
            raise BerkeleyDbError(f"an overflow value holds {len(value)} bytes, not the {length} announced")
        return value
