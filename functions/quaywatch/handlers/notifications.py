"""NotificationsFunction: a member's email preferences (``/me/notifications``), the member list
and "send the digest now" for admins (``/organisation/members``, ``/organisation/digest``),
and the unsubscribe page mails link to (``/unsubscribe``: no login, the signed token decides).

The unsubscribe page asks before it acts (GET shows a button, POST unsubscribes): mail
scanners follow links, and a GET must not unsubscribe anyone. Mail clients' one-click
unsubscribe (RFC 8058) POSTs to the same URL.
"""

from __future__ import annotations

import html
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths

from quaywatch.handlers.api import ADMIN, MEMBER, api_base_url, caller, create_app, resolve
from quaywatch.handlers.wiring import services
from quaywatch.metrics import flushed
from quaywatch.notifications.email.unsubscribe import InvalidUnsubscribeToken
from quaywatch.observability import logger, traced
from quaywatch.tenancy.members import EmailPreferences
from quaywatch.usecases import digest, members

app = create_app()
MAX_BODY_BYTES = 64 << 10
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
                "Cache-Control": "no-store", "X-Frame-Options": "DENY"}


@app.get("/me/notifications", middlewares=MEMBER)
def get_preferences():
    return members.get_preferences(services(), caller(app))


@app.put("/me/notifications", middlewares=MEMBER)
def put_preferences(request: Annotated[EmailPreferences, Body()]):
    return members.set_preferences(services(), caller(app), request)


@app.get("/organisation/members", middlewares=ADMIN)
def list_members():
    return {"members": members.list_members(services(), caller(app))}


@app.post("/organisation/digest", middlewares=ADMIN)
def send_digest():
    return digest.send_digest_now(services(), caller(app), api_base_url(app))


@app.get("/unsubscribe")
def unsubscribe_page(token: Annotated[str, Query(max_length=1024)] = ""):
    return _unsubscribe(token, act=False)


@app.post("/unsubscribe")
def unsubscribe(token: Annotated[str, Query(max_length=1024)] = ""):
    return _unsubscribe(token, act=True)


def _unsubscribe(token: str, act: bool) -> Response:
    """GET asks (a button), POST acts; a bad token is a 400 page either way."""
    try:
        what = (members.unsubscribe if act else members.read_unsubscribe)(services(), token)
    except InvalidUnsubscribeToken as exc:
        return _page(400, "Unsubscribe", str(exc))
    if act:
        return _page(200, "Unsubscribed", f"Done: you will get no more of {what.describe()}. "
                     "Members can change this again in the console's Email page.")
    return _page(200, "Unsubscribe", f"Stop {what.describe()}?",
                 "<form method='post'><button type='submit'>Unsubscribe</button></form>")


def _page(status: int, title: str, text: str, form: str = "") -> Response:
    body = (f"<!doctype html><html><head><meta charset='utf-8'><title>quaywatch: {html.escape(title)}</title>"
            "<meta name='viewport' content='width=device-width'></head>"
            "<body style='font-family:sans-serif;max-width:36em;margin:3em auto;padding:0 1em'>"
            f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{form}</body></html>")
    return Response(status, "text/html; charset=utf-8", body, headers=PAGE_HEADERS)


@traced  # X-Ray on Lambda (quaywatch.observability)
@flushed  # CloudWatch metrics (quaywatch.metrics), flushed per invocation
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
def handler(event: dict, context: Any) -> dict:
    if event.get("resource") == "/unsubscribe":  # a one-click POST's form body says nothing we read
        event = {**event, "body": None, "isBase64Encoded": False}
    return resolve(app, event, context, max_body_bytes=MAX_BODY_BYTES)
