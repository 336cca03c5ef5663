"""Import jobs: one queue message per image, progress counted exactly once per image.

Each job holds its totals and one entry per image (pending -> succeeded | failed). A worker
completes an image with one atomic step (``ImportsRepository.complete``): the image leaves
``pending`` and the job's counter goes up together; a redelivered message finds the image no
longer pending and changes nothing.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from quaywatch.api_errors import NotFound
from quaywatch.ports import ImportsRepository, WorkQueue
from quaywatch.projects.identity import image_name
from quaywatch.tenancy.access import Principal

MAX_ERROR_LENGTH = 1000


class MalformedMessage(ValueError):
    """A queue message that is not an import message: it can never succeed."""


@dataclass(frozen=True)
class ImportMessage:
    import_id: str
    org_id: str
    integration_id: str
    repository: str
    tag: str

    @property
    def image(self) -> str:
        return image_name(self.repository, self.tag)

    def to_json(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def from_json(cls, body: str) -> ImportMessage:
        try:
            data = json.loads(body)
            return cls(**{k: str(data[k]) for k in ("import_id", "org_id", "integration_id", "repository", "tag")})
        except (ValueError, KeyError, TypeError) as exc:
            raise MalformedMessage(f"not an import message: {exc}") from None


class ImportStore:
    def __init__(self, repository: ImportsRepository, queue: WorkQueue) -> None:
        self._repository = repository
        self._queue = queue

    def start(self, org_id: str, integration_id: str, images: list[tuple[str, str]], source: str = "api",
              import_id: str | None = None) -> str:
        """Record the job and its images (committed first), then enqueue one message per image."""
        import_id = import_id or uuid.uuid4().hex
        unique = list(dict.fromkeys(images))
        self._repository.create({"import_id": import_id, "org_id": org_id, "integration_id": integration_id,
                                 "total": len(unique), "source": source, "created_at": _now()},
                                [image_name(repository, tag) for repository, tag in unique])
        self._queue.send_many([ImportMessage(import_id, org_id, integration_id, repository, tag).to_json()
                               for repository, tag in unique])
        return import_id

    def is_pending(self, message: ImportMessage) -> bool:
        return self._repository.image_status(message.import_id, message.image) == "pending"

    def complete(self, message: ImportMessage, status: str, project_id: str | None = None,
                 error: str | None = None, project_ids: list[str] | None = None) -> bool:
        """Record one image's outcome; False if it was already recorded (a redelivery)."""
        outcome: dict[str, Any] = {"status": status, "at": _now()}
        if project_id:
            outcome["project_id"] = project_id
        if project_ids and len(project_ids) > 1:  # a multi-platform image: one project per platform
            outcome["project_ids"] = project_ids
        if error:
            outcome["error"] = error[:MAX_ERROR_LENGTH]
        return self._repository.complete(message.import_id, message.image, outcome)

    def status(self, principal: Principal, import_id: str) -> dict[str, Any]:
        job = self._job(principal, import_id)
        total, succeeded, failed = int(job["total"]), int(job["succeeded"]), int(job["failed"])
        return {"id": import_id, "status": "completed" if succeeded + failed >= total else "running",
                "total": total, "succeeded": succeeded, "failed": failed, "created_at": job["created_at"]}

    def log(self, principal: Principal, import_id: str) -> list[dict[str, Any]]:
        self._job(principal, import_id)
        entries = []
        for item in self._repository.images(import_id):
            entry = {"image": item["image"], "status": item["status"], "at": item["at"]}
            for optional in ("project_id", "project_ids", "error"):
                if item.get(optional):
                    entry[optional] = item[optional]
            entries.append(entry)
        return entries

    def _job(self, principal: Principal, import_id: str) -> dict[str, Any]:
        job = self._repository.get_job(import_id)
        if job is None or job["org_id"] != principal.org_id:
            raise NotFound(f"no import {import_id}")
        return job


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
