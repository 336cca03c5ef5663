"""The one place that builds the shared structured logger.

Logs go to stderr so that the CLI's stdout stays a clean report (JSON / CycloneDX).
"""

import json
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

logger = Logger(
    service="quaywatch",
    level=os.environ.get("QUAYWATCH_LOG_LEVEL", os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING")),
    logger_handler=logging.StreamHandler(sys.stderr),
)

_FRAME_KEYS = frozenset({"level", "location", "message", "timestamp", "service", "sampling_rate", "exception",
                         "exception_name", "stack_trace", "xray_trace_id",
                         # the Lambda context serve's in-process functions carry: noise at a terminal
                         "cold_start", "function_name", "function_memory_size", "function_arn",
                         "function_request_id"})


class _PlainFormatter(LambdaPowertoolsFormatter):
    """One readable line per record for people at a terminal:
    ``quaywatch: warning: advisory records skipped (feed: ..., skipped: 3, ...)``. The
    Powertools formatter underneath builds the record (so appended keys such as a project id
    and the per-thread keys are kept); this only writes it as a sentence."""

    def format(self, record: logging.LogRecord) -> str:
        try:
            fields = json.loads(super().format(record))
        except ValueError:
            return f"quaywatch: {record.levelname.lower()}: {record.getMessage()}"
        detail = ", ".join(f"{key.replace('_', ' ')}: {value}" for key, value in fields.items() if key not in _FRAME_KEYS)
        line = f"quaywatch: {record.levelname.lower()}: {fields.get('message', record.getMessage())}"
        return line + (f" ({detail})" if detail else "")


def plain_console_logs() -> None:
    """The CLI's default: readable lines, not JSON. Structured JSON logs (as the Lambda
    functions write them) stay when ``QUAYWATCH_LOG_LEVEL`` is set, for log collectors."""
    if "QUAYWATCH_LOG_LEVEL" in os.environ:
        return
    logger.registered_handler.setFormatter(_PlainFormatter())


def traced(handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """A Lambda handler traced with X-Ray (Powertools Tracer: a ``## handler`` subsegment
    with the cold start and the service, boto3 and httpx calls as subsegments beneath), when
    it runs on Lambda (``Tracing: Active`` in template.yaml). Elsewhere (``quaywatch serve``,
    the CLI, the tests) the handler is returned as it is: the X-Ray SDK costs ~0.3 s to
    import and has nowhere to send."""
    if not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return handler
    from aws_lambda_powertools import Tracer

    tracer = Tracer(service="quaywatch")
    return tracer.capture_lambda_handler(handler, capture_response=False)  # replies may carry findings
