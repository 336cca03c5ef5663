"""The mail queue's messages: rendered mail, base64 in JSON, queued by ``MailOutbox`` and read
back by the mail worker (``usecases/mail.py``). Queueing is what lets a mail server be down
for a while without losing mail or holding a test."""

from __future__ import annotations

import base64
import email
import json
from email.message import EmailMessage

from quaywatch.errors import QuaywatchError
from quaywatch.notifications.email.messages import POLICY
from quaywatch.observability import logger
from quaywatch.ports import WorkQueue

MAX_MESSAGE_BYTES = 200 << 10  # SQS takes 256 KiB; a mail lists 25 findings at most (~20 KiB)


class MalformedMailJob(QuaywatchError):
    """A message on the mail queue that is not one of ours."""


class MailOutbox:
    """Enqueues rendered mail, one queue message each (SQS's batch limit is 256 KiB in all)."""

    def __init__(self, queue: WorkQueue) -> None:
        self._queue = queue

    def send(self, messages: list[EmailMessage], org_id: str) -> int:
        queued = 0
        for message in messages:
            raw = message.as_bytes()
            if len(raw) > MAX_MESSAGE_BYTES:
                logger.error("mail too large to queue", extra={"org_id": org_id, "bytes": len(raw)})
                continue
            self._queue.send(json.dumps({"org_id": org_id, "raw": base64.b64encode(raw).decode()}))
            queued += 1
        logger.info("mail queued", extra={"org_id": org_id, "messages": queued})
        return queued


def read_job(body: str) -> tuple[str | None, EmailMessage]:
    """(organisation, message) of a mail queue message."""
    try:
        job = json.loads(body)
        raw = base64.b64decode(job["raw"], validate=True)
    except (ValueError, KeyError, TypeError):
        raise MalformedMailJob("not a quaywatch mail job") from None
    return job.get("org_id"), email.message_from_bytes(raw, policy=POLICY)  # type: ignore[return-value]
