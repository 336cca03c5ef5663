"""A handler for the embedded runtime's tests: it waits at a barrier the test sets, so events
that do not run side by side break it, and says which copy of this module ran it."""

from __future__ import annotations

import threading
from typing import Any

STATE: dict[str, Any] = {}  # module state: each container runs its own copy of this module
# The barrier lives on a module that is imported, not copied: every container sees the same.
BARRIER: list[threading.Barrier] = threading.__dict__.setdefault("_quaywatch_test_barrier", [])


def handler(event: dict, context: Any) -> dict:
    STATE["event"] = event["n"]
    if BARRIER:
        BARRIER[0].wait(timeout=5)
    return {"n": STATE["event"], "module": id(STATE), "function": context.function_name}
