"""Projects: one record per imported image (and platform), created by its first test and
refreshed by every later one; the schedule of its next test follows its frequency."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from quaywatch.api_errors import NotFound
from quaywatch.errors import QuaywatchError
from quaywatch.outcome import IssueCounts
from quaywatch.ports import ProjectsRepository
from quaywatch.projects.records import Project
from quaywatch.tenancy.access import Principal

INTERVALS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}


# From a project record: the changes to write, and the fields they were derived from.
Decision = Callable[[Project], tuple[dict[str, Any], tuple[str, ...]]]


class ConcurrentChange(QuaywatchError):
    """A field kept changing under a read-modify-write: the caller may try again."""


class ProjectStore:
    def __init__(self, repository: ProjectsRepository) -> None:
        self._repository = repository

    def get(self, project_id: str) -> Project | None:
        return self._repository.get(project_id)

    def for_principal(self, principal: Principal, project_id: str) -> Project:
        item = self.get(project_id)
        if item is None or item.org_id != principal.org_id:
            raise NotFound(f"no project {project_id}")
        return item

    def set_fields(self, project_id: str, changes: dict[str, Any]) -> None:
        """Write these fields of the project only (None removes one); NotFound when it is gone."""
        if not self._repository.update(project_id, changes):
            raise NotFound(f"no project {project_id}")

    def change_field(self, project_id: str, name: str, change: Callable[[Any], Any]) -> Project:
        """Read-modify-write of one field, safe against a concurrent writer of the same field;
        the record as written."""
        return self._update_unchanged(project_id, lambda item: ({name: change(getattr(item, name))}, (name,)))

    def record_failure(self, project_id: str, error: str, at: datetime) -> Project:
        """A failed test attempt: ``last_test`` says so, with why; ``failed_tests`` counts the
        attempts since the last success. The record as written."""
        def decide(item: Project) -> tuple[dict[str, Any], tuple[str, ...]]:
            # read on the last test: absent on a project never tested since it came (a count of
            # failures absent and zero would look the same to a condition)
            return ({"last_test": {"status": "failed", "at": iso(at), "error": error[:500]},
                     "failed_tests": item.failed_tests + 1}, ("last_test",))

        return self._update_unchanged(project_id, decide)

    def list(self, principal: Principal, repository: str | None = None,
             integration_id: str | None = None) -> list[Project]:
        return self._repository.list_by_org(principal.org_id, repository, integration_id)

    def mark_viewed(self, project_id: str) -> None:
        self._repository.mark_viewed(project_id)

    def update_settings(self, item: Project, test_frequency: str | None, active: bool | None) -> Project:
        return self._reschedule(item.id, test_frequency, active)

    def _reschedule(self, project_id: str, frequency: str | None = None, active: bool | None = None) -> Project:
        """Set the frequency and activity given (None: as stored) and the next test from them
        and the last test, all as stored now."""
        def decide(item: Project) -> tuple[dict[str, Any], tuple[str, ...]]:
            wanted_frequency = frequency if frequency is not None else item.test_frequency
            wanted_active = active if active is not None else item.active
            last = datetime.fromisoformat(item.last_tested_at) if item.last_tested_at else datetime.now(UTC)
            changes = {"active": wanted_active, **schedule_fields(wanted_frequency, wanted_active, last)}
            return changes, ("test_frequency", "active", "last_tested_at")

        return self._update_unchanged(project_id, decide)

    def _update_unchanged(self, project_id: str, decide: Decision, attempts: int = 8) -> Project:
        """Read the project, ``decide`` the changes and the fields they were derived from, and
        write them only if those fields still hold what was read; else read again. The record
        as written; ConcurrentChange after ``attempts`` reads."""
        for _ in range(attempts):
            item = self.get(project_id)
            if item is None:
                raise NotFound(f"no project {project_id}")
            changes, read = decide(item)
            if self._repository.update(project_id, changes, expect={name: getattr(item, name) for name in read}):
                return item.changed(changes)
        raise ConcurrentChange(f"project {project_id} kept changing; try again")

    def delete(self, project_id: str) -> None:
        self._repository.delete(project_id)

    def due(self, frequency: str, now: datetime) -> list[str]:
        return self._repository.due(frequency, iso(now))

    def monitored_tags(self, integration_id: str, repository: str) -> dict[str, list[str]]:
        """tag -> project ids, for the tags of a repository that are projects."""
        tags: dict[str, list[str]] = {}
        for tag, project_id in self._repository.tags_of(integration_id, repository):
            tags.setdefault(tag, []).append(project_id)
        return tags


def counts_fields(counts: IssueCounts, valid_until: date | None) -> dict[str, Any]:
    """What a project record holds of its counts (``stored_counts`` reads them back)."""
    return {"issue_counts": counts.as_dict(), "ignored_count": counts.ignored, "fixable_count": counts.fixable,
            "counts_valid_until": valid_until.isoformat() if valid_until else None}


def public_view(item: Project) -> dict[str, Any]:
    counts = item.counts
    return {
        "id": item.id, "integration_id": item.integration_id, "repository": item.repository, "tag": item.tag,
        "platform": item.platform, "digest": item.digest, "is_new": item.is_new, "origin": item.origin,
        "imported_by": item.imported_by,
        "test_frequency": item.test_frequency, "active": item.active,
        "issue_counts": counts.as_dict() | {"fixable": counts.fixable}, "ignored_count": counts.ignored,
        "fixable_count": counts.fixable, "finding_count": item.finding_count, "last_tested_at": item.last_tested_at,
        "last_test": item.last_test.model_dump() if item.last_test else None, "failed_tests": item.failed_tests,
    }


def counts_lapsed(item: Project, today: date | None = None) -> bool:
    """True when an ignore that shaped the stored counts has expired since: recount first."""
    valid_until = item.counts_valid_until
    return bool(valid_until) and str(valid_until) < (today or date.today()).isoformat()


def schedule_fields(frequency: str, active: bool, last_test: datetime) -> dict[str, Any]:
    """``next_test_at`` after a test at ``last_test`` (None: not scheduled), with the frequency
    it belongs to (the adapters index due projects by both)."""
    due = iso(last_test + INTERVALS[frequency]) if active and frequency in INTERVALS else None
    return {"test_frequency": frequency, "next_test_at": due}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")

