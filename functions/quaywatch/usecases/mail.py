"""The mail worker: sends one queued mail (``notifications/email/outbox.py``). A mail server
that fails is tried again by the queue's redelivery (then the dead-letter queue keeps the
message for the operator to redrive), so an outage delays mail and loses none; a recipient
the server refuses for good (a 5xx) is logged and not retried."""

from __future__ import annotations

from quaywatch.notifications.email.outbox import read_job
from quaywatch.observability import logger
from quaywatch.ports import MailFailed
from quaywatch.runtime.services import Services


def deliver_mail_message(services: Services, body: str, receive_count: int) -> str:
    """Sent, dropped (no mail server now), refused for good, or raised for a redelivery
    (the last try is logged as given up)."""
    org_id, message = read_job(body)
    if services.mailer is None:
        logger.warning("mail dropped: no mail server is set up", extra={"org_id": org_id})
        return "dropped"
    try:
        services.mailer.send([message])
    except MailFailed as exc:
        if exc.permanent:
            logger.warning("mail refused for good", extra={"org_id": org_id, "error": str(exc)})
            return "refused"
        if receive_count >= services.settings.max_receives:
            logger.error("mail given up (kept in the dead-letter queue)",
                         extra={"org_id": org_id, "receives": receive_count, "error": str(exc)})
        raise
    return "sent"
