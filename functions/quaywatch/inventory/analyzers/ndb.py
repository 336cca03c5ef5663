"""Package blobs of an rpm NDB database (``Packages.db``), read from bytes in memory.

SUSE Linux Enterprise 15, openSUSE and their BCI images keep the rpm database in rpm's own
"ndb" format. Its layout (rpm's ``lib/backend/ndb/rpmpkg.c``; all numbers little-endian):

- a 32-byte header: magic ``RpmP``, version 0, generation, number of slot pages, next index;
- the slot pages, 4 KiB each, right after it (the first page shares its start with the
  header): 16-byte slots ``Slot``, package index, block offset, block count; a slot whose
  block offset is 0 is free;
- the blobs, each at its slot's block offset times 16: a head (``BlbS``, package index,
  timestamp, blob length), the blob (an rpm header, as in the sqlite and Berkeley DB
  databases), zero padding to the block size and a tail (Adler-32 of head, blob and padding,
  blob length, ``BlbE``).

The file comes from an untrusted image: every offset, count and length is checked against
the file and each blob's checksum is verified, as rpm does before it trusts a blob.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

HEADER_MAGIC = b"RpmP"
SLOT_MAGIC = b"Slot"
BLOB_HEAD_MAGIC = b"BlbS"
BLOB_TAIL_MAGIC = b"BlbE"
HEADER_SIZE = 32
PAGE_SIZE = 4096
SLOT_SIZE = 16
BLOCK_SIZE = 16
BLOB_HEAD_SIZE = 16
BLOB_TAIL_SIZE = 12
MAX_SLOT_PAGES = 2048  # 522,000 packages; rpm itself has no limit, a sane reader needs one
_FIELDS = struct.Struct("<4sIII")  # magic, then three numbers: the shape of slots and blob heads
_TAIL = struct.Struct("<II4s")  # adler32, blob length, magic


class NdbError(ValueError):
    """The data is not a readable rpm NDB database."""


def is_ndb(data: bytes) -> bool:
    """Whether ``data`` starts with an NDB header of the one version that exists."""
    return len(data) >= HEADER_SIZE and data[:4] == HEADER_MAGIC


def package_blobs(data: bytes) -> Iterator[bytes]:
    """The blob of every used slot, in slot order."""
    if not is_ndb(data):
        raise NdbError("not an rpm NDB database (no RpmP header)")
    version, _generation, slot_pages, _next_index = struct.unpack_from("<IIII", data, 4)
    if version != 0:
        raise NdbError(f"NDB version {version} is not supported (only 0 exists)")
    if not 0 < slot_pages <= MAX_SLOT_PAGES:
        raise NdbError(f"implausible number of slot pages: {slot_pages}")
    if len(data) % BLOCK_SIZE or len(data) < slot_pages * PAGE_SIZE:
        raise NdbError(f"truncated: {len(data)} bytes for {slot_pages} slot pages")
    first_blob_block = slot_pages * PAGE_SIZE // BLOCK_SIZE
    file_blocks = len(data) // BLOCK_SIZE
    for offset in range(HEADER_SIZE, slot_pages * PAGE_SIZE, SLOT_SIZE):
        magic, index, block, blocks = _FIELDS.unpack_from(data, offset)
        if magic != SLOT_MAGIC:
            raise NdbError(f"bad slot magic at byte {offset}")
        if block == 0:
            continue  # a free slot
        if index == 0 or blocks == 0 or block < first_blob_block or block + blocks > file_blocks:
            raise NdbError(f"slot at byte {offset} points outside the blob area")
        yield _blob(data, index, block, blocks)


def _blob(data: bytes, index: int, block: int, blocks: int) -> bytes:
    start, end = block * BLOCK_SIZE, (block + blocks) * BLOCK_SIZE
    magic, head_index, _timestamp, length = _FIELDS.unpack_from(data, start)
    if magic != BLOB_HEAD_MAGIC or head_index != index:
        raise NdbError(f"package {index}: no blob where its slot points")
    if blocks != -(-(BLOB_HEAD_SIZE + length + BLOB_TAIL_SIZE) // BLOCK_SIZE):
        raise NdbError(f"package {index}: blob of {length} bytes does not fill its {blocks} blocks")
    checksum, tail_length, tail_magic = _TAIL.unpack_from(data, end - BLOB_TAIL_SIZE)
    if tail_magic != BLOB_TAIL_MAGIC or tail_length != length:
        raise NdbError(f"package {index}: blob tail does not match its head")
    if zlib.adler32(memoryview(data)[start : end - BLOB_TAIL_SIZE]) != checksum:
        raise NdbError(f"package {index}: blob checksum mismatch")
    return data[start + BLOB_HEAD_SIZE : start + BLOB_HEAD_SIZE + length]
