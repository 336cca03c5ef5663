"""Projects: one record per imported image (and platform), created by its first test and
refreshed by every later one; the schedule of its next test follows its frequency."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from quaywatch.api_errors import NotFound
from quaywatch.outcome import IssueCounts, stored_counts
from quaywatch.ports import ProjectsRepository
from quaywatch.tenancy.access import Principal

INTERVALS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}


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
        item = {
            **existing,
            "id": project_id, "org_id": org_id, "integration_id": integration_id, "repository": repository,
            "tag": tag, "platform": platform, "digest": digest, "origin": "quay", "os": os_name,
            "package_count": package_count, "finding_count": finding_count, **counts_fields(counts, counts_valid_until),
            "last_tested_at": _iso(tested_at),
            "test_frequency": existing.get("test_frequency", "daily"), "active": existing.get("active", True),
            "is_new": existing.get("is_new", True), "created_at": existing.get("created_at", _iso(tested_at)),
        }
        _schedule(item, tested_at)
        self._repository.put(item)
        return item

    def list(self, principal: Principal, repository: str | None = None,
             integration_id: str | None = None) -> list[dict[str, Any]]:
        return self._repository.list_by_org(principal.org_id, repository, integration_id)

    def mark_viewed(self, project_id: str) -> None:
        self._repository.mark_viewed(project_id)

    def update_settings(self, item: dict[str, Any], test_frequency: str | None, active: bool | None) -> dict[str, Any]:
        if test_frequency is not None:
            item["test_frequency"] = test_frequency
        if active is not None:
            item["active"] = active
        last = datetime.fromisoformat(item["last_tested_at"]) if item.get("last_tested_at") else datetime.now(UTC)
        _schedule(item, last)
        self._repository.put(item)
        return item

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


def _schedule(item: dict[str, Any], last_test: datetime) -> None:
    frequency = item.get("test_frequency", "daily")
    item.pop("due_frequency", None)  # written by the DynamoDB adapter, not ours
    if item.get("active", True) and frequency in INTERVALS:
        item["next_test_at"] = _iso(last_test + INTERVALS[frequency])
    else:
        item.pop("next_test_at", None)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def as_int(value: Any) -> int:
    return int(value) if isinstance(value, (int, Decimal)) else 0
