"""Organisation settings for admins: API tokens for team members, notification channels
(webhook, Slack, email) and the notification policy."""

from __future__ import annotations

import uuid
from typing import Any

from quaywatch.errors import UsageError
from quaywatch.integrations.models import ChannelsUpdate
from quaywatch.integrations.url_policy import check_notification_url
from quaywatch.notifications.policy import NotificationPolicy
from quaywatch.observability import logger
from quaywatch.runtime.services import Services
from quaywatch.tenancy.access import Principal, Role


def issue_member_token(services: Services, caller: Principal, role: Role, email: str | None = None) -> dict[str, Any]:
    """A new API token for a new user of the caller's organisation (shown once); ``email``:
    the member's address, for their mail (they change it, and what they get, themselves)."""
    caller.require_admin()
    user_id = uuid.uuid4().hex
    token = services.access.issue_token(caller.org_id, role, user_id=user_id)
    services.members.update(caller.org_id, user_id, {"role": role, **({"email": email} if email else {})})
    logger.info("api token issued", extra={"org_id": caller.org_id, "user_id": user_id, "role": role})
    return {"token": token, "role": role, "user_id": user_id, **({"email": email} if email else {})}


def get_channels(services: Services, caller: Principal) -> list[dict[str, Any]]:
    caller.require_admin()
    return services.access.channels(caller.org_id)


def set_channels(services: Services, caller: Principal, request: ChannelsUpdate) -> list[dict[str, Any]]:
    """Every channel URL is checked like a registry URL (no internal addresses when the
    deployment does not allow private ones) before anything is saved."""
    caller.require_admin()
    for channel in request.channels:
        if channel.url is not None:
            check_notification_url(channel.url, services.settings.allow_private_registries)
        elif services.mailer is None:
            raise UsageError("email is not set up on this server: start serve with --smtp-url smtp://HOST:PORT "
                             "(deployed: the EmailSender parameter), then add the email channel")
    channels = [channel.model_dump(exclude_none=True) for channel in request.channels]
    services.access.set_channels(caller.org_id, channels)
    return channels


def notification_policy(services: Services, org_id: str) -> NotificationPolicy:
    """The policy in force for an organisation (everything not ignored, when none was set)."""
    return NotificationPolicy.model_validate(services.access.notification_policy(org_id))


def get_notification_policy(services: Services, caller: Principal) -> dict[str, Any]:
    caller.require_admin()
    return notification_policy(services, caller.org_id).model_dump()


def set_notification_policy(services: Services, caller: Principal, policy: NotificationPolicy) -> dict[str, Any]:
    caller.require_admin()
    services.access.set_notification_policy(caller.org_id, policy.model_dump())
    logger.info("notification policy set", extra={"org_id": caller.org_id, **policy.model_dump()})
    return policy.model_dump()
