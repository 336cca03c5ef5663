"""MailWorkerFunction: one queued mail per SQS message, partial batch failures (a mail server
that fails: the message comes back; see ``usecases/mail.py``)."""

from __future__ import annotations

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
from quaywatch.usecases.mail import deliver_mail_message

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def _record(record: SQSRecord) -> None:
    deliver_mail_message(services(), record.body, int(record.attributes.approximate_receive_count or 1))


@traced  # X-Ray on Lambda (quaywatch.observability)
@flushed  # CloudWatch metrics (quaywatch.metrics), flushed per invocation
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: Any) -> dict:
    return process_partial_response(event=event, record_handler=_record, processor=processor, context=context)
