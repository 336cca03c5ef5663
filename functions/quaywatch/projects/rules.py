"""What the organisation and a project decided about findings, as a test applies them."""

from __future__ import annotations

from dataclasses import dataclass, field

from quaywatch.matching.ignores import IgnoreRule
from quaywatch.notifications.policy import NotificationPolicy


@dataclass(frozen=True)
class ProjectRules:
    """The ignore rules in force (ignored findings leave the counts and the notifications) and
    the organisation's notification policy."""

    ignores: list[IgnoreRule] = field(default_factory=list)
    policy: NotificationPolicy = field(default_factory=NotificationPolicy)


NO_RULES = ProjectRules()
