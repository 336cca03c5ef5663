"""ImportWorkerFunction: one image per SQS message; partial batch failures.

Permanent failures (bad credentials, no such tag, not an image, a hostile layer) are written
to the import log at once and the message is done. Transient ones (registry unavailable,
rate limited) fail the message so SQS retries it; on its last allowed delivery the failure
is logged first, then the message moves to the dead-letter queue.
"""

from __future__ import annotations

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
from quaywatch.projects.imports import ImportMessage
from quaywatch.projects.testing import ProjectOrphaned
from quaywatch.registry.errors import RateLimitedError, RegistryUnavailableError

tune_for_layer_streaming()  # once per cold start: this function streams layers
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
TRANSIENT = (RegistryUnavailableError, RateLimitedError)


def _record(record: SQSRecord) -> None:
    message = ImportMessage.from_json(record.body)
    imports = wiring.imports()
    logger.append_keys(import_id=message.import_id, image=f"{message.repository}:{message.tag}")
    integration = wiring.integrations().by_id(message.integration_id)
    if integration is None or integration["org_id"] != message.org_id:
        imports.complete(message, "failed", error="the integration was deleted")
        return
    try:
        outcome = wiring.tester().test_image(integration, message.repository, message.tag)
    except Exception as exc:
        if isinstance(exc, (QuaywatchError, ProjectOrphaned)) and not isinstance(exc, TRANSIENT):
            imports.complete(message, "failed", error=str(exc) or type(exc).__name__)  # permanent: no retry
            logger.info("image failed", extra={"error": str(exc)})
            return
        receives = int(record.attributes.approximate_receive_count or 1)
        if receives >= int(os.environ.get("QUAYWATCH_MAX_RECEIVES", "5")):
            imports.complete(message, "failed", error=f"{exc} (gave up after {receives} attempts)")
        logger.warning("import attempt failed, will retry", extra={"error": str(exc), "receives": receives})
        raise
    note = "; ".join(f"{platform}: {reason}" for platform, reason in outcome.failed_platforms.items()) or None
    imports.complete(message, "succeeded", project_id=outcome.project_ids[0], project_ids=outcome.project_ids,
                     error=note)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: Any) -> dict:
    return process_partial_response(event=event, record_handler=_record, processor=processor, context=context)
