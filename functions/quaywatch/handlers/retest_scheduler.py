"""RetestSchedulerFunction: invoked by EventBridge Scheduler with ``{"frequency": ...}``;
enqueues every active project whose daily or weekly re-test is due."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from quaywatch.handlers.wiring import services
from quaywatch.metrics import flushed
from quaywatch.observability import logger, traced
from quaywatch.usecases.retests import enqueue_due_retests


class ScheduleInput(BaseModel):
    frequency: Literal["daily", "weekly"]


@traced  # X-Ray on Lambda (quaywatch.observability)
@flushed  # CloudWatch metrics (quaywatch.metrics), flushed per invocation
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: Any) -> dict:
    request = ScheduleInput.model_validate(event)  # a bad input fails the invocation: the schedule's retry and DLQ
    return {"frequency": request.frequency, "enqueued": enqueue_due_retests(services(), request.frequency)}
