"""WebhookFunction: ``POST /webhooks/quay/{integration_id}/{token}`` from Quay (see
``usecases/webhooks.py``). The token in the path authenticates; an unknown integration and
a wrong token both get a bare 404. Everything here is a read and a queue send, well inside
Quay's 10-second timeout."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths

from quaywatch.handlers.api import create_app, error, json_response, resolve
from quaywatch.handlers.wiring import services
from quaywatch.metrics import flushed
from quaywatch.observability import logger, traced
from quaywatch.usecases.webhooks import (
    InvalidNotification,
    MalformedNotification,
    TooManyNotifications,
    WebhookRejected,
    handle_push,
)

app = create_app()
MAX_NOTIFICATION_BYTES = 64 << 10  # Quay's repo_push is well under 2 KiB


@app.post("/webhooks/quay/<integration_id>/<token>")
def quay_webhook(integration_id: str, token: str):
    try:
        outcome = handle_push(services(), integration_id, token, app.current_event.body)
    except WebhookRejected:
        return error(404, "not_found", "not found")
    except MalformedNotification as exc:
        return error(400, "malformed_json", str(exc))
    except InvalidNotification as exc:
        return error(422, "invalid_request", str(exc))
    except TooManyNotifications as exc:
        return error(429, "rate_limited", str(exc))
    body: dict[str, Any] = {"accepted": True, "imports": outcome.imports}
    if outcome.import_id:
        body["import_id"] = outcome.import_id
    if outcome.replayed:
        body["replayed"] = True
    return json_response(202, body)


@traced  # X-Ray on Lambda (quaywatch.observability)
@flushed  # CloudWatch metrics (quaywatch.metrics), flushed per invocation
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
def handler(event: dict, context: Any) -> dict:
    return resolve(app, event, context, max_body_bytes=MAX_NOTIFICATION_BYTES)
