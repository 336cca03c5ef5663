"""MailWorkerFunction: one queued mail per SQS message (a mail server that fails: the message
comes back; see ``usecases/mail.py``)."""

from __future__ import annotations

from quaywatch.handlers.queue_worker import queue_worker
from quaywatch.usecases.mail import deliver_mail_message

handler = queue_worker(deliver_mail_message)
