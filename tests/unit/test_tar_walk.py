"""The tar walker's fast paths must not change what it finds.

The header parser, checksum and analyzer pre-filter were rewritten for speed
(tests/bench/bench_scan.py); these tests hold them to the slow, obvious definitions:
``tarfile`` for headers and each analyzer's own ``wants`` for file selection.
"""

from __future__ import annotations

import io
import tarfile

import pytest
from hypothesis import given
from hypothesis import strategies as st
from quaywatch.image.errors import LayerRejectedError
from quaywatch.image.tarstream import ByteFeed, TarStream
from quaywatch.inventory.analyzers import default_analyzers
from quaywatch.inventory.analyzers.base import Analyzer
from quaywatch.inventory.analyzers.index import AnalyzerIndex
from quaywatch.inventory.analyzers.python import PythonPackageAnalyzer

# Paths the analyzers read, and near misses, from the layouts of real images.
SAMPLE_PATHS = [
    "etc/os-release", "usr/lib/os-release", "etc/alpine-release", "etc/debian_version",
    "etc/redhat-release", "opt/etc/os-release", "var/lib/dpkg/status", "var/lib/dpkg/status-old",
    "var/lib/dpkg/status.d/libssl3", "var/lib/dpkg/status.d/libssl3.md5sums", "srv/status",
    "lib/apk/db/installed", "etc/apk/repositories", "var/lib/rpm/rpmdb.sqlite",
    "usr/lib/sysimage/rpm/rpmdb.sqlite", "var/lib/rpm/Packages", "var/lib/rpm/Packages.db",
    "usr/lib/python3.11/site-packages/requests-2.31.0.dist-info/METADATA",
    "usr/lib/python3/dist-packages/six-1.16.0.egg-info",
    "usr/lib/python3/dist-packages/PyYAML-6.0.egg-info/PKG-INFO", "home/METADATA",
    "app/node_modules/express/package.json", "app/node_modules/@types/node/package.json",
    "app/package.json", "opt/app/lib/guava-32.1.jar", "srv/ROOT.war", "usr/bin/kubectl",
    "usr/lib/x86_64-linux-gnu/libc.so.6", "usr/share/doc/openssl/copyright",
]


class EverythingAnalyzer(Analyzer):
    """An analyzer that declares no interest: it must still be offered every file."""

    name = "everything"

    def wants(self, path: str, executable: bool) -> bool:
        return path.endswith("copyright")

    def analyze(self, path, stream, size):
        return None


@pytest.mark.parametrize("path", SAMPLE_PATHS)
@pytest.mark.parametrize("executable", [False, True])
def test_the_index_offers_every_file_an_analyzer_wants(path: str, executable: bool):
    analyzers = [*default_analyzers(), EverythingAnalyzer()]
    directory, _, base = path.rpartition("/")
    offered = AnalyzerIndex(analyzers).candidates(directory, base, executable)
    wanted = [a for a in analyzers if a.wants(path, executable)]
    assert [a for a in offered if a in wanted] == wanted  # nothing missed, order kept


def test_the_index_dismisses_files_nobody_declared():
    index = AnalyzerIndex(default_analyzers())
    assert index.candidates("usr/lib/x86_64-linux-gnu", "libc.so.6", False) == ()
    assert [a.name for a in index.candidates("usr/bin", "kubectl", True)] == ["golang"]


def _tar(names: list[str], fmt: int) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as archive:
        for number, name in enumerate(names):
            info = tarfile.TarInfo(name)
            info.size, info.mode = number % 7, 0o755 if number % 2 else 0o644
            archive.addfile(info, io.BytesIO(b"x" * info.size))
    return buffer.getvalue()


_NAMES = st.lists(
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x2FF, exclude_characters="/\\"), min_size=1, max_size=40)
    .map(lambda s: "dir/" + s) | st.just("d/" * 70 + "long-name"),
    min_size=1, max_size=8, unique=True,
)


@given(_NAMES, st.sampled_from([tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]))
def test_headers_read_as_tarfile_reads_them(names: list[str], fmt: int):
    data = _tar(names, fmt)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        expected = [(m.name, m.size, m.mode) for m in archive]
    stream = TarStream(ByteFeed(iter([data])), "sha256:t", 1 << 30)
    assert [(e.name, e.size, e.mode) for e, _ in stream.entries()] == expected


def test_signed_header_checksums_of_old_writers_are_accepted():
    header = bytearray(_tar(["caf\u00e9"], tarfile.GNU_FORMAT)[:512])
    header[148:156] = b" " * 8
    signed = sum(b - 256 if b > 127 else b for b in header)
    header[148:156] = b"%06o\0 " % signed
    entries = list(TarStream(ByteFeed(iter([bytes(header) + bytes(1024)])), "sha256:t", 1 << 30).entries())
    assert [e.name for e, _ in entries] == ["caf\u00e9"]


def test_a_header_with_a_wrong_checksum_is_refused():
    header = bytearray(_tar(["a"], tarfile.USTAR_FORMAT)[:512])
    header[0] = ord("b")
    with pytest.raises(LayerRejectedError, match="bad header checksum"):
        list(TarStream(ByteFeed(iter([bytes(header)])), "sha256:t", 1 << 30).entries())


def test_gnu_headers_do_not_borrow_a_name_prefix():
    """GNU tar stores access and change times where POSIX keeps the name prefix."""
    header = bytearray(_tar(["name"], tarfile.GNU_FORMAT)[:512])
    header[345:357] = b"14531677320\0"  # an atime, as `tar --incremental` writes
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    entries = list(TarStream(ByteFeed(iter([bytes(header) + bytes(1024)])), "sha256:t", 1 << 30).entries())
    assert [e.name for e, _ in entries] == ["name"]


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ("Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nSummary: HTTP\n\nName: not-me\n", ("requests", "2.31.0")),
        ("Metadata-Version: 1.0\nLicense: MIT\n   Name: folded-not-a-field\nName:  six \nVersion: 1.16.0", ("six", "1.16.0")),
        ("Metadata-Version: 2.1\nName: half\n\nVersion: 1.0\n", None),
    ],
)
def test_python_core_metadata_fields(metadata: str, expected: tuple[str, str] | None):
    data = metadata.encode()
    findings = PythonPackageAnalyzer().analyze("x/site-packages/p.dist-info/METADATA", io.BytesIO(data), len(data))
    if expected is None:
        assert findings.packages == [] and "no Name/Version" in findings.warnings[0]
    else:
        assert [(p.name, p.version) for p in findings.packages] == [expected]
