"""Projects: one record per imported image (and platform), created by its first test and
refreshed by every later one; the schedule of its next test follows its frequency."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from quaywatch.api_errors import NotFound
from quaywatch.errors import QuaywatchError
from quaywatch.outcome import IssueCounts, stored_counts
from quaywatch.ports import ProjectsRepository
from quaywatch.tenancy.access import Principal

INTERVALS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}


# From a project record: the changes to write, and the fields they were derived from.
Decision = Callable[[dict[str, Any]], tuple[dict[str, Any], tuple[str, ...]]]


class ConcurrentChange(QuaywatchError):
    """A field kept changing under a read-modify-write: the caller may try again."""


class ProjectStore:
    def __init__(self, repository: ProjectsRepository) -> None:
        self._repository = repository

    def get(self, project_id: str) -> dict[str, Any] | None:
        return self._repository.get(project_id)

    def for_principal(self, principal: Principal, project_id: str) -> dict[str, Any]:
        item = self.get(project_id)
        if item is None or item["org_id"] != principal.org_id:
            raise NotFound(f"no project {project_id}")
        return item

    def record_test(self, *, project_id: str, org_id: str, integration_id: str, repository: str, tag: str,
                    platform: str, digest: str, os_name: str | None, package_count: int,
                    counts: IssueCounts, finding_count: int, tested_at: datetime,
                    counts_valid_until: date | None = None,
                    existing: dict[str, Any] | None = None) -> dict[str, Any]:
        """Create the project on its first test, else refresh it (one record per identity).
        ``existing``: the record as the caller already read it (else it is read here).
        ``counts_valid_until``: the day after which an ignore behind the counts lapses."""
        existing = (existing if existing is not None else self.get(project_id)) or {}
        tested = {
            "digest": digest, "os": os_name, "package_count": package_count, "finding_count": finding_count,
            **counts_fields(counts, counts_valid_until), "last_tested_at": _iso(tested_at),
        }
        if existing and self._repository.update(project_id, tested):
            # Only what a test decides: an ignore or a setting written meanwhile stays; the next
            # test is scheduled from the settings as they are now.
            return self._reschedule(project_id)
        item = {
            "id": project_id, "org_id": org_id, "integration_id": integration_id, "repository": repository,
            "tag": tag, "platform": platform, "origin": "quay", **tested,
            "test_frequency": "daily", "active": True, "is_new": True, "created_at": _iso(tested_at),
        }
        item = merged(item, _schedule_fields("daily", True, tested_at))
        self._repository.put(item)
        return item

    def set_fields(self, project_id: str, changes: dict[str, Any]) -> None:
        """Write these fields of the project only (None removes one); NotFound when it is gone."""
        if not self._repository.update(project_id, changes):
            raise NotFound(f"no project {project_id}")

    def change_field(self, project_id: str, name: str, change: Callable[[Any], Any]) -> dict[str, Any]:
        """Read-modify-write of one field, safe against a concurrent writer of the same field;
        the record as written."""
        return self._update_unchanged(project_id, lambda item: ({name: change(item.get(name))}, (name,)))

    def list(self, principal: Principal, repository: str | None = None,
             integration_id: str | None = None) -> list[dict[str, Any]]:
        return self._repository.list_by_org(principal.org_id, repository, integration_id)

    def mark_viewed(self, project_id: str) -> None:
        self._repository.mark_viewed(project_id)

    def update_settings(self, item: dict[str, Any], test_frequency: str | None, active: bool | None) -> dict[str, Any]:
        return self._reschedule(item["id"], test_frequency, active)

    def _reschedule(self, project_id: str, frequency: str | None = None, active: bool | None = None) -> dict[str, Any]:
        """Set the frequency and activity given (None: as stored) and the next test from them
        and the last test, all as stored now."""
        def decide(item: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
            wanted_frequency = frequency if frequency is not None else item.get("test_frequency", "daily")
            wanted_active = active if active is not None else item.get("active", True)
            last = datetime.fromisoformat(item["last_tested_at"]) if item.get("last_tested_at") else datetime.now(UTC)
            changes = {"active": wanted_active, **_schedule_fields(wanted_frequency, wanted_active, last)}
            return changes, ("test_frequency", "active", "last_tested_at")

        return self._update_unchanged(project_id, decide)

    def _update_unchanged(self, project_id: str, decide: Decision, attempts: int = 8) -> dict[str, Any]:
        """Read the project, ``decide`` the changes and the fields they were derived from, and
        write them only if those fields still hold what was read; else read again. The record
        as written; ConcurrentChange after ``attempts`` reads."""
        for _ in range(attempts):
            item = self.get(project_id)
            if item is None:
                raise NotFound(f"no project {project_id}")
            changes, read = decide(item)
            if self._repository.update(project_id, changes, expect={name: item.get(name) for name in read}):
                return merged(item, changes)
        raise ConcurrentChange(f"project {project_id} kept changing; try again")

    def delete(self, project_id: str) -> None:
        self._repository.delete(project_id)

    def due(self, frequency: str, now: datetime) -> list[str]:
        return self._repository.due(frequency, _iso(now))

    def monitored_tags(self, integration_id: str, repository: str) -> dict[str, list[str]]:
        """tag -> project ids, for the tags of a repository that are projects."""
        tags: dict[str, list[str]] = {}
        for item in self._repository.by_repository(integration_id, repository):
            tags.setdefault(item["tag"], []).append(item["id"])
        return tags


def merged(record: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``record`` with ``changes`` applied as ``ProjectsRepository.update`` applies them
    (None removes a field)."""
    return {key: value for key, value in {**record, **changes}.items() if value is not None}


def counts_fields(counts: IssueCounts, valid_until: date | None) -> dict[str, Any]:
    """What a project record holds of its counts (``stored_counts`` reads them back)."""
    return {"issue_counts": counts.as_dict(), "ignored_count": counts.ignored, "fixable_count": counts.fixable,
            "counts_valid_until": valid_until.isoformat() if valid_until else None}


def public_view(item: dict[str, Any]) -> dict[str, Any]:
    counts = stored_counts(item)
    return {
        "id": item["id"], "integration_id": item["integration_id"], "repository": item["repository"],
        "tag": item["tag"], "platform": item["platform"], "digest": item.get("digest"),
        "is_new": bool(item.get("is_new", False)), "origin": item.get("origin", "quay"),
        "test_frequency": item.get("test_frequency", "daily"), "active": bool(item.get("active", True)),
        "issue_counts": counts.as_dict(), "ignored_count": counts.ignored, "fixable_count": counts.fixable,
        "finding_count": int(item.get("finding_count", 0)),
        "last_tested_at": item.get("last_tested_at"),
    }


def counts_lapsed(item: dict[str, Any], today: date | None = None) -> bool:
    """True when an ignore that shaped the stored counts has expired since: recount first."""
    valid_until = item.get("counts_valid_until")
    return bool(valid_until) and str(valid_until) < (today or date.today()).isoformat()


def _schedule_fields(frequency: str, active: bool, last_test: datetime) -> dict[str, Any]:
    """``next_test_at`` after a test at ``last_test`` (None: not scheduled), with the frequency
    it belongs to (the adapters index due projects by both)."""
    due = _iso(last_test + INTERVALS[frequency]) if active and frequency in INTERVALS else None
    return {"test_frequency": frequency, "next_test_at": due}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")

