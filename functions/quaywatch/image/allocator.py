"""glibc allocator settings for streaming layers.

A layer scan allocates and frees buffers of about 1 MiB many times a second (inflated slices,
batched socket reads). By default glibc serves blocks of that size with a fresh ``mmap`` each,
and gives a thread's freed heap memory back to the kernel once 128 KiB lie free at its top;
either way every buffer lands on new zero-filled pages. That was ~60,000 page faults and a
tenth of the wall time of a cold 300 MB scan (tests/bench/bench_scan.py). ``mallopt`` keeps
such blocks in the heaps and lets a few of them stay free for the next one.

Entry points that scan (the CLI, the import and re-test workers) call this once at start-up.
"""

from __future__ import annotations

import ctypes
import os
import sys

from quaywatch.observability import logger

# mallopt(3) parameter numbers, from glibc's malloc.h
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 4 << 20  # buffers up to this size come from the heaps
TRIM_THRESHOLD_BYTES = 16 << 20  # free memory a heap may keep before returning it


def tune_for_layer_streaming() -> bool:
    """Apply the settings above; True when they took effect.

    Does nothing off Linux, under a libc without ``mallopt`` (musl), or when the operator
    chose these thresholds through glibc's environment variables, which then win.
    """
    if not sys.platform.startswith("linux") or _set_by_operator():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    applied = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    )
    if not applied:
        logger.debug("mallopt refused the layer streaming settings")
    return applied


def _set_by_operator() -> bool:
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    return (
        "MALLOC_MMAP_THRESHOLD_" in os.environ
        or "MALLOC_TRIM_THRESHOLD_" in os.environ
        or "glibc.malloc.mmap_threshold" in tunables
        or "glibc.malloc.trim_threshold" in tunables
    )
