"""Invoking the template's handlers in process, as Lambda would.

Lambda runs one event at a time per container and starts more containers when events
arrive together; the handler modules rely on that (the resolver keeps the current event on
a module-level object). So does this: each function has a pool of *containers*, each with
its own copy of the handler module (its own resolver and module state), lent to one event
at a time. A slow request holds its container only; the next request gets another, up to
``concurrency`` per function (Lambda's reserved concurrency), beyond which it waits for one
and is refused with ``FunctionBusy`` after ``BUSY_WAIT_SECONDS``.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import threading
import uuid
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from quaywatch.errors import QuaywatchError
from quaywatch.observability import logger
from quaywatch.runtime.template import Template

DEFAULT_CONCURRENCY = 8
BUSY_WAIT_SECONDS = 20.0


class FunctionBusy(QuaywatchError):
    """Every container of the function stayed busy for the whole wait (Lambda's throttle)."""


@dataclass
class LambdaContext:
    """What handlers (and Powertools) read from a Lambda context."""

    function_name: str
    aws_request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:local:000000000000:function:quaywatch"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


class _Pool:
    """The containers of one function: handlers, each its own module's."""

    def __init__(self, module: str, attribute: str, concurrency: int) -> None:
        self._module = module
        self._attribute = attribute
        self._concurrency = concurrency
        self._idle: list[Any] = []
        self._started = 0
        self._available = threading.Condition()

    def acquire(self, function: str) -> Any:
        with self._available:
            while not self._idle and self._started >= self._concurrency:
                if not self._available.wait(BUSY_WAIT_SECONDS):
                    raise FunctionBusy(f"{function} is busy: {self._concurrency} requests in progress")
            if self._idle:
                return self._idle.pop()
            self._started += 1
            first = self._started == 1
        try:
            return self._load(first)
        except BaseException:
            with self._available:
                self._started -= 1
                self._available.notify()
            raise

    def release(self, handler: Any) -> None:
        with self._available:
            self._idle.append(handler)
            self._available.notify()

    def _load(self, first: bool) -> Any:
        """The first container uses the module as imported; the others a fresh copy of it
        (same name, its own globals), as a new Lambda container would import it anew."""
        if first:
            module: ModuleType = importlib.import_module(self._module)
        else:
            importlib.import_module(self._module)  # the original first: copies resolve names through it
            spec = importlib.util.find_spec(self._module)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        return getattr(module, self._attribute)


class Functions:
    def __init__(self, template: Template, concurrency: int | None = None) -> None:
        self.template = template
        self.concurrency = concurrency or int(os.environ.get("QUAYWATCH_FUNCTION_CONCURRENCY", DEFAULT_CONCURRENCY))
        self._pools: dict[str, _Pool] = {}
        for name, function in template.functions().items():
            module, attribute = function["Properties"]["Handler"].rsplit(".", 1)
            self._pools[name] = _Pool(module, attribute, self.concurrency)

    def invoke(self, function: str, event: Any) -> Any:
        pool = self._pools[function]
        handler = pool.acquire(function)
        context = LambdaContext(function)
        try:
            return _call(handler, event, context)
        finally:
            pool.release(handler)


def _call(handler: Any, event: Any, context: LambdaContext) -> Any:
    """The handler under its Powertools decorators' hood: ``inject_lambda_context`` writes the
    Lambda context into the one process-wide logger, which events running side by side here
    would overwrite for each other (the same keys go on this thread's log lines instead, the
    thread-safe keys), and ``metrics.flushed`` prints CloudWatch's embedded-metric lines (serve
    keeps the totals for ``GET /metrics`` instead). The handler itself runs unchanged."""
    inner = inspect.unwrap(handler)
    logger.thread_safe_append_keys(function_name=context.function_name, function_request_id=context.aws_request_id)
    try:
        return inner(event, context)
    finally:
        logger.thread_safe_remove_keys(["function_name", "function_request_id"])
