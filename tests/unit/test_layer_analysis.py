"""Layer streaming on hostile and unusual input, without a registry."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest
import zstandard
from quaywatch.image.cache import DiskLayerCache, MemoryLayerCache, cache_key
from quaywatch.image.errors import LayerRejectedError, UnsupportedLayerError
from quaywatch.image.layer import analyze_layer
from quaywatch.image.limits import ScanLimits
from quaywatch.image.merge import merge_layers
from quaywatch.inventory.analyzers import default_analyzers

from tests.support import fixtures
from tests.support.images import Entry, build_tar, compress

ANALYZERS = default_analyzers()


def chunks(data: bytes, size: int = 4096):
    return iter([data[i : i + size] for i in range(0, len(data), size)])


def analyze(blob: bytes, limits: ScanLimits | None = None, digest: str = "sha256:test"):
    return analyze_layer(digest, chunks(blob), ANALYZERS, limits or ScanLimits())


def raw_tar(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_path_traversal_is_refused():
    info = tarfile.TarInfo("../../etc/shadow")
    info.size = 3
    with pytest.raises(LayerRejectedError, match="path traversal entry '../../etc/shadow'"):
        analyze(gzip.compress(raw_tar([(info, b"bad")])))


def test_absolute_paths_are_read_relative_to_the_root():
    info = tarfile.TarInfo("/etc/alpine-release")
    info.size = 7
    result = analyze(raw_tar([(info, b"3.19.1\n")]))
    assert "etc/alpine-release" in result.files


def test_decompression_bomb_is_refused():
    zeros = build_tar({"big": b"\0" * (24 << 20)})
    blob = gzip.compress(zeros, compresslevel=9)
    limits = ScanLimits(ratio_grace_bytes=4 << 20, max_compression_ratio=100)
    with pytest.raises(LayerRejectedError, match="decompression bomb"):
        analyze(blob, limits)


def test_zstd_bomb_is_refused():
    blob = zstandard.ZstdCompressor(level=19).compress(build_tar({"big": b"\0" * (24 << 20)}))
    with pytest.raises(LayerRejectedError, match="decompression bomb"):
        analyze(blob, ScanLimits(ratio_grace_bytes=4 << 20, max_compression_ratio=100))


def test_layer_size_limit():
    blob = gzip.compress(build_tar({"a": b"x" * (3 << 20)}))
    with pytest.raises(LayerRejectedError, match="max_layer_bytes"):
        analyze(blob, ScanLimits(max_layer_bytes=1 << 20))


def test_absurd_member_size_in_header_is_refused():
    tar = bytearray(raw_tar([(tarfile.TarInfo("etc/os-release"), b"")]))
    # Rewrite the size field (offset 124, 12 bytes) to 8 EiB in base-256 encoding.
    tar[124:136] = b"\x80" + (1 << 63).to_bytes(11, "big")
    header = tar[:512]
    header[148:156] = b"        "
    checksum = sum(header)
    tar[148:156] = f"{checksum:06o}\0 ".encode()
    with pytest.raises(LayerRejectedError, match="absurd size"):
        analyze(bytes(tar))


def test_truncated_gzip_is_refused():
    blob = gzip.compress(build_tar(fixtures.alpine_base()))
    with pytest.raises(LayerRejectedError, match="truncated|corrupt"):
        analyze(blob[: len(blob) // 2])


def test_garbage_is_not_a_layer():
    with pytest.raises(UnsupportedLayerError):
        analyze(b"PK\x03\x04 a zip file, not a layer")
    with pytest.raises(LayerRejectedError, match="not valid gzip"):
        analyze(b"\x1f\x8b" + b"\xff" * 100)


def test_empty_blob_is_an_empty_layer():
    assert analyze(b"").files == {}
    assert analyze(gzip.compress(b"")).files == {}


def test_multi_member_gzip_and_trailing_padding():
    tar = build_tar(fixtures.alpine_base())
    half = len(tar) // 2
    blob = gzip.compress(tar[:half]) + gzip.compress(tar[half:]) + b"\0" * 512
    assert "lib/apk/db/installed" in analyze(blob).files


def test_symlinked_os_release_is_not_followed_but_target_is_read():
    result = analyze(compress(build_tar(fixtures.debian_base()), "gzip"))
    assert "usr/lib/os-release" in result.files and "etc/os-release" not in result.files


def test_hardlink_at_a_wanted_path_carries_the_target_findings():
    tree = {
        "etc/os-release": fixtures.ALPINE_OS_RELEASE,
        "usr/lib/os-release": Entry(kind="hardlink", target="etc/os-release"),
    }
    result = analyze(build_tar(tree))
    assert result.files["usr/lib/os-release"].facts["ID"] == "alpine"


def test_corrupt_package_database_is_a_warning_not_a_failure():
    tree = {"var/lib/rpm/rpmdb.sqlite": b"SQLite format 3\0" + b"\xff" * 200}
    result = analyze(build_tar(tree))
    assert result.files["var/lib/rpm/rpmdb.sqlite"].warnings


def test_merge_applies_whiteouts_in_layer_order():
    lower = analyze(build_tar(fixtures.alpine_base()), digest="sha256:lower")
    upper = analyze(build_tar(dict([fixtures.whiteout("lib/apk")])), digest="sha256:upper")
    again = analyze(build_tar({"lib/apk/db/installed": "P:x\nV:1-r0\n"}), digest="sha256:again")
    assert "lib/apk/db/installed" not in merge_layers([lower, upper])
    view = merge_layers([lower, upper, again])
    assert view["lib/apk/db/installed"].layer == "sha256:again"
    assert view["etc/alpine-release"].layer == "sha256:lower"


@pytest.fixture(params=["memory", "disk"])
def layer_cache(request, tmp_path):
    return MemoryLayerCache() if request.param == "memory" else DiskLayerCache(tmp_path)


def test_layer_caches_round_trip(layer_cache):
    analysis = analyze(build_tar(fixtures.alpine_base()), digest="sha256:abc")
    key = cache_key("sha256:abc", ANALYZERS)
    assert layer_cache.get(key) is None
    layer_cache.put(key, analysis)
    assert layer_cache.get(key) == analysis


def test_disk_cache_treats_corrupt_entry_as_miss(tmp_path):
    cache = DiskLayerCache(tmp_path)
    key = cache_key("sha256:abc", ANALYZERS)
    cache.put(key, analyze(build_tar(fixtures.alpine_base())))
    path = next(tmp_path.rglob("*.json.gz"))
    path.write_bytes(b"garbage")
    assert cache.get(key) is None


def test_cache_key_changes_with_analyzer_versions():
    class Bumped(type(ANALYZERS[1])):
        version = 99

    assert cache_key("sha256:a", ANALYZERS) != cache_key("sha256:a", [ANALYZERS[0], Bumped(), *ANALYZERS[2:]])


def test_application_packages_are_named_per_layer_and_os_packages_at_assembly():
    # A pypi purl depends on the package alone; a deb purl needs the image's OS (distro=...).
    result = analyze(build_tar({**fixtures.debian_base(), **fixtures.python_layer()}))
    packages = [p for f in result.files.values() for p in f.packages]
    assert {p.purl for p in packages if p.type == "pypi"} >= {"pkg:pypi/requests@2.31.0"}
    assert all(p.purl is None for p in packages if p.type == "deb")


@pytest.mark.parametrize("document", [
    b'{"name": "left-pad", "version": "1.3.0"}',
    b'\xef\xbb\xbf{"name": "left-pad", "version": "1.3.0"}',  # a byte-order mark: npm accepts it
    b'{"name": "left-pad", "version": "1.3.0", "x": NaN, "big": 123456789012345678901234567890}',
])
def test_package_json_variants_that_the_standard_parser_accepts_are_read(document):
    result = analyze(build_tar({"app/node_modules/left-pad/package.json": document}))
    [package] = result.files["app/node_modules/left-pad/package.json"].packages
    assert (package.name, package.version) == ("left-pad", "1.3.0")


def test_invalid_package_json_is_a_warning():
    result = analyze(build_tar({"app/node_modules/bad/package.json": b'{"name": '}))
    assert result.files["app/node_modules/bad/package.json"].warnings
