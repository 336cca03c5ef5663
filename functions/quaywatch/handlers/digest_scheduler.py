"""DigestFunction: invoked by EventBridge Scheduler on Mondays; mails each member who wants it
the weekly digest (``usecases/digest.py``)."""

from __future__ import annotations

from typing import Any

from quaywatch.handlers.wiring import services
from quaywatch.metrics import flushed
from quaywatch.observability import logger, traced
from quaywatch.usecases.digest import send_digests


@traced  # X-Ray on Lambda (quaywatch.observability)
@flushed  # CloudWatch metrics (quaywatch.metrics), flushed per invocation
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: Any) -> dict:
    return send_digests(services())
