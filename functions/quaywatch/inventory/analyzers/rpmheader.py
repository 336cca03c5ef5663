"""Decoding of RPM header blobs, the records every rpm database backend stores.

Layout (rpm's ``lib/header.c``): two big-endian int32 (index entry count, data length),
that many 16-byte index entries (tag, type, offset, count), then the data store. Headers
come from untrusted images, so every count and offset is checked before it is used.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

TAG_NAME = 1000
TAG_VERSION = 1001
TAG_RELEASE = 1002
TAG_EPOCH = 1003
TAG_ARCH = 1022
TAG_SOURCERPM = 1044
TAG_VENDOR = 1011

_TYPE_INT32 = 4
_TYPE_STRING = 6
_TYPE_STRING_ARRAY = 8
_TYPE_I18NSTRING = 9
_MAX_ENTRIES = 0xFFFF
_MAX_DATA = 256 << 20
_WANTED = {TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_EPOCH, TAG_ARCH, TAG_SOURCERPM, TAG_VENDOR}


class RpmHeaderError(ValueError):
    """A header blob is malformed."""


@dataclass(frozen=True, slots=True)
class RpmHeader:
    name: str
    version: str
    release: str
    epoch: int | None
    arch: str | None
    source_rpm: str | None
    vendor: str | None


def parse_header(blob: bytes) -> RpmHeader:
    """Decode the tags quaywatch needs from one header blob."""
    if len(blob) < 8:
        raise RpmHeaderError("header shorter than its preamble")
    count, data_length = struct.unpack_from(">ii", blob, 0)
    if not (0 < count <= _MAX_ENTRIES) or not (0 <= data_length <= _MAX_DATA):
        raise RpmHeaderError(f"implausible header sizes ({count} entries, {data_length} bytes)")
    data_start = 8 + 16 * count
    if data_start + data_length > len(blob):
        raise RpmHeaderError("header truncated")
    data = memoryview(blob)[data_start : data_start + data_length]
    values: dict[int, str | int] = {}
    for index in range(count):
        tag, kind, offset, items = struct.unpack_from(">iIiI", blob, 8 + 16 * index)
        if tag not in _WANTED:
            continue
        if offset < 0 or offset >= data_length:
            raise RpmHeaderError(f"tag {tag} points outside the data store")
        if kind in (_TYPE_STRING, _TYPE_I18NSTRING, _TYPE_STRING_ARRAY):
            end = bytes(data[offset:]).find(b"\0")
            if end < 0:
                raise RpmHeaderError(f"tag {tag} string is not terminated")
            values[tag] = bytes(data[offset : offset + end]).decode("utf-8", errors="replace")
        elif kind == _TYPE_INT32 and items >= 1:
            if offset + 4 > data_length:
                raise RpmHeaderError(f"tag {tag} integer is truncated")
            values[tag] = struct.unpack_from(">i", data, offset)[0]
    name, version, release = values.get(TAG_NAME), values.get(TAG_VERSION), values.get(TAG_RELEASE)
    if not isinstance(name, str) or not isinstance(version, str) or not isinstance(release, str):
        raise RpmHeaderError("header lacks name, version or release")
    epoch = values.get(TAG_EPOCH)
    return RpmHeader(
        name=name,
        version=version,
        release=release,
        epoch=epoch if isinstance(epoch, int) else None,
        arch=_text(values.get(TAG_ARCH)),
        source_rpm=_text(values.get(TAG_SOURCERPM)),
        vendor=_text(values.get(TAG_VENDOR)),
    )


def _text(value: str | int | None) -> str | None:
    return value if isinstance(value, str) and value else None
