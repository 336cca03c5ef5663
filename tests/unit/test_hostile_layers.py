"""Hostile layers at scale: numeric PAX fields, extension headers, names and kept metadata
are bounded; each refusal is a LayerRejectedError (a permanent failure of the image, never a
retry) with one plain line; merging stays linear in files + whiteouts."""

from __future__ import annotations

import io
import tarfile
import tracemalloc

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st
from quaywatch.image.errors import LayerRejectedError
from quaywatch.image.layer import analyze_layer
from quaywatch.image.limits import ScanLimits
from quaywatch.image.merge import merge_layers
from quaywatch.inventory.analyzers import default_analyzers
from quaywatch.inventory.models import FileFindings, LayerAnalysis
from quaywatch.usecases.failures import is_transient

ANALYZERS = default_analyzers()


def analyze(blob: bytes | list[bytes], limits: ScanLimits | None = None):
    chunks = blob if isinstance(blob, list) else [blob[i : i + 65536] for i in range(0, len(blob), 65536)]
    return analyze_layer("sha256:hostile", iter(chunks), ANALYZERS, limits or ScanLimits())


def pax_tar(entries: list[tuple[str, dict[str, str], bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, headers, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.pax_headers = headers
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def raw_pax_record(key: str, value: str) -> bytes:
    """One record, with its length field computed as POSIX says (it counts itself)."""
    body = f" {key}={value}\n".encode()
    length = len(body) + 1
    while len(str(length)) + len(body) != length:
        length += 1
    return str(length).encode() + body


def header(name: str, size: int, kind: bytes) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.type = kind
    return info.tobuf(format=tarfile.USTAR_FORMAT)


def padded(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 512)


@pytest.mark.parametrize(("key", "value"), [("size", "12abc"), ("size", "-5"), ("size", "1e9"), ("uid", "root"),
                                            ("mtime", "yesterday"), ("gid", "9" * 40)])
def test_non_numeric_pax_fields_refuse_the_layer(key, value) -> None:
    record = raw_pax_record(key, value)
    blob = header("././@PaxHeader", len(record), tarfile.XHDTYPE) + padded(record) + header("etc/x", 0, tarfile.REGTYPE)
    with pytest.raises(LayerRejectedError, match=f"PAX {key} that is not a number") as refused:
        analyze(blob + b"\0" * 1024)
    assert not is_transient(refused.value)  # failed once, with its reason: never downloaded again


def test_corrupt_pax_record_lengths_refuse_the_layer() -> None:
    record = b"999 path=x\n"
    blob = header("././@PaxHeader", len(record), tarfile.XHDTYPE) + padded(record) + header("x", 0, tarfile.REGTYPE)
    with pytest.raises(LayerRejectedError, match="corrupt PAX header"):
        analyze(blob + b"\0" * 1024)


def test_extension_headers_count_as_members() -> None:
    record = raw_pax_record("comment", "x")
    blob = b"".join(header("././@PaxHeader", len(record), tarfile.XHDTYPE) + padded(record) for _ in range(5000))
    blob += header("etc/x", 0, tarfile.REGTYPE) + b"\0" * 1024
    with pytest.raises(LayerRejectedError, match="more than 10 entries"):
        analyze(blob, ScanLimits(max_members=10))


def test_extension_header_bytes_are_capped_and_memory_stays_flat() -> None:
    record = raw_pax_record("comment", "c" * 4000)
    one = header("././@PaxHeader", len(record), tarfile.XHDTYPE) + padded(record)
    blob = one * 1600 + header("etc/x", 0, tarfile.REGTYPE) + b"\0" * 1024  # 6.3 MiB of headers
    chunks = [blob[i : i + 65536] for i in range(0, len(blob), 65536)]  # as the registry stream hands them over
    tracemalloc.start()
    try:
        with pytest.raises(LayerRejectedError, match="tar extension headers"):
            analyze(chunks, ScanLimits(max_extension_bytes=1 << 20))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, peak  # not the 56 MiB the unbounded reader reached


def test_overlong_names_refuse_the_layer() -> None:
    blob = pax_tar([("etc/" + "n" * 5000, {}, b"x")])
    with pytest.raises(LayerRejectedError, match="entry name of 5004 characters"):
        analyze(blob)


def test_kept_names_are_capped_per_layer() -> None:
    whiteouts = [(f"d{i:05d}/" + "w" * 3000 + f"/.wh.f{i}", {}, b"") for i in range(40)]
    blob = pax_tar(whiteouts)
    with pytest.raises(LayerRejectedError, match="paths to keep"):
        analyze(blob, ScanLimits(max_kept_metadata_bytes=64 << 10))
    assert len(analyze(blob).whiteouts) == 40  # the default bound leaves a real layer alone


def test_kept_names_are_capped_per_image() -> None:
    layers = [LayerAnalysis(digest=f"sha256:{n}", whiteouts=["x" * 1000] * 100) for n in range(5)]
    with pytest.raises(LayerRejectedError, match="image's layers name more than"):
        merge_layers(layers, max_metadata_bytes=300_000)


def test_zstd_frames_asking_for_a_huge_window_are_refused() -> None:
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=28, write_content_size=False)
    out = io.BytesIO()
    with zstandard.ZstdCompressor(compression_params=params).stream_writer(out, closefd=False) as writer:
        writer.write(pax_tar([("etc/x", {}, b"hello")]))
    blob = out.getvalue()
    assert zstandard.get_frame_parameters(blob).window_size == 256 << 20  # what the frame asks for
    with pytest.raises(LayerRejectedError, match="not valid zstd"):
        analyze(blob)
    assert analyze(blob, ScanLimits(max_zstd_window_bytes=512 << 20)).file_count == 1


def _quadratic_merge(layers: list[LayerAnalysis]) -> dict[str, str]:
    """The reference: every path against every whiteout and opaque directory."""
    view: dict[str, str] = {}
    for layer in layers:
        targets = [(d.rstrip("/") + "/" if d else "") for d in layer.opaque_dirs] + list(layer.whiteouts)
        for path in list(view):
            for target in targets:
                inside = path.startswith(target) if target.endswith("/") or target == "" else (
                    path == target or path.startswith(target + "/"))
                if inside:
                    del view[path]
                    break
        for path in layer.files:
            view[path] = layer.digest
    return view


PATHS = st.lists(st.sampled_from(["a", "b", "c", "ab"]), min_size=1, max_size=3).map("/".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.lists(PATHS, max_size=6), st.lists(PATHS, max_size=3),
                          st.lists(st.one_of(st.just(""), PATHS), max_size=2)), min_size=1, max_size=4))
def test_linear_merge_matches_the_reference(specs) -> None:
    layers = [LayerAnalysis(digest=f"sha256:{n}", files={p: FileFindings(analyzer="t") for p in files},
                            whiteouts=whiteouts, opaque_dirs=opaque)
              for n, (files, whiteouts, opaque) in enumerate(specs)]
    assert {p: f.layer for p, f in merge_layers(layers).items()} == _quadratic_merge(layers)
