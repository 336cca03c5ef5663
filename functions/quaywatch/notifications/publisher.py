"""Publishes one ``quaywatch.NewIssuesFound`` notification per project per test (and
``quaywatch.BetterBaseImageFound``, ``quaywatch.TestsFailing`` when they happen).

The event goes to the event publisher (deployed: the EventBridge bus for rules and a summary
on the SNS topic; ``serve``: the local events table); organisations may add webhook channels
(generic JSON POST, or a Slack incoming webhook) and email (channels and members' own
addresses: ``notifications/email``). A failing channel is logged and never fails the test
that found the issues.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from quaywatch.errors import QuaywatchError
from quaywatch.integrations.url_policy import check_notification_url
from quaywatch.matching.models import Finding
from quaywatch.notifications.email.delivery import EmailNotifier
from quaywatch.observability import logger
from quaywatch.outbound import AddressPolicy, pinned_client
from quaywatch.ports import DomainEvent, EventPublisher
from quaywatch.projects.records import Project

DETAIL_TYPE = "quaywatch.NewIssuesFound"
BASE_DETAIL_TYPE = "quaywatch.BetterBaseImageFound"
FAILING_DETAIL_TYPE = "quaywatch.TestsFailing"
ChannelsFor = Callable[[str], list[dict[str, str]]]


POST_BUDGET_SECONDS = 10.0  # one channel post, all told: a channel that answers slowly cannot hold a worker


class Notifier:
    def __init__(self, events: EventPublisher, channels_for: ChannelsFor | None = None,
                 allow_private: bool = False, email: EmailNotifier | None = None) -> None:
        self._allow_private = allow_private
        self._email = email
        self._events = events
        self._channels_for = channels_for

    def new_issues(self, project: Project, findings: list[Finding]) -> dict[str, Any]:
        detail = {
            "org_id": project.org_id, "project_id": project.id, "integration_id": project.integration_id,
            "image": f"{project.repository}:{project.tag}", "platform": project.platform,
            "digest": project.digest, "count": len(findings),
            "new_findings": [
                {"id": f.id, "package": f.package, "installed_version": f.installed_version,
                 "fixed_version": f.fixed_version, "status": f.status.value, "severity": f.severity}
                for f in findings[:100]
            ],
        }
        summary = f"{len(findings)} new issue(s) in {detail['image']} ({detail['platform']})"
        self._publish(DETAIL_TYPE, project.org_id, summary, detail)
        if self._email is not None:
            self._email.new_issues(project, findings)
        logger.info("new issues notified", extra={"project_id": project.id, "count": len(findings)})
        return detail

    def better_base(self, project: Project, base: dict[str, Any], recommendations: list[dict[str, Any]]) -> None:
        """A base tag with fewer critical and high issues than the project's base appeared."""
        detail = {"org_id": project.org_id, "project_id": project.id,
                  "image": f"{project.repository}:{project.tag}", "platform": project.platform,
                  "base": f"{base['repository']}:{base['tag']}", "recommendations": recommendations}
        best = recommendations[0]
        summary = (f"{detail['image']}: base {detail['base']} -> {best['repository']}:{best['tag']} has "
                   f"{best['fewer']['critical'] + best['fewer']['high']} fewer critical/high issues")
        self._publish(BASE_DETAIL_TYPE, project.org_id, summary, detail)

    def tests_failing(self, project: Project) -> None:
        """The project's tests failed several times in a row (told once, when the count is
        reached; a success starts the count again)."""
        last = project.last_test
        detail = {"org_id": project.org_id, "project_id": project.id, "integration_id": project.integration_id,
                  "image": f"{project.repository}:{project.tag}", "platform": project.platform,
                  "failed_tests": project.failed_tests, "error": last.error if last else None,
                  "last_succeeded_at": project.last_tested_at}
        summary = (f"{detail['image']} ({detail['platform']}): {project.failed_tests} tests failed in a row: "
                   f"{detail['error']}")
        self._publish(FAILING_DETAIL_TYPE, project.org_id, summary, detail)
        if self._email is not None:
            self._email.tests_failing(project, detail["error"])

    def _publish(self, detail_type: str, org_id: str, summary: str, detail: dict[str, Any]) -> None:
        self._events.publish(DomainEvent(detail_type, detail, summary, org_id))
        for channel in (self._channels_for(org_id) if self._channels_for else []):
            if channel.get("type") != "email":  # mail is EmailNotifier's
                self._post(channel, summary, detail, detail_type)

    def _post(self, channel: dict[str, str], summary: str, detail: dict[str, Any], detail_type: str) -> None:
        body: dict[str, Any] = {"text": summary} if channel.get("type") == "slack" else {"detail-type": detail_type,
                                                                                         "detail": detail}
        try:
            check_notification_url(channel["url"], self._allow_private)
            with pinned_client(AddressPolicy(self._allow_private), budget=POST_BUDGET_SECONDS, timeout=5.0,
                               follow_redirects=False) as client, \
                    client.stream("POST", channel["url"], json=body) as response:  # the answer's body is never read
                response.raise_for_status()  # connects only where the policy allows
        except (httpx.HTTPError, KeyError, QuaywatchError) as exc:
            logger.warning("notification channel failed", extra={"channel_type": channel.get("type"),
                                                                  "error": type(exc).__name__})
