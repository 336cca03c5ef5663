"""Re-testing projects: on a schedule, on demand, after an advisory change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from quaywatch import metrics
from quaywatch.api_errors import NotFound
from quaywatch.observability import logger
from quaywatch.projects.errors import ProjectOrphaned
from quaywatch.projects.retests import (
    RECOUNT_BATCH,
    RecountMessage,
    RetestMessage,
    due_projects,
    enqueue_retests,
    parse_work,
)
from quaywatch.projects.store import ConcurrentChange
from quaywatch.runtime.services import Services
from quaywatch.tenancy.access import Principal
from quaywatch.usecases.baseimages import refresh_base_image
from quaywatch.usecases.failures import describe, is_transient
from quaywatch.usecases.triage import recount_projects

REPEATED_FAILURES = 3  # failed attempts in a row that make a project "failing" (the channels are told once)


@dataclass(frozen=True)
class RetestResult:
    status: str  # tested | skipped | failed
    reason: str = ""


def enqueue_due_retests(services: Services, frequency: str) -> int:
    due = due_projects(services.projects, frequency)
    count = enqueue_retests(services.retest_queue, due, f"schedule:{frequency}")
    logger.info("re-tests enqueued", extra={"frequency": frequency, "count": count})
    return count


def request_retest(services: Services, caller: Principal, project_id: str) -> None:
    services.projects.for_principal(caller, project_id)
    enqueue_retests(services.retest_queue, [project_id], "on_demand")


def process_retest_queue_message(services: Services, body: str, receive_count: int) -> RetestResult:
    """A message of the re-test queue: a re-test (``retest_project``) or a recount of an
    organisation's projects after its ignores changed (``recount``)."""
    message = parse_work(body)
    if isinstance(message, RecountMessage):
        return recount(services, message)
    return retest_project(services, body, receive_count)


def recount(services: Services, message: RecountMessage) -> RetestResult:
    """Fan an organisation's recount out to batches, or recount one batch."""
    if message.project_ids is None:
        ids = services.projects_repository.project_ids_by_org(message.org_id)
        batches = [ids[start:start + RECOUNT_BATCH] for start in range(0, len(ids), RECOUNT_BATCH)]
        services.retest_queue.send_many([RecountMessage(message.org_id, tuple(batch)).to_json() for batch in batches])
        logger.info("recount fanned out", extra={"org_id": message.org_id, "projects": len(ids),
                                                 "batches": len(batches)})
        return RetestResult("tested", f"{len(batches)} batches")
    done = recount_projects(services, message.org_id, list(message.project_ids))
    logger.info("projects recounted", extra={"org_id": message.org_id, "projects": done})
    return RetestResult("tested", f"{done} recounted")


def _record_failure(services: Services, project_id: str, error: str) -> None:
    """Mark the project's last test failed; a project deleted meanwhile has nothing to mark."""
    try:
        failed = services.projects.record_failure(project_id, error, datetime.now(UTC))
    except (NotFound, ConcurrentChange) as exc:
        logger.info("test failure not recorded", extra={"error": str(exc)})
        return
    metrics.count("quaywatch_failed_tests_total")
    if failed.failed_tests == REPEATED_FAILURES:  # told once: the count passes it only once per run of failures
        logger.warning("project failing repeatedly", extra={"failed_tests": failed.failed_tests, "error": error})
        services.notifier.tests_failing(failed)


def retest_project(services: Services, body: str, receive_count: int) -> RetestResult:
    """A new digest behind the tag means a full scan, the same digest a re-match of the
    stored inventory; new findings are notified once. Deleted projects are skipped, inactive
    ones too unless asked for on demand. Transient failures are raised for redelivery."""
    message = RetestMessage.from_json(body)
    logger.thread_safe_clear_keys()  # this thread's keys only: serve runs workers side by side
    logger.thread_safe_append_keys(project_id=message.project_id, reason=message.reason)
    project = services.projects.get(message.project_id)
    if project is None:
        logger.info("project deleted; nothing to re-test")
        return RetestResult("skipped", "deleted")
    if not project.active and message.reason != "on_demand":
        logger.info("project inactive; skipped")
        return RetestResult("skipped", "inactive")
    try:
        outcome = services.tester.retest(project)
    except ProjectOrphaned as exc:
        logger.warning("cannot re-test", extra={"error": describe(exc)})
        _record_failure(services, project.id, describe(exc))
        return RetestResult("failed", describe(exc))
    except Exception as exc:
        _record_failure(services, project.id, describe(exc))  # seen at once, not after the retries
        if is_transient(exc):
            logger.warning("re-test attempt failed, will retry", extra={
                "error": describe(exc), "receives": receive_count, "max_receives": services.settings.max_receives})
            if receive_count >= services.settings.max_receives:
                metrics.count("quaywatch_gave_up_total", queue="RetestQueue")
            raise
        logger.warning("re-test failed", extra={"error": describe(exc)})  # the tag is gone, credentials revoked...
        return RetestResult("failed", describe(exc))
    logger.info("re-tested", extra={"scanned": outcome.scanned, "findings": outcome.findings,
                                    "new": len(outcome.new_findings), "notified": outcome.notified})
    refresh_base_image(services, project.id)
    return RetestResult("tested")
