"""Quay repository notifications: a ``repo_push`` re-imports the monitored tags it names.

Quay's notifications are unsigned: the unguessable token in the path is the only proof, so
an unknown integration and a wrong token look alike (WebhookRejected -> a bare 404). The
pushed tags are hints: the worker resolves each against the registry itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from quaywatch.errors import QuaywatchError, UsageError
from quaywatch.observability import logger
from quaywatch.runtime.services import Services


class WebhookRejected(QuaywatchError):
    """Unknown integration or wrong token."""


class MalformedNotification(UsageError):
    """The body is not JSON."""


class InvalidNotification(UsageError):
    """A ``repo_push`` whose fields are not what Quay sends."""


class RepoPush(BaseModel):
    model_config = ConfigDict(extra="allow")

    repository: str = Field(min_length=1, max_length=255)
    updated_tags: list[str] = Field(default_factory=list, max_length=1000)


@dataclass(frozen=True)
class PushOutcome:
    imports: int
    import_id: str | None = None


def handle_push(services: Services, integration_id: str, token: str, body: str | None) -> PushOutcome:
    integration = services.integrations.verify_webhook(integration_id, token)
    if integration is None:
        raise WebhookRejected("not found")
    try:
        payload = json.loads(body or "")
    except ValueError:
        raise MalformedNotification("the notification body is not JSON") from None
    if not isinstance(payload, dict) or "updated_tags" not in payload:
        logger.info("quay notification accepted", extra={
            "integration_id": integration_id, "kind": "other",
            "keys": sorted(payload)[:10] if isinstance(payload, dict) else None})
        return PushOutcome(0)
    try:
        push = RepoPush.model_validate(payload)
    except ValidationError as exc:
        raise InvalidNotification(str(exc.errors()[0]["msg"])) from None
    monitored = services.projects.monitored_tags(integration_id, push.repository)
    tags = [t for t in dict.fromkeys(push.updated_tags) if t in monitored or integration.get("auto_import")]
    logger.info("repo_push received", extra={"integration_id": integration_id, "repository": push.repository,
                                              "pushed": len(push.updated_tags), "importing": len(tags)})
    if not tags:
        return PushOutcome(0)
    import_id = services.imports.start(integration["org_id"], integration_id,
                                       [(push.repository, tag) for tag in tags], source="webhook")
    return PushOutcome(len(tags), import_id)
