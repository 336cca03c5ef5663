"""Re-test scheduling: which projects are due, and the messages that ask for a re-test."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from quaywatch.ports import WorkQueue
from quaywatch.projects.store import ProjectStore


@dataclass(frozen=True)
class RetestMessage:
    project_id: str
    reason: str

    def to_json(self) -> str:
        return json.dumps({"project_id": self.project_id, "reason": self.reason})

    @classmethod
    def from_json(cls, body: str) -> RetestMessage:
        from quaywatch.projects.imports import MalformedMessage

        try:
            data = json.loads(body)
            return cls(str(data["project_id"]), str(data.get("reason", "unknown")))
        except (ValueError, KeyError, TypeError) as exc:
            raise MalformedMessage(f"not a re-test message: {exc}") from None


def enqueue_retests(queue: WorkQueue, project_ids: list[str], reason: str) -> int:
    queue.send_many([RetestMessage(pid, reason).to_json() for pid in project_ids])
    return len(project_ids)


def due_projects(projects: ProjectStore, frequency: str, now: datetime | None = None) -> list[str]:
    return projects.due(frequency, now or datetime.now(UTC))
