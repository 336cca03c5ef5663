"""Members' email preferences (``/me/notifications``), the member list for admins, and the
unsubscribe links mails carry (``/unsubscribe``, no login: the signed token is the proof)."""

from __future__ import annotations

from typing import Any

from quaywatch.api_errors import NotFound
from quaywatch.notifications.email.unsubscribe import Unsubscribe
from quaywatch.observability import logger
from quaywatch.runtime.services import Services
from quaywatch.tenancy.access import Principal
from quaywatch.tenancy.members import EmailPreferences


def get_preferences(services: Services, caller: Principal) -> dict[str, Any]:
    member = services.members.get(caller.org_id, caller.user_id, caller.role)
    return {**member.view(), "mail_configured": services.mailer is not None}


def set_preferences(services: Services, caller: Principal, preferences: EmailPreferences) -> dict[str, Any]:
    """The whole set of preferences; a per-project override must name a project of the
    caller's organisation (checked for the overrides not stored before)."""
    stored = services.members.get(caller.org_id, caller.user_id, caller.role)
    for project_id in set(preferences.projects) - set(stored.projects):
        project = services.projects.get(project_id)
        if project is None or project.org_id != caller.org_id:
            raise NotFound(f"project {project_id} not found (projects: a project id of your organisation)")
    changes = {**preferences.model_dump(mode="json"), "role": caller.role}
    member = services.members.update(caller.org_id, caller.user_id, changes)
    logger.info("email preferences set", extra={"org_id": caller.org_id, "user_id": caller.user_id,
                                                "level": member.level, "weekly_digest": member.weekly_digest,
                                                "overrides": len(member.projects)})
    return {**member.view(), "mail_configured": services.mailer is not None}


def list_members(services: Services, caller: Principal) -> list[dict[str, Any]]:
    caller.require_admin()
    return [member.view() for member in services.members.all(caller.org_id)]


def read_unsubscribe(services: Services, token: str) -> Unsubscribe:
    """What the link would stop (the page asks before doing it: link scanners follow links)."""
    return services.unsubscribe_signer.read(token)


def unsubscribe(services: Services, token: str) -> Unsubscribe:
    what = services.unsubscribe_signer.read(token)
    if what.scope == "channel":
        channels = services.access.channels(what.org_id)
        kept = [c for c in channels if not (c.get("type") == "email" and (c.get("to") or "").lower() == what.subject.lower())]
        if len(kept) != len(channels):
            services.access.set_channels(what.org_id, kept)
    else:
        member = services.members.get(what.org_id, what.subject)
        changes: dict[str, Any]
        if what.scope == "project" and what.project_id:
            changes = {"projects": {**member.projects, what.project_id: "none"}}
        elif what.scope == "digest":
            changes = {"weekly_digest": False}
        else:
            changes = {"level": "none", "weekly_digest": False, "projects": {}}
        services.members.update(what.org_id, what.subject, changes)
    logger.info("unsubscribed", extra={"org_id": what.org_id, "scope": what.scope})
    return what
