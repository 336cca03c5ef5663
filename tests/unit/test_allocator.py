"""glibc allocator tuning for layer streaming (quaywatch.image.allocator)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from quaywatch.image import allocator


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_settings_take_effect_under_glibc() -> None:
    # In a child process: mallopt changes the whole process, not just this test.
    script = "from quaywatch.image.allocator import tune_for_layer_streaming as t; print(t())"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin"})
    assert done.stdout.strip() == "True", done.stderr


@pytest.mark.parametrize("variable", [
    ("MALLOC_MMAP_THRESHOLD_", "131072"),
    ("MALLOC_TRIM_THRESHOLD_", "131072"),
    ("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=131072"),
])
def test_operator_settings_win(monkeypatch, variable) -> None:
    monkeypatch.setenv(*variable)
    called = []
    monkeypatch.setattr(allocator.ctypes, "CDLL", lambda _: called.append(1))
    assert allocator.tune_for_layer_streaming() is False
    assert called == []


def test_a_libc_without_mallopt_is_left_alone(monkeypatch) -> None:
    for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(allocator.sys, "platform", "linux")

    class Musl:  # no mallopt symbol
        pass

    monkeypatch.setattr(allocator.ctypes, "CDLL", lambda _: Musl())
    assert allocator.tune_for_layer_streaming() is False


def test_refused_settings_are_reported_as_not_applied(monkeypatch) -> None:
    for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(allocator.sys, "platform", "linux")
    seen: list[tuple[int, int]] = []

    def mallopt(parameter: int, value: int) -> int:
        seen.append((parameter, value))
        return 0  # glibc's "failed"

    class Libc:
        pass

    libc = Libc()
    libc.mallopt = mallopt  # type: ignore[attr-defined]
    monkeypatch.setattr(allocator.ctypes, "CDLL", lambda _: libc)
    assert allocator.tune_for_layer_streaming() is False
    assert seen == [(allocator.M_MMAP_THRESHOLD, allocator.MMAP_THRESHOLD_BYTES)]
