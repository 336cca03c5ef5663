"""Invoking the template's handlers in process, as Lambda would."""

from __future__ import annotations

import importlib
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

    def invoke(self, function: str, event: Any) -> Any:
        handler = self._handlers.get(function)
        if handler is None:
            module, attribute = self.template.functions()[function]["Properties"]["Handler"].rsplit(".", 1)
            handler = getattr(importlib.import_module(module), attribute)
            self._handlers[function] = handler
        return handler(event, LambdaContext(function))
