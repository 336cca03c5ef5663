"""The one place that builds the shared structured logger.

Logs go to stderr so that the CLI's stdout stays a clean report (JSON / CycloneDX).
"""

import logging
import os
import sys

from aws_lambda_powertools import Logger

logger = Logger(
    service="quaywatch",
    level=os.environ.get("QUAYWATCH_LOG_LEVEL", os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING")),
    logger_handler=logging.StreamHandler(sys.stderr),
)

# attributes every LogRecord has; anything else on a record came as ``extra=``
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class _PlainFormatter(logging.Formatter):
    """One readable line per record for people at a terminal:
    ``quaywatch: warning: skipped advisory record (location: ..., reason: ...)``."""

    def format(self, record: logging.LogRecord) -> str:
        extras = {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRIBUTES and not k.startswith("_")}
        detail = ", ".join(f"{key.replace('_', ' ')}: {value}" for key, value in extras.items())
        line = f"quaywatch: {record.levelname.lower()}: {record.getMessage()}" + (f" ({detail})" if detail else "")
        if record.exc_info and os.environ.get("QUAYWATCH_DEBUG"):
            line += "\n" + self.formatException(record.exc_info)
        return line


def plain_console_logs() -> None:
    """The CLI's default: readable lines, not JSON. Structured JSON logs (as the Lambda
    functions write them) stay when ``QUAYWATCH_LOG_LEVEL`` is set, for log collectors."""
    if "QUAYWATCH_LOG_LEVEL" in os.environ:
        return
    logger.registered_handler.setFormatter(_PlainFormatter())
