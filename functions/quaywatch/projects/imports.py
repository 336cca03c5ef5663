"""Import jobs: one queue message per image, progress counted exactly once per image.

Each job holds its totals and one entry per image (pending -> succeeded | failed). A worker
completes an image with one atomic step (``ImportsRepository.complete``): the image leaves
``pending`` and the job's counter goes up together; a redelivered message finds the image no
longer pending and changes nothing.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from quaywatch.api_errors import NotFound
from quaywatch.errors import UsageError
from quaywatch.observability import logger
from quaywatch.ports import AlreadyExists, ImportsRepository, WorkQueue
from quaywatch.projects.identity import image_name
from quaywatch.projects.records import TRIGGERS, ImageOutcome, ImportedBy, ImportJob
from quaywatch.tenancy.access import Principal

MAX_ERROR_LENGTH = 1000
HISTORY_PREVIEW = 5  # image names kept on the job for the history list


class MalformedMessage(ValueError):
    """A queue message that is not an import message: it can never succeed."""


@dataclass(frozen=True)
class ImportMessage:
    import_id: str
    org_id: str
    integration_id: str
    repository: str
    tag: str | None  # None: every tag of the repository (a worker lists them and adds one message each)
    source: str = "api"  # api | webhook | sync: what a project this import creates says made it

    @property
    def image(self) -> str:
        return image_name(self.repository, self.tag) if self.tag is not None else self.repository

    @property
    def imported_by(self) -> ImportedBy:
        return TRIGGERS.get(self.source, "manual")

    def to_json(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def from_json(cls, body: str) -> ImportMessage:
        try:
            data = json.loads(body)
            fields = {k: str(data[k]) for k in ("import_id", "org_id", "integration_id", "repository")}
            tag = data["tag"]
            return cls(**fields, tag=None if tag is None else str(tag),
                       source=str(data.get("source", "api")))  # messages sent before it had a source
        except (ValueError, KeyError, TypeError) as exc:
            raise MalformedMessage(f"not an import message: {exc}") from None


class ImportStore:
    def __init__(self, repository: ImportsRepository, queue: WorkQueue) -> None:
        self._repository = repository
        self._queue = queue

    def start(self, org_id: str, integration_id: str, images: list[tuple[str, str]], source: str = "api",
              import_id: str | None = None, created_by: str | None = None,
              repositories: list[str] | None = None) -> str:
        """Record the job and its images (committed first), then enqueue one message per image.
        ``created_by``: the user who asked (None for Quay's webhooks). ``import_id`` given and
        taken (a retried sync starting its import again): the messages are sent again, which
        changes nothing for images already recorded."""
        import_id = import_id or new_import_id()
        whole = list(dict.fromkeys(repositories or []))
        unique = [(r, t) for r, t in dict.fromkeys(images) if r not in whole]  # a whole repository has them all
        names = [image_name(repository, tag) for repository, tag in unique]
        job = ImportJob(import_id=import_id, org_id=org_id, integration_id=integration_id, total=len(unique),
                        source=source, created_at=_now(), created_by=created_by or None,
                        images_preview=(names + whole)[:HISTORY_PREVIEW])
        try:
            self._repository.create(job, names, whole)
        except AlreadyExists:
            logger.info("import exists; its messages are sent again", extra={"import_id": import_id})
        self._queue.send_many([ImportMessage(import_id, org_id, integration_id, repository, tag, source).to_json()
                               for repository, tag in [*unique, *((r, None) for r in whole)]])
        return import_id

    def expand(self, message: ImportMessage, tags: list[str]) -> None:
        """A whole repository's tags become images of its import (once), each sent as a
        message (again on a redelivery: an image recorded already is skipped by its worker)."""
        images = [image_name(message.repository, tag) for tag in tags]
        self._repository.expand(message.import_id, message.repository, images)
        self._queue.send_many([ImportMessage(message.import_id, message.org_id, message.integration_id,
                                             message.repository, tag, message.source).to_json() for tag in tags])

    def is_pending(self, message: ImportMessage) -> bool:
        return self._repository.image_status(message.import_id, message.image) == "pending"

    def complete(self, message: ImportMessage, status: str, project_id: str | None = None,
                 error: str | None = None, project_ids: list[str] | None = None) -> bool:
        """Record one image's outcome; False if it was already recorded (a redelivery)."""
        outcome = ImageOutcome(
            status=status, at=_now(), project_id=project_id or None,
            project_ids=project_ids if project_ids and len(project_ids) > 1 else [],  # one project per platform
            error=error[:MAX_ERROR_LENGTH] if error else None)
        return self._repository.complete(message.import_id, message.image, outcome)

    def status(self, principal: Principal, import_id: str) -> dict[str, Any]:
        job = self._job(principal, import_id)
        return {"id": import_id, **_progress(job), "created_at": job.created_at}

    def history(self, principal: Principal, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """The organisation's imports, newest first: who, when, which images, counts, status."""
        try:
            jobs, next_cursor = self._repository.list_by_org(principal.org_id, limit, cursor)
        except ValueError:
            raise UsageError("invalid cursor; start again without it") from None
        entries = []
        for job in jobs:
            entries.append({
                "id": job.import_id, "created_at": job.created_at, "created_by": job.created_by, "source": job.source,
                "trigger": TRIGGERS.get(job.source, "manual"),
                "integration_id": job.integration_id, "images": list(job.images_preview), **_progress(job)})
        return entries, next_cursor

    def log(self, principal: Principal, import_id: str) -> list[dict[str, Any]]:
        self._job(principal, import_id)
        entries = []
        for item in self._repository.images(import_id):
            entries.append(item.model_dump(mode="json", exclude_none=True, exclude_defaults=True,
                                           exclude={"image", "status", "at"})
                           | {"image": item.image, "status": item.status, "at": item.at})
        return entries

    def _job(self, principal: Principal, import_id: str) -> ImportJob:
        job = self._repository.get_job(import_id)
        if job is None or job.org_id != principal.org_id:
            raise NotFound(f"no import {import_id}")
        return job


def _progress(job: ImportJob) -> dict[str, Any]:
    return {"status": "completed" if job.completed else "running", "total": job.total,
            "succeeded": job.succeeded, "failed": job.failed}


def new_import_id() -> str:
    """32 hex digits that sort by creation time (nanoseconds, then 64 random bits).

    The history lists jobs by ``created_at`` then id; two imports started within the same
    millisecond (a script, a burst of webhooks) still list newest first.
    """
    return f"{time.time_ns():016x}{secrets.token_hex(8)}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
