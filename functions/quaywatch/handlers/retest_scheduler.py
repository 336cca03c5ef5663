"""RetestSchedulerFunction: invoked by EventBridge Scheduler with ``{"frequency": ...}``;
enqueues every active project whose daily or weekly re-test is due."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from quaywatch.handlers import wiring
from quaywatch.observability import logger
from quaywatch.projects.retests import due_projects, enqueue_retests
from quaywatch.runtime import aws


class ScheduleInput(BaseModel):
    frequency: Literal["daily", "weekly"]


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: Any) -> dict:
    try:
        request = ScheduleInput.model_validate(event)
    except ValidationError as exc:
        logger.error("bad schedule input", extra={"error": str(exc)})
        raise
    due = due_projects(wiring.projects(), request.frequency)
    count = enqueue_retests(aws.client("sqs"), wiring.settings().retest_queue_url, due, f"schedule:{request.frequency}")
    logger.info("re-tests enqueued", extra={"frequency": request.frequency, "count": count})
    return {"frequency": request.frequency, "enqueued": count}
