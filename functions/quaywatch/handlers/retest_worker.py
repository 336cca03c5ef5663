"""RetestWorkerFunction: one project per SQS message; partial batch failures.

A new digest behind the tag means a full scan, the same digest a re-match of the stored
inventory; new findings are notified once. Deleted or deactivated projects are skipped.
"""

from __future__ import annotations

import json
import os
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from quaywatch.errors import QuaywatchError
from quaywatch.handlers import wiring
from quaywatch.image.allocator import tune_for_layer_streaming
from quaywatch.observability import logger
from quaywatch.projects.testing import ProjectOrphaned
from quaywatch.registry.errors import RateLimitedError, RegistryUnavailableError

tune_for_layer_streaming()  # once per cold start: this function streams layers
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def _record(record: SQSRecord) -> None:
    message = json.loads(record.body)
    project_id = str(message["project_id"])
    reason = str(message.get("reason", "unknown"))
    logger.append_keys(project_id=project_id, reason=reason)
    project = wiring.projects().get(project_id)
    if project is None:
        logger.info("project deleted; nothing to re-test")
        return
    if not project.get("active", True) and reason != "on_demand":
        logger.info("project inactive; skipped")
        return
    try:
        outcome = wiring.tester().retest(project)
    except ProjectOrphaned as exc:
        logger.warning("cannot re-test", extra={"error": str(exc)})
        return
    except (RegistryUnavailableError, RateLimitedError) as exc:
        logger.warning("re-test attempt failed, will retry", extra={
            "error": str(exc), "receives": record.attributes.approximate_receive_count,
            "max_receives": os.environ.get("QUAYWATCH_MAX_RECEIVES")})
        raise
    except QuaywatchError as exc:  # the tag is gone, credentials revoked...: recorded, not retried
        logger.warning("re-test failed", extra={"error": str(exc)})
        return
    logger.info("re-tested", extra={"scanned": outcome.scanned, "findings": outcome.findings,
                                    "new": len(outcome.new_findings), "notified": outcome.notified})


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: Any) -> dict:
    return process_partial_response(event=event, record_handler=_record, processor=processor, context=context)
