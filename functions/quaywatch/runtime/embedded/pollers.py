"""Queue pollers: the template's SQS event-source mappings, run on one machine.

A poller keeps ``concurrency`` worker threads on its queue, as Lambda keeps several
containers on a busy queue. Each thread receives up to the batch size, runs the function's
use case on every message (the same one the Lambda handler calls: ``process_import_message``,
``retest_project``), acknowledges what succeeded and makes failures visible again after a
short back-off (the real queue would wait out its visibility timeout). Receive counts grow
with every delivery, so a message that keeps failing moves to the dead-letter table, as the
redrive policy does in AWS. Stopping waits for the messages in hand; a killed process leaves
them to be delivered again at the next start.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from quaywatch.observability import logger
from quaywatch.ports import QueueMessage, WorkQueue

RETRY_BACKOFF_SECONDS = 5
VISIBILITY_TIMEOUT_SECONDS = 330  # above the workers' 300 s timeout

UseCase = Callable[[Any, str, int], Any]


def use_cases() -> dict[str, UseCase]:
    """The use case behind each queue-driven function of template.yaml."""
    from quaywatch.usecases.imports import process_import_message
    from quaywatch.usecases.mail import deliver_mail_message
    from quaywatch.usecases.retests import process_retest_queue_message
    from quaywatch.usecases.sync import process_sync_message

    return {"ImportWorkerFunction": process_import_message, "RetestWorkerFunction": process_retest_queue_message,
            "SyncWorkerFunction": process_sync_message, "MailWorkerFunction": deliver_mail_message}


@dataclass
class SourceMapping:
    """A queue-driven function of template.yaml and its queue (serve takes one message per
    worker thread at a time, so the mapping's BatchSize does not apply here)."""

    function: str
    queue: str


class Poller:
    def __init__(self, queue: WorkQueue, services: Any, mapping: SourceMapping, use_case: UseCase,
                 concurrency: int = 1) -> None:
        self._queue = queue
        self._services = services
        self.mapping = mapping
        self._use_case = use_case
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, name=f"poller-{mapping.function}-{n}", daemon=True)
                         for n in range(concurrency)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=VISIBILITY_TIMEOUT_SECONDS)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                # One message per thread at a time: a slow image (a stalled registry, retries)
                # holds up only itself, never the rest of a batch behind it.
                messages = self._queue.receive(1, VISIBILITY_TIMEOUT_SECONDS, wait_seconds=1)
            except Exception as exc:  # noqa: BLE001 - a busy database: keep polling
                logger.warning("poll failed", extra={"function": self.mapping.function, "error": str(exc)})
                self._stop.wait(1)
                continue
            for message in messages:
                self._deliver(message)

    def _deliver(self, message: QueueMessage) -> None:
        try:
            self._use_case(self._services, message.body, message.receive_count)
        except Exception as exc:  # noqa: BLE001 - the use case raised to ask for a redelivery
            logger.warning("message will be delivered again", extra={
                "function": self.mapping.function, "receives": message.receive_count, "error": str(exc)})
            self._queue.retry_later(message, RETRY_BACKOFF_SECONDS)
            return
        self._queue.ack(message)
