"""Organisation settings for admins: API tokens for team members, notification channels."""

from __future__ import annotations

import uuid
from typing import Any

from quaywatch.integrations.models import ChannelsUpdate
from quaywatch.integrations.url_policy import check_notification_url
from quaywatch.observability import logger
from quaywatch.runtime.services import Services
from quaywatch.tenancy.access import Principal, Role


def issue_member_token(services: Services, caller: Principal, role: Role) -> dict[str, str]:
    """A new API token for a new user of the caller's organisation (shown once)."""
    caller.require_admin()
    user_id = uuid.uuid4().hex
    token = services.access.issue_token(caller.org_id, role, user_id=user_id)
    logger.info("api token issued", extra={"org_id": caller.org_id, "user_id": user_id, "role": role})
    return {"token": token, "role": role, "user_id": user_id}


def get_channels(services: Services, caller: Principal) -> list[dict[str, Any]]:
    caller.require_admin()
    return services.access.channels(caller.org_id)


def set_channels(services: Services, caller: Principal, request: ChannelsUpdate) -> list[dict[str, Any]]:
    """Every channel URL is checked like a registry URL (no internal addresses when the
    deployment does not allow private ones) before anything is saved."""
    caller.require_admin()
    for channel in request.channels:
        check_notification_url(channel.url, services.settings.allow_private_registries)
    channels = [channel.model_dump() for channel in request.channels]
    services.access.set_channels(caller.org_id, channels)
    return channels
