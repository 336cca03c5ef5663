"""What the organisation and a project decided about findings, as a test applies them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from quaywatch.matching.ignores import IgnoreRule, RecordedIgnore
from quaywatch.notifications.policy import NotificationPolicy
from quaywatch.projects.records import Project
from quaywatch.tenancy.access import notification_policy_of


@dataclass(frozen=True)
class ProjectRules:
    """The ignore rules in force (ignored findings leave the counts and the notifications) and
    the organisation's notification policy."""

    ignores: list[IgnoreRule] = field(default_factory=list)
    policy: NotificationPolicy = field(default_factory=NotificationPolicy)


NO_RULES = ProjectRules()


def ignores_of(organisation: dict[str, Any], project: Project | None) -> list[IgnoreRule]:
    """The organisation's ignore rules, then the project's (None: a project not yet created)."""
    return [*(RecordedIgnore.model_validate(r) for r in organisation.get("ignores", [])),
            *(project.ignores if project else [])]


def rules_of(organisation: dict[str, Any], project: Project | None) -> ProjectRules:
    """The rules a test of ``project`` applies, from the records as read (one read of the
    organisation serves every image of an import)."""
    return ProjectRules(ignores_of(organisation, project),
                        NotificationPolicy.model_validate(notification_policy_of(organisation)))
