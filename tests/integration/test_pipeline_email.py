"""Mail from the deployed stack (moto for AWS, as everywhere in the pipeline tests: nothing
real can run here): with the EmailSender parameter the functions mail through Amazon SES (v2,
raw messages), a member's preferences go through the API, DigestFunction's Monday schedule
mails the digest once (a redelivered schedule sends nothing again), and the unsubscribe link
works through API Gateway without a token, its key the stack's generated secret."""

from __future__ import annotations

import email
import email.policy
from urllib.parse import parse_qs, urlsplit

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from tests.support.cloud import REGION, running_cloud

pytestmark = pytest.mark.slow
SENDER = "quaywatch@acme.example"


def _sent(cloud=None) -> list[email.message.EmailMessage]:
    """What SES accepted once MailWorkerFunction took the queued mail (moto keeps it in its
    backend: there is no mailbox behind it)."""
    if cloud is not None:
        cloud.drain("MailQueue", "MailWorkerFunction")
    backend = ses_backends[DEFAULT_ACCOUNT_ID][REGION]
    return [email.message_from_string(m.raw_data, policy=email.policy.default) for m in backend.sent_messages]


def test_ses_digest_once_a_week_and_unsubscribe_through_the_api():
    with running_cloud({"EmailSender": SENDER}) as cloud:
        cloud.session.client("ses").verify_email_identity(EmailAddress=SENDER)
        no_mail = cloud.api("PUT", "/organisation/channels", {"channels": [{"type": "email", "to": "sec@acme.example"}]})
        assert no_mail.status == 200, no_mail  # the stack has a sender: email channels are taken
        chosen = cloud.api("PUT", "/me/notifications", {"email": "ann@acme.example", "level": "critical_high"},
                           token="member")
        assert chosen.status == 200 and chosen.body["mail_configured"] is True
        assert cloud.api("GET", "/me/notifications", token="member").body["level"] == "critical_high"
        listed = cloud.api("GET", "/organisation/members").body["members"]
        assert [m["email"] for m in listed] == ["ann@acme.example"]
        assert cloud.api("GET", "/organisation/members", token="member").status == 403

        first = cloud.schedule("DigestFunction", "Weekly")
        again = cloud.schedule("DigestFunction", "Weekly")  # EventBridge delivers at least once
        assert first["sent"] == 1 and again == {**again, "sent": 0, "skipped": first["skipped"] + 1}
        assert cloud.queue_depth("MailQueue") == 1  # queued by the schedule, sent by the mail worker
        (digest,) = _sent(cloud)
        assert digest["To"] == "ann@acme.example" and digest["From"] == SENDER
        assert digest["Subject"] == "[quaywatch] Weekly digest for acme: 0 critical, 0 high across 0 project(s)"
        link = urlsplit(digest["List-Unsubscribe"].strip("<>"))
        assert link.netloc == f"qw-api.execute-api.{REGION}.amazonaws.com" and link.path == "/v1/unsubscribe"
        token = parse_qs(link.query)["token"][0]

        page = cloud.invoke("NotificationsFunction", _event(cloud, "GET", token))
        assert page["statusCode"] == 200 and "Stop the weekly digest?" in page["body"]
        headers = page.get("headers") or {name: values[0] for name, values in page["multiValueHeaders"].items()}
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        now = cloud.api("POST", "/organisation/digest")
        assert now.status == 200 and now.body["sent"] == 1  # on demand: whatever the week's schedule sent
        assert urlsplit(_sent(cloud)[-1]["List-Unsubscribe"].strip("<>")).netloc == "api.example.com"
        clicked = cloud.invoke("NotificationsFunction", _event(cloud, "POST", token))
        assert clicked["statusCode"] == 200 and "no more of the weekly digest" in clicked["body"]
        assert cloud.api("GET", "/me/notifications", token="member").body["weekly_digest"] is False
        assert cloud.schedule("DigestFunction", "Weekly")["sent"] == 0 and len(_sent(cloud)) == 2
        forged = cloud.invoke("NotificationsFunction", _event(cloud, "POST", token[:-4] + "AAAA"))
        assert forged["statusCode"] == 400


def _event(cloud, method: str, token: str) -> dict:
    from quaywatch.runtime.events import api_gateway_event

    return api_gateway_event(method, "/unsubscribe", "/unsubscribe", {},
                             {"Host": "api.example.com", "Content-Type": "application/x-www-form-urlencoded"},
                             {"token": token}, "List-Unsubscribe=One-Click", "v1", "api.example.com", "198.51.100.7")


def test_ses_refusing_for_now_is_retried_by_the_queue_and_for_good_is_dropped():
    """An unverified sender is what SES refuses here (MessageRejected: for good, no retry);
    throttling is what it refuses for now (the mail comes back through the queue)."""
    from unittest.mock import patch

    from botocore.client import BaseClient
    from botocore.exceptions import ClientError

    with running_cloud({"EmailSender": SENDER}) as cloud:
        cloud.api("PUT", "/me/notifications", {"email": "ann@acme.example"}, token="member")
        assert cloud.api("POST", "/organisation/digest").body["sent"] == 1
        refused = cloud.drain("MailQueue", "MailWorkerFunction")  # SENDER not verified: MessageRejected
        assert (refused.delivered, refused.failed) == (1, 0) and _sent() == []

        cloud.session.client("ses").verify_email_identity(EmailAddress=SENDER)
        assert cloud.api("POST", "/organisation/digest").body["sent"] == 1
        throttled = ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}, "SendEmail")
        with patch.object(BaseClient, "_make_api_call", _failing_send(throttled)):
            first = cloud.drain("MailQueue", "MailWorkerFunction", max_batches=1)
        assert first.failed == 1 and cloud.queue_depth("MailQueue") == 1  # back in the queue, not lost
        again = cloud.drain("MailQueue", "MailWorkerFunction")
        assert again.delivered == 1 and [m["To"] for m in _sent()] == ["ann@acme.example"]


def _failing_send(error):
    """A stand-in for botocore's API call: SES's SendEmail raises ``error``; every other call
    goes on to moto."""
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    def call(self, operation, parameters):
        if operation == "SendEmail":
            raise error
        return original(self, operation, parameters)
    return call
