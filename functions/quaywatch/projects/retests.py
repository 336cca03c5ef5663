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


RECOUNT_BATCH = 100  # projects recounted per message


@dataclass(frozen=True)
class RecountMessage:
    """Recount an organisation's projects under its rules as they are now (after an ignore
    was added or removed): without ``project_ids``, fan out to messages of RECOUNT_BATCH
    projects each; with them, recount those. Idempotent: a recount is a pure function of the
    latest test and the rules, so a redelivered or duplicated message changes nothing."""

    org_id: str
    project_ids: tuple[str, ...] | None = None

    def to_json(self) -> str:
        return json.dumps({"recount": self.org_id, **({"project_ids": list(self.project_ids)}
                                                       if self.project_ids is not None else {})})


def parse_work(body: str) -> RetestMessage | RecountMessage:
    """A message of the re-test queue: a re-test of one project, or a recount."""
    from quaywatch.projects.imports import MalformedMessage

    try:
        data = json.loads(body)
        if isinstance(data, dict) and "recount" in data:
            ids = data.get("project_ids")
            return RecountMessage(str(data["recount"]), tuple(str(i) for i in ids) if ids is not None else None)
    except (ValueError, TypeError) as exc:
        raise MalformedMessage(f"not a re-test queue message: {exc}") from None
    return RetestMessage.from_json(body)


def enqueue_recount(queue: WorkQueue, org_id: str) -> None:
    queue.send(RecountMessage(org_id).to_json())


def enqueue_retests(queue: WorkQueue, project_ids: list[str], reason: str) -> int:
    queue.send_many([RetestMessage(pid, reason).to_json() for pid in project_ids])
    return len(project_ids)


def due_projects(projects: ProjectStore, frequency: str, now: datetime | None = None) -> list[str]:
    return projects.due(frequency, now or datetime.now(UTC))
