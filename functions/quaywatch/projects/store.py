"""ProjectsTable: one item per project.

Access patterns: by id (API, workers); by organisation, sorted repository#tag#platform
(``by_org``: the grouped listing, filtered by repository prefix); by integration+repository
and tag (``by_repository``: which pushed tags are monitored); due re-tests by frequency and
time (``due``: sparse, only active projects with daily/weekly tests carry ``due_frequency``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from quaywatch.api_errors import NotFound
from quaywatch.storage import query_all
from quaywatch.tenancy.access import Principal

INTERVALS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
SEVERITIES = ("critical", "high", "medium", "low")


class ProjectStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, project_id: str) -> dict[str, Any] | None:
        return self._table.get_item(Key={"id": project_id}).get("Item")

    def for_principal(self, principal: Principal, project_id: str) -> dict[str, Any]:
        item = self.get(project_id)
        if item is None or item["org_id"] != principal.org_id:
            raise NotFound(f"no project {project_id}")
        return item

    def record_test(self, *, project_id: str, org_id: str, integration_id: str, repository: str, tag: str,
                    platform: str, digest: str, os_name: str | None, package_count: int,
                    issue_counts: dict[str, int], finding_count: int, tested_at: datetime) -> dict[str, Any]:
        """Create the project on its first test, else refresh it (one item per identity)."""
        existing = self.get(project_id) or {}
        frequency = existing.get("test_frequency", "daily")
        active = existing.get("active", True)
        item = {
            **existing,
            "id": project_id, "org_id": org_id, "integration_id": integration_id, "repository": repository,
            "tag": tag, "platform": platform, "digest": digest, "origin": "quay", "os": os_name,
            "package_count": package_count, "issue_counts": issue_counts, "finding_count": finding_count,
            "last_tested_at": _iso(tested_at),
            "sort_key": f"{repository}#{tag}#{platform}", "integration_repository": f"{integration_id}#{repository}",
            "test_frequency": frequency, "active": active, "is_new": existing.get("is_new", True),
            "created_at": existing.get("created_at", _iso(tested_at)),
        }
        _schedule(item, tested_at)
        self._table.put_item(Item={k: v for k, v in item.items() if v is not None})
        return item

    def list(self, principal: Principal, repository: str | None = None,
             integration_id: str | None = None) -> list[dict[str, Any]]:
        condition = Key("org_id").eq(principal.org_id)
        if repository:
            condition &= Key("sort_key").begins_with(f"{repository}#")
        arguments: dict[str, Any] = {"IndexName": "by_org", "KeyConditionExpression": condition}
        if integration_id:
            arguments["FilterExpression"] = Attr("integration_id").eq(integration_id)
        return query_all(self._table, **arguments)

    def mark_viewed(self, project_id: str) -> None:
        self._table.update_item(Key={"id": project_id}, UpdateExpression="SET is_new = :f",
                                ExpressionAttributeValues={":f": False})

    def update_settings(self, item: dict[str, Any], test_frequency: str | None, active: bool | None) -> dict[str, Any]:
        if test_frequency is not None:
            item["test_frequency"] = test_frequency
        if active is not None:
            item["active"] = active
        last = datetime.fromisoformat(item["last_tested_at"]) if item.get("last_tested_at") else datetime.now(UTC)
        _schedule(item, last)
        self._table.put_item(Item={k: v for k, v in item.items() if v is not None})
        return item

    def delete(self, project_id: str) -> None:
        self._table.delete_item(Key={"id": project_id})

    def due(self, frequency: str, now: datetime) -> list[str]:
        items = query_all(self._table, IndexName="due",
                          KeyConditionExpression=Key("due_frequency").eq(frequency) & Key("next_test_at").lte(_iso(now)))
        return [item["id"] for item in items]

    def monitored_tags(self, integration_id: str, repository: str) -> dict[str, list[str]]:
        """tag -> project ids, for the tags of a repository that are projects."""
        items = query_all(self._table, IndexName="by_repository",
                          KeyConditionExpression=Key("integration_repository").eq(f"{integration_id}#{repository}"))
        tags: dict[str, list[str]] = {}
        for item in items:
            tags.setdefault(item["tag"], []).append(item["id"])
        return tags


def public_view(item: dict[str, Any]) -> dict[str, Any]:
    counts = item.get("issue_counts") or {}
    return {
        "id": item["id"], "integration_id": item["integration_id"], "repository": item["repository"],
        "tag": item["tag"], "platform": item["platform"], "digest": item.get("digest"),
        "is_new": bool(item.get("is_new", False)), "origin": item.get("origin", "quay"),
        "test_frequency": item.get("test_frequency", "daily"), "active": bool(item.get("active", True)),
        "issue_counts": {level: int(counts.get(level, 0)) for level in SEVERITIES},
        "finding_count": int(item.get("finding_count", 0)),
        "last_tested_at": item.get("last_tested_at"),
    }


def _schedule(item: dict[str, Any], last_test: datetime) -> None:
    frequency = item.get("test_frequency", "daily")
    if item.get("active", True) and frequency in INTERVALS:
        item["due_frequency"] = frequency
        item["next_test_at"] = _iso(last_test + INTERVALS[frequency])
    else:
        item.pop("due_frequency", None)
        item.pop("next_test_at", None)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def as_int(value: Any) -> int:
    return int(value) if isinstance(value, (int, Decimal)) else 0
