"""WebhookFunction: ``POST /webhooks/quay/{integration_id}/{token}`` from Quay.

Quay's notifications are unsigned: the unguessable token in the path is the only proof, so
an unknown integration or a wrong token both get a bare 404. A ``repo_push`` names the
repository and the pushed tags (no digests); they are hints, so we do not trust them further
than "re-import these tags": the worker resolves each tag against the registry itself.
Monitored tags are re-imported; new tags too when the integration has ``auto_import``.
Other events are logged and accepted. Everything here is a DynamoDB read and an SQS send,
well inside Quay's 10-second timeout.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from quaywatch.handlers import wiring
from quaywatch.handlers.api import create_app, error, json_response
from quaywatch.observability import logger

app = create_app()


class RepoPush(BaseModel):
    model_config = ConfigDict(extra="allow")

    repository: str = Field(min_length=1, max_length=255)
    updated_tags: list[str] = Field(default_factory=list, max_length=1000)


@app.post("/webhooks/quay/<integration_id>/<token>")
def quay_webhook(integration_id: str, token: str):
    integration = wiring.integrations().verify_webhook(integration_id, token)
    if integration is None:
        return error(404, "not_found", "not found")
    try:
        payload = json.loads(app.current_event.body or "")
    except ValueError:
        return error(400, "malformed_json", "the notification body is not JSON")
    if not isinstance(payload, dict) or "updated_tags" not in payload:
        logger.info("quay notification accepted", extra={"integration_id": integration_id,
                                                          "kind": "other", "keys": sorted(payload)[:10] if isinstance(payload, dict) else None})
        return json_response(202, {"accepted": True, "imports": 0})
    try:
        push = RepoPush.model_validate(payload)
    except ValidationError as exc:
        return error(422, "invalid_request", str(exc.errors()[0]["msg"]))
    monitored = wiring.projects().monitored_tags(integration_id, push.repository)
    tags = [t for t in dict.fromkeys(push.updated_tags) if t in monitored or integration.get("auto_import")]
    logger.info("repo_push received", extra={"integration_id": integration_id, "repository": push.repository,
                                              "pushed": len(push.updated_tags), "importing": len(tags)})
    if not tags:
        return json_response(202, {"accepted": True, "imports": 0})
    import_id = wiring.imports().start(integration["org_id"], integration_id,
                                       [(push.repository, tag) for tag in tags], source="webhook")
    return json_response(202, {"accepted": True, "imports": len(tags), "import_id": import_id})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
def handler(event: dict, context: Any) -> dict:
    return app.resolve(event, context)
