"""The cyclic garbage collector paused while a match runs.

A match makes some thousands of short-lived objects (candidates, drafts, findings) and no
reference cycles; each 700 allocations the collector would walk the young objects, and now
and then every object the process holds (the parsed advisory entries among them): a third of
a warm 500-package match (``make bench-advisories``). Reference counting still frees
everything at once; cycles made meanwhile elsewhere are collected when the last match ends.
Threads share the collector: the first match to start pauses it, the last to end resumes it.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_running = 0
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    global _running, _was_enabled
    with _lock:
        if _running == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0 and _was_enabled:
                gc.enable()
