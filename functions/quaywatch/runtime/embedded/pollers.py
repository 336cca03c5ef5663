"""SQS pollers: the Lambda event-source mappings of the template, on a thread each.

Each poller long-polls its queue, hands the function a real SQS batch event, deletes the
messages the function did not report as failed, and makes failed ones visible again after a
short back-off (the real queue would wait out its visibility timeout). Receive counts grow
with every delivery, so the queue's redrive policy moves a message that keeps failing to its
dead-letter queue, as in AWS. Stopping waits for the batch in hand.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from quaywatch.observability import logger
from quaywatch.runtime.embedded.functions import Functions
from quaywatch.runtime.events import sqs_event

RETRY_BACKOFF_SECONDS = 5


@dataclass
class SourceMapping:
    function: str
    queue_url: str
    queue_arn: str
    batch_size: int


class Poller:
    def __init__(self, sqs: Any, functions: Functions, mapping: SourceMapping, region: str) -> None:
        self._sqs = sqs
        self._functions = functions
        self.mapping = mapping
        self._region = region
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"poller-{mapping.function}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=330)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self._sqs.receive_message(
                    QueueUrl=self.mapping.queue_url, MaxNumberOfMessages=self.mapping.batch_size,
                    WaitTimeSeconds=1, AttributeNames=["All"], VisibilityTimeout=330,
                ).get("Messages", [])
            except Exception as exc:  # noqa: BLE001 - the local AWS restarting, keep polling
                logger.warning("poll failed", extra={"function": self.mapping.function, "error": str(exc)})
                self._stop.wait(1)
                continue
            if messages:
                self._deliver(messages)

    def _deliver(self, messages: list[dict[str, Any]]) -> None:
        event = sqs_event(messages, self.mapping.queue_arn, self._region)
        try:
            response = self._functions.invoke(self.mapping.function, event) or {}
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        except Exception as exc:  # noqa: BLE001 - an invocation error returns the whole batch
            logger.error("worker invocation failed", extra={"function": self.mapping.function, "error": str(exc)})
            failed = {m["MessageId"] for m in messages}
        for message in messages:
            if message["MessageId"] in failed:
                self._sqs.change_message_visibility(QueueUrl=self.mapping.queue_url,
                                                    ReceiptHandle=message["ReceiptHandle"],
                                                    VisibilityTimeout=RETRY_BACKOFF_SECONDS)
            else:
                self._sqs.delete_message(QueueUrl=self.mapping.queue_url, ReceiptHandle=message["ReceiptHandle"])
