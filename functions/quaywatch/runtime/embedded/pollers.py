"""Queue pollers: the Lambda event-source mappings of the template, on a thread each.

Each poller receives up to its batch size from its work queue, hands the function a real SQS
batch event, acknowledges the messages the function did not report as failed, and makes
failed ones visible again after a short back-off (the real queue would wait out its
visibility timeout). Receive counts grow with every delivery, so a message that keeps failing
moves to the dead-letter table, as the redrive policy does in AWS. Stopping waits for the
batch in hand; a killed process leaves its batch to be delivered again at the next start.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from quaywatch.observability import logger
from quaywatch.ports import QueueMessage, WorkQueue
from quaywatch.runtime.embedded.functions import Functions
from quaywatch.runtime.events import sqs_event

RETRY_BACKOFF_SECONDS = 5
VISIBILITY_TIMEOUT_SECONDS = 330  # above the workers' 300 s timeout


@dataclass
class SourceMapping:
    function: str
    queue: str
    queue_arn: str
    batch_size: int


class Poller:
    def __init__(self, queue: WorkQueue, functions: Functions, mapping: SourceMapping, region: str) -> None:
        self._queue = queue
        self._functions = functions
        self.mapping = mapping
        self._region = region
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"poller-{mapping.function}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=VISIBILITY_TIMEOUT_SECONDS)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self._queue.receive(self.mapping.batch_size, VISIBILITY_TIMEOUT_SECONDS, wait_seconds=1)
            except Exception as exc:  # noqa: BLE001 - a busy database: keep polling
                logger.warning("poll failed", extra={"function": self.mapping.function, "error": str(exc)})
                self._stop.wait(1)
                continue
            if messages:
                self._deliver(messages)

    def _deliver(self, messages: list[QueueMessage]) -> None:
        event = sqs_event([_as_sqs(m) for m in messages], self.mapping.queue_arn, self._region)
        try:
            response = self._functions.invoke(self.mapping.function, event) or {}
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        except Exception as exc:  # noqa: BLE001 - an invocation error returns the whole batch
            logger.error("worker invocation failed", extra={"function": self.mapping.function, "error": str(exc)})
            failed = {m.id for m in messages}
        for message in messages:
            if message.id in failed:
                self._queue.retry_later(message, RETRY_BACKOFF_SECONDS)
            else:
                self._queue.ack(message)


def _as_sqs(message: QueueMessage) -> dict:
    """A message as SQS's ReceiveMessage returns it (what ``sqs_event`` expects)."""
    import hashlib

    return {"MessageId": message.id, "ReceiptHandle": message.receipt, "Body": message.body,
            "MD5OfBody": hashlib.md5(message.body.encode(), usedforsecurity=False).hexdigest(),
            "Attributes": {"ApproximateReceiveCount": str(message.receive_count),
                           "SentTimestamp": str(int(message.sent_at * 1000))}}
