"""The C accelerator of the tar walk (quaywatch/image/_tarskip.c) must not change anything.

It steps over entries no analyzer wants; these tests hold it to the pure-Python walk on the
same input: the same layer analysis, the same entry count, the same refusal with the same
message, for generated archives (plain, PAX and GNU headers, links, devices, whiteouts, odd
names, wanted and unwanted files), for arbitrary damage to their bytes and for truncation,
with the stream cut into chunks at arbitrary places so that headers and file data straddle
chunk ends.
"""

from __future__ import annotations

import io
import tarfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from quaywatch.image import decompress
from quaywatch.image.errors import LayerRejectedError
from quaywatch.image.layer import analyze_layer
from quaywatch.image.limits import ScanLimits
from quaywatch.image.tarstream import ByteFeed, SkipRule, TarStream
from quaywatch.inventory.analyzers import default_analyzers
from quaywatch.inventory.analyzers.index import AnalyzerIndex

from tests.support import fixtures

pytest.importorskip("quaywatch.image._tarskip", reason="the C accelerator was not built (no compiler)")

ANALYZERS = default_analyzers()
NAMES = st.sampled_from([
    "usr/lib/libx.so.1", "usr/bin/tool", "etc/os-release", "var/lib/dpkg/status", "lib/apk/db/installed",
    "app/node_modules/m/package.json", "site-packages/p-1.0.dist-info/METADATA", "opt/a.jar",
    "var/lib/dpkg/status.d/libssl3", "usr/share/doc/x/copyright", "./usr/lib/dot", "usr//lib/double",
    "usr/lib/.hidden", "usr/lib/.wh.libgone.so", "usr/.wh..wh..opq", "../escape", "a\\b", "dir/", "/abs/path",
    "x" * 99, "y/" * 60 + "deep", "ünïcode/fïle", "usr/lib/" + "long" * 40,
])
ENTRIES = st.lists(st.tuples(
    NAMES,
    st.sampled_from([tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE,
                     tarfile.CHRTYPE, tarfile.FIFOTYPE, tarfile.CONTTYPE]),
    st.integers(0, 3000),
    st.sampled_from([0o644, 0o755, 0o600]),
), max_size=25)


def _tar(entries, fmt) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as archive:
        for name, kind, size, mode in entries:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = kind, mode, 0
            if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                info.linkname = "etc/os-release"
            data = fixtures.DEBIAN_OS_RELEASE.encode() if name == "etc/os-release" else bytes([65 + size % 26]) * size
            if info.isreg():
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            else:
                archive.addfile(info)
    return buffer.getvalue()


def _outcome(blob: bytes, accelerated: bool, limits: ScanLimits):
    try:
        return analyze_layer("sha256:t", iter([blob]), ANALYZERS, limits, accelerated=accelerated)
    except LayerRejectedError as exc:
        return ("refused", str(exc))


@pytest.fixture(params=["small chunks", "one chunk"])
def small_chunks(request, monkeypatch):
    """Inflate and batch in pieces of a few hundred bytes, so that headers and files straddle
    chunk ends, or in the usual 1 MiB pieces (a test archive is then one chunk)."""
    if request.param == "small chunks":
        monkeypatch.setattr(decompress, "SLICE", 700)
        monkeypatch.setattr(decompress, "BATCH", 300)


def _same(blob: bytes, limits: ScanLimits | None = None) -> None:
    limits = limits or ScanLimits()
    assert _outcome(blob, True, limits) == _outcome(blob, False, limits)


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(entries=ENTRIES, fmt=st.sampled_from([tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT]))
def test_generated_archives_give_the_same_analysis(small_chunks, entries, fmt) -> None:
    try:
        blob = _tar(entries, fmt)
    except ValueError:  # a name the format cannot hold (ustar): nothing to compare
        return
    _same(blob)


@SETTINGS
@given(entries=ENTRIES, damage=st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1, max_size=6))
def test_damaged_archives_give_the_same_analysis_or_refusal(small_chunks, entries, damage) -> None:
    blob = bytearray(_tar(entries, tarfile.GNU_FORMAT))
    for offset, value in damage:
        if blob:
            blob[offset % len(blob)] = value
    _same(bytes(blob))


@SETTINGS
@given(entries=ENTRIES, cut=st.integers(0, 1 << 16))
def test_truncated_archives_give_the_same_refusal(small_chunks, entries, cut) -> None:
    blob = _tar(entries, tarfile.PAX_FORMAT)
    _same(blob[: cut % (len(blob) + 1)])


def test_limits_are_applied_to_skipped_entries_too(small_chunks) -> None:
    blob = _tar([(f"usr/lib/lib{n}.so", tarfile.REGTYPE, 100, 0o644) for n in range(50)], tarfile.PAX_FORMAT)
    for limits in (ScanLimits(max_members=20), ScanLimits(max_member_bytes=99)):
        refused = _outcome(blob, True, limits)
        assert refused == _outcome(blob, False, limits) and refused[0] == "refused"


def test_unwanted_entries_are_skipped_in_c_and_still_counted() -> None:
    blob = _tar([(f"usr/lib/lib{n}.so", tarfile.REGTYPE, 100, 0o644) for n in range(50)]
                + [("etc/os-release", tarfile.REGTYPE, 0, 0o644)], tarfile.PAX_FORMAT)
    stream = TarStream(ByteFeed(iter([blob])), "sha256:t", 1 << 30, SkipRule(AnalyzerIndex(ANALYZERS).wanted))
    yielded = [entry.name for entry, _ in stream.entries()]
    assert yielded == ["etc/os-release"] and stream.skipped == 50
    assert analyze_layer("sha256:t", iter([blob]), ANALYZERS, ScanLimits()).file_count == 51
