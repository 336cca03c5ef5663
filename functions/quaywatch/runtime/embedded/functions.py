"""Invoking the template's handlers in process, as Lambda would: one event at a time per
function (a Lambda container never runs two; the handler modules keep per-request state such
as the resolver's current event and the logger's keys)."""

from __future__ import annotations

import importlib
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from quaywatch.runtime.template import Template


@dataclass
class LambdaContext:
    """What handlers (and Powertools) read from a Lambda context."""

    function_name: str
    aws_request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:local:000000000000:function:quaywatch"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


class Functions:
    def __init__(self, template: Template) -> None:
        self.template = template
        self._handlers: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {name: threading.Lock() for name in template.functions()}
        self._loading = threading.Lock()

    def invoke(self, function: str, event: Any) -> Any:
        with self._locks[function]:
            return self._handler(function)(event, LambdaContext(function))

    def _handler(self, function: str) -> Any:
        with self._loading:
            handler = self._handlers.get(function)
            if handler is None:
                module, attribute = self.template.functions()[function]["Properties"]["Handler"].rsplit(".", 1)
                handler = getattr(importlib.import_module(module), attribute)
                self._handlers[function] = handler
        return handler
