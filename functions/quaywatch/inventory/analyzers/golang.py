"""Go binaries: module versions and toolchain version from the embedded build info.

Go (1.18+) writes a ``\\xff Go buildinf:`` header followed by two varint-prefixed strings,
the toolchain version and the module info (``go version -m`` prints the same). The header
is found by streaming the executable in chunks, so a large binary is never held in memory.
"""

from __future__ import annotations

from typing import BinaryIO

from quaywatch.inventory.analyzers.base import Analyzer, Interest
from quaywatch.inventory.models import FileFindings, Package

BUILDINFO_MAGIC = b"\xff Go buildinf:"
_HEADER_SIZE = 32
_FLAG_VERSION_INLINE = 0x2
_CHUNK = 1 << 20
_MAX_INFO = 1 << 20
_ELF_MAGIC = b"\x7fELF"
_SENTINEL_LENGTH = 16


class GoBinaryAnalyzer(Analyzer):
    name = "golang"
    version = 1
    interest = Interest(executables=True)
    max_file_bytes = 2 << 30
    streams = True  # read in chunks, never kept whole

    def wants(self, path: str, executable: bool) -> bool:
        return executable

    def analyze(self, path: str, stream: BinaryIO, size: int) -> FileFindings | None:
        if stream.read(4) != _ELF_MAGIC:
            return None
        found = _find_buildinfo(stream)
        if found is None:
            return None
        if found == b"":
            return FileFindings(
                analyzer=self.name,
                warnings=[f"{path}: Go binary built before Go 1.18; its modules are not read"],
            )
        return _parse_buildinfo(found, path)


def _find_buildinfo(stream: BinaryIO) -> bytes | None:
    """The bytes from the build-info header on (up to what parsing needs), b"" for the
    pre-1.18 pointer format, or None when the file has no build info."""
    window = b""
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            return None
        window = window[-(len(BUILDINFO_MAGIC) - 1) :] + chunk if window else chunk
        at = window.find(BUILDINFO_MAGIC)
        if at >= 0:
            info = window[at:]
            while len(info) < _HEADER_SIZE + 2 * 10 or not _complete(info):
                more = stream.read(_CHUNK)
                if not more or len(info) > _MAX_INFO:
                    break
                info += more
            if len(info) < _HEADER_SIZE:
                return None
            if info[15] & _FLAG_VERSION_INLINE == 0:
                return b""
            return info


def _complete(info: bytes) -> bool:
    try:
        _, offset = _read_string(info, _HEADER_SIZE)
        _read_string(info, offset)
        return True
    except IndexError:
        return False


def _read_varint(data: bytes, offset: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, offset
        shift += 7
        if shift > 63:
            raise ValueError("varint overflow")


def _read_string(data: bytes, offset: int) -> tuple[bytes, int]:
    length, offset = _read_varint(data, offset)
    if offset + length > len(data):
        raise IndexError("string runs past the data")
    return data[offset : offset + length], offset + length


def _parse_buildinfo(info: bytes, path: str) -> FileFindings:
    try:
        version_raw, offset = _read_string(info, _HEADER_SIZE)
        modinfo_raw, _ = _read_string(info, offset)
    except (IndexError, ValueError):
        return FileFindings(analyzer="golang", warnings=[f"{path}: truncated Go build info"])
    modinfo = modinfo_raw
    if len(modinfo) >= 2 * _SENTINEL_LENGTH + 1 and modinfo[-_SENTINEL_LENGTH - 1 : -_SENTINEL_LENGTH] == b"\n":
        modinfo = modinfo[_SENTINEL_LENGTH:-_SENTINEL_LENGTH]
    toolchain = version_raw.decode("utf-8", errors="replace")
    packages: list[Package] = []
    if toolchain.startswith("go"):
        packages.append(_module("stdlib", toolchain[2:].split(" ")[0].split("-")[0], path))
    last_dep: Package | None = None
    for line in modinfo.decode("utf-8", errors="replace").splitlines():
        fields = line.split("\t")
        kind = fields[0]
        if kind in ("mod", "dep") and len(fields) >= 3:
            if fields[2] in ("", "(devel)"):
                last_dep = None
                continue
            last_dep = _module(fields[1], fields[2], path)
            packages.append(last_dep)
        elif kind == "=>" and len(fields) >= 3 and last_dep is not None:
            # A replace directive: the code really built in is the replacement.
            packages[packages.index(last_dep)] = _module(fields[1], fields[2] or last_dep.version, path)
            last_dep = None
    return FileFindings(analyzer="golang", packages=packages, facts={"go_version": toolchain})


def _module(module_path: str, version: str, declared_by: str) -> Package:
    namespace, _, name = module_path.rpartition("/")
    return Package(type="golang", namespace=namespace or None, name=name, version=version, path=declared_by)
