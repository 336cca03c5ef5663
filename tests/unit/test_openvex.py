"""OpenVEX documents that are hostile or name no image: refused in words, never a crash."""

from __future__ import annotations

import time

import pytest
from quaywatch.vex.openvex import (
    OpenVexError,
    VexStatement,
    _Product,
    read_openvex,
    statement_packages,
)


@pytest.mark.parametrize("data", [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000])
def test_nesting_thousands_deep_is_refused_in_words(data: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises(OpenVexError, match="nested too deeply"):
        read_openvex(data)
    assert time.perf_counter() - started < 5  # a DoS guard: linear work on 200 KB


def test_a_hash_only_product_names_no_image_of_a_project_never_tested() -> None:
    statement = VexStatement("https://example.com/vex", "CVE-2024-1", frozenset(), "not_affected",
                             "component_not_present", None,
                             (_Product.model_validate({"hashes": {"sha-256": "ab" * 32}}),), None)
    assert statement_packages(statement, "") is None  # no digest yet: nothing matches by digest
    assert statement_packages(statement, "sha256:" + "ab" * 32) == [None]
