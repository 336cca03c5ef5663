"""Re-test scheduling: which projects are due, and the messages that ask for a re-test."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from quaywatch.projects.store import ProjectStore


def enqueue_retests(sqs: Any, queue_url: str, project_ids: list[str], reason: str) -> int:
    for start in range(0, len(project_ids), 10):
        chunk = project_ids[start : start + 10]
        response = sqs.send_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(n), "MessageBody": json.dumps({"project_id": pid, "reason": reason})}
            for n, pid in enumerate(chunk)])
        if response.get("Failed"):
            raise RuntimeError(f"could not enqueue {len(response['Failed'])} re-tests")
    return len(project_ids)


def due_projects(projects: ProjectStore, frequency: str, now: datetime | None = None) -> list[str]:
    return projects.due(frequency, now or datetime.now(UTC))
