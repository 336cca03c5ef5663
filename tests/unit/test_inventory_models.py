"""Inventory models in and out of JSON: the layer cache and the findings store read back what
they wrote, and refuse what does not fit instead of building half-filled objects."""

from __future__ import annotations

import gzip

import pytest
from quaywatch.image.cache import DiskLayerCache
from quaywatch.inventory.models import (
    FileFindings,
    ImageSummary,
    Inventory,
    InventoryDecodeError,
    LayerAnalysis,
    OperatingSystem,
    Package,
    from_json,
    to_document,
    to_json,
)

OPENSSL = Package(type="deb", name="libssl3", version="3.0.11-1~deb12u2", arch="amd64", source_name="openssl",
                  source_version="3.0.11-1~deb12u2", path="var/lib/dpkg/status", layer="sha256:aa")


def _layer() -> LayerAnalysis:
    return LayerAnalysis(
        digest="sha256:aa",
        files={"var/lib/dpkg/status": FileFindings(analyzer="dpkg", packages=[OPENSSL]),
               "etc/os-release": FileFindings(analyzer="os-release", facts={"ID": "debian"}, warnings=["w"])},
        whiteouts=["usr/share/doc"], opaque_dirs=["opt/app"], uncompressed_bytes=10, file_count=3,
    )


def test_layer_analysis_and_inventory_round_trip() -> None:
    assert from_json(to_json(_layer()), LayerAnalysis) == _layer()
    inventory = Inventory(
        image=ImageSummary(reference="r/x:1", registry="r", repository="x", tag="1", digest="sha256:0",
                           platform="linux/amd64", layers=["sha256:aa"]),
        os=OperatingSystem(id="debian", version_id="12", id_like=["x"]), packages=[OPENSSL], warnings=["w"],
    )
    assert from_json(to_json(inventory), Inventory) == inventory


def test_documents_are_plain_json_values_in_declaration_order() -> None:
    document = to_document(OPENSSL)
    assert list(document) == ["type", "name", "version", "namespace", "arch", "epoch", "source_name",
                              "source_version", "source_rpm", "path", "layer", "purl"]
    assert document["namespace"] is None and document["source_name"] == "openssl"


@pytest.mark.parametrize("data", [
    b'{"digest": 7}',  # wrong type
    b'{"files": {}}',  # required field missing
    b'{"digest": "sha256:aa", "files": {"p": {"analyzer": "dpkg", "packages": [{"type": "deb"}]}}}',  # nested
    b'{"digest": "sha256:aa", "file_count": "3"}',  # no silent coercion of strings to numbers
    b'not json',
])
def test_what_does_not_fit_the_model_is_refused(data: bytes) -> None:
    with pytest.raises(InventoryDecodeError):
        from_json(data, LayerAnalysis)


def test_a_cache_entry_of_the_wrong_shape_is_a_miss_not_a_crash(tmp_path) -> None:
    cache = DiskLayerCache(tmp_path)
    cache.put("k", _layer())
    assert cache.get("k") == _layer()
    cache._path("k").write_bytes(gzip.compress(b'{"digest": "sha256:aa", "files": {"p": {"packages": 1}}}'))
    assert cache.get("k") is None
