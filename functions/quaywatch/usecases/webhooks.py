"""Quay repository notifications: a ``repo_push`` re-imports the monitored tags it names.

Quay's notifications are unsigned: the unguessable token in the path is the only proof, so
an unknown integration and a wrong token look alike (WebhookRejected -> a bare 404). The
pushed tags are hints: the worker resolves each against the registry itself.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from quaywatch.errors import QuaywatchError, UsageError
from quaywatch.observability import logger
from quaywatch.projects.imports import new_import_id
from quaywatch.projects.models import REPOSITORY_PATTERN, TAG_PATTERN
from quaywatch.registrysync.messages import SyncMessage
from quaywatch.runtime.services import Services


class WebhookRejected(QuaywatchError):
    """Unknown integration or wrong token."""


class MalformedNotification(UsageError):
    """The body is not JSON."""


class InvalidNotification(UsageError):
    """A ``repo_push`` whose fields are not what Quay sends."""


class TooManyNotifications(QuaywatchError):
    """More notifications for one integration than the rate limit allows (a 429)."""


class RepoPush(BaseModel):
    """The fields of Quay's ``repo_push`` we act on, validated as ``POST /imports`` validates."""

    model_config = ConfigDict(extra="allow")

    repository: str = Field(min_length=1, max_length=255, pattern=REPOSITORY_PATTERN)
    updated_tags: list[Annotated[str, Field(min_length=1, max_length=128, pattern=TAG_PATTERN)]] = Field(
        default_factory=list, max_length=100)


@dataclass(frozen=True)
class PushOutcome:
    imports: int
    import_id: str | None = None
    replayed: bool = False  # every tag was already being imported: ``import_id`` is that import


REPLAY_WINDOW_SECONDS = 300  # a push of the same tag again within this time is a replay
RATE_WINDOW_SECONDS = 60
MAX_NOTIFICATIONS_PER_WINDOW = 120  # per integration; Quay sends one per push


def handle_push(services: Services, integration_id: str, token: str, body: str | None) -> PushOutcome:
    integration = services.integrations.verify_webhook(integration_id, token)
    if integration is None:
        raise WebhookRejected("not found")
    now = time.time()
    window = int(now) // RATE_WINDOW_SECONDS * RATE_WINDOW_SECONDS
    if services.imports_repository.count_push(integration_id, window) > MAX_NOTIFICATIONS_PER_WINDOW:
        raise TooManyNotifications(f"more than {MAX_NOTIFICATIONS_PER_WINDOW} notifications a minute for this "
                                   "integration; try again later")
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
    if services.sync_repository.latest_run(integration_id) is not None:  # the index follows pushes at once
        services.sync_queue.send(SyncMessage("repository", integration_id, repository=push.repository).to_json())
    monitored = services.projects.monitored_tags(integration_id, push.repository)
    tags = [t for t in dict.fromkeys(push.updated_tags) if t in monitored or integration.auto_import]
    if not tags:
        logger.info("repo_push received", extra={"integration_id": integration_id, "repository": push.repository,
                                                  "pushed": len(push.updated_tags), "importing": 0})
        return PushOutcome(0)
    import_id = new_import_id()
    won, held_by = [], None
    for tag in tags:  # a replay of a push finds its tags held by the import the first one started
        holder = services.imports_repository.claim_push(integration_id, f"{push.repository}:{tag}", import_id, now,
                                                        REPLAY_WINDOW_SECONDS)
        if holder == import_id:
            won.append(tag)
        else:
            held_by = held_by or holder
    logger.info("repo_push received", extra={"integration_id": integration_id, "repository": push.repository,
                                              "pushed": len(push.updated_tags), "importing": len(won),
                                              "replayed": len(tags) - len(won)})
    if not won:
        return PushOutcome(0, held_by, replayed=True)
    try:
        services.imports.start(integration.org_id, integration_id, [(push.repository, tag) for tag in won],
                               source="webhook", import_id=import_id)
    except Exception:
        for tag in won:  # nothing started: the next delivery may try again
            services.imports_repository.release_push(integration_id, f"{push.repository}:{tag}", import_id)
        raise
    return PushOutcome(len(won), import_id)
