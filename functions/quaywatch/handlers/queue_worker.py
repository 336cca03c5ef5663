"""What every SQS-driven function shares: one use case per message, partial batch failures
(a message whose use case raised goes back to the queue; the others are done), the
receive count passed on so the last try can record a failure before the dead-letter queue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from quaywatch.handlers.wiring import services
from quaywatch.metrics import flushed
from quaywatch.observability import logger, traced

UseCase = Callable[[Any, str, int], Any]  # (services, message body, receive count)


def queue_worker(use_case: UseCase) -> Callable[[dict, Any], dict]:
    """The Lambda handler that runs ``use_case`` for each message of an SQS batch."""
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    def each(record: SQSRecord) -> None:  # Powertools passes it as ``record=``
        use_case(services(), record.body, int(record.attributes.approximate_receive_count or 1))

    @traced  # X-Ray on Lambda (quaywatch.observability)
    @flushed  # CloudWatch metrics (quaywatch.metrics), flushed per invocation
    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict, context: Any) -> dict:
        return process_partial_response(event=event, record_handler=each, processor=processor, context=context)

    return handler
