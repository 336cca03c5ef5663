"""Mailer over Amazon SES (v2 API, raw messages so the HTML and plain-text parts and the
List-Unsubscribe headers go as we built them). The sender is a verified SES identity, a
stack parameter."""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from quaywatch.observability import logger
from quaywatch.ports import MailFailed

# What SES will refuse again however often it is asked (throttling and outages are retried).
PERMANENT = {"MessageRejected", "MailFromDomainNotVerifiedException", "BadRequestException", "NotFoundException"}


class SesMailer:
    def __init__(self, client: Any, sender: str, configuration_set: str | None = None) -> None:
        self._client = client
        self.sender = sender
        self._configuration_set = configuration_set

    def send(self, messages: Sequence[EmailMessage]) -> int:
        sent, last_error, transient = 0, "", False
        for message in messages:
            arguments: dict[str, Any] = {"FromEmailAddress": self.sender,
                                         "Destination": {"ToAddresses": [message["To"]]},
                                         "Content": {"Raw": {"Data": message.as_bytes()}}}
            if self._configuration_set:
                arguments["ConfigurationSetName"] = self._configuration_set
            try:
                self._client.send_email(**arguments)
                sent += 1
            except (ClientError, BotoCoreError) as exc:
                last_error = str(exc)
                code = exc.response["Error"]["Code"] if isinstance(exc, ClientError) else ""
                transient = transient or code not in PERMANENT
                logger.warning("mail refused", extra={"service": "ses", "error": last_error})
        if messages and sent == 0:
            raise MailFailed(f"Amazon SES sent none of {len(messages)} message(s): {last_error}", permanent=not transient)
        return sent
