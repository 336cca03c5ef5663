"""SyncSchedulerFunction: invoked by EventBridge Scheduler every 15 minutes; starts the
registry syncs whose policy is due."""

from __future__ import annotations

from typing import Any

from quaywatch.handlers.wiring import services
from quaywatch.metrics import flushed
from quaywatch.observability import logger, traced
from quaywatch.usecases.sync import start_due_syncs


@traced  # X-Ray on Lambda (quaywatch.observability)
@flushed  # CloudWatch metrics (quaywatch.metrics), flushed per invocation
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: Any) -> dict:
    return {"started": start_due_syncs(services())}
