"""Import jobs: one SQS message per image, progress counted exactly once per image.

ImportsTable holds, per import, a ``JOB`` item (totals) and one ``IMAGE#<repo>:<tag>`` item
per image (pending -> succeeded | failed). A worker completes an image with one
transaction: the image item moves out of ``pending`` (conditionally) and the job counter
goes up; a redelivered message finds the image no longer pending and changes nothing.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from quaywatch.api_errors import NotFound
from quaywatch.projects.identity import image_name
from quaywatch.storage import query_all
from quaywatch.tenancy.access import Principal

RETENTION_SECONDS = 90 * 24 * 3600


@dataclass(frozen=True)
class ImportMessage:
    import_id: str
    org_id: str
    integration_id: str
    repository: str
    tag: str

    def to_json(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def from_json(cls, body: str) -> ImportMessage:
        data = json.loads(body)
        return cls(**{k: str(data[k]) for k in ("import_id", "org_id", "integration_id", "repository", "tag")})


class ImportStore:
    def __init__(self, table: Any, dynamodb_client: Any, sqs: Any, queue_url: str) -> None:
        self._table = table
        self._client = dynamodb_client
        self._sqs = sqs
        self._queue_url = queue_url

    def start(self, org_id: str, integration_id: str, images: list[tuple[str, str]], source: str = "api") -> str:
        """Record the job and its images, then enqueue one message per image."""
        import_id = uuid.uuid4().hex
        unique = list(dict.fromkeys(images))
        expires = int(time.time()) + RETENTION_SECONDS
        with self._table.batch_writer() as batch:
            batch.put_item(Item={
                "import_id": import_id, "item": "JOB", "org_id": org_id, "integration_id": integration_id,
                "total": len(unique), "succeeded": 0, "failed": 0, "source": source, "created_at": _now(),
                "expires_at": expires})
            for repository, tag in unique:
                batch.put_item(Item={"import_id": import_id, "item": f"IMAGE#{image_name(repository, tag)}",
                                     "image": image_name(repository, tag), "status": "pending", "at": _now(),
                                     "expires_at": expires})
        messages = [ImportMessage(import_id, org_id, integration_id, repository, tag) for repository, tag in unique]
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            response = self._sqs.send_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(n), "MessageBody": m.to_json()} for n, m in enumerate(chunk)],
            )
            if response.get("Failed"):
                raise RuntimeError(f"could not enqueue {len(response['Failed'])} import messages")
        return import_id

    def complete(self, message: ImportMessage, status: str, project_id: str | None = None,
                 error: str | None = None, project_ids: list[str] | None = None) -> bool:
        """Record one image's outcome; False if it was already recorded (a redelivery)."""
        image_item: dict[str, Any] = {":pending": {"S": "pending"}, ":status": {"S": status}, ":at": {"S": _now()}}
        expression = "SET #s = :status, #at = :at"
        if project_id:
            expression += ", project_id = :project"
            image_item[":project"] = {"S": project_id}
        if project_ids and len(project_ids) > 1:  # a multi-platform image: one project per platform
            expression += ", project_ids = :projects"
            image_item[":projects"] = {"L": [{"S": pid} for pid in project_ids]}
        if error:
            expression += ", #e = :error"
            image_item[":error"] = {"S": error[:1000]}
        names = {"#s": "status", "#at": "at", **({"#e": "error"} if error else {})}
        counter = "succeeded" if status == "succeeded" else "failed"
        try:
            self._client.transact_write_items(TransactItems=[
                {"Update": {"TableName": self._table.name,
                            "Key": {"import_id": {"S": message.import_id},
                                    "item": {"S": f"IMAGE#{image_name(message.repository, message.tag)}"}},
                            "UpdateExpression": expression, "ConditionExpression": "#s = :pending",
                            "ExpressionAttributeNames": names, "ExpressionAttributeValues": image_item}},
                {"Update": {"TableName": self._table.name,
                            "Key": {"import_id": {"S": message.import_id}, "item": {"S": "JOB"}},
                            "UpdateExpression": f"ADD {counter} :one",
                            "ExpressionAttributeValues": {":one": {"N": "1"}}}},
            ])
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException":
                return False
            raise
        return True

    def status(self, principal: Principal, import_id: str) -> dict[str, Any]:
        job = self._job(principal, import_id)
        total, succeeded, failed = int(job["total"]), int(job["succeeded"]), int(job["failed"])
        return {"id": import_id, "status": "completed" if succeeded + failed >= total else "running",
                "total": total, "succeeded": succeeded, "failed": failed, "created_at": job["created_at"]}

    def log(self, principal: Principal, import_id: str) -> list[dict[str, Any]]:
        self._job(principal, import_id)
        items = self._query(import_id, "IMAGE#")
        entries = []
        for item in sorted(items, key=lambda i: i["image"]):
            entry = {"image": item["image"], "status": item["status"], "at": item["at"]}
            if item.get("project_id"):
                entry["project_id"] = item["project_id"]
            if item.get("project_ids"):
                entry["project_ids"] = list(item["project_ids"])
            if item.get("error"):
                entry["error"] = item["error"]
            entries.append(entry)
        return entries

    def _job(self, principal: Principal, import_id: str) -> dict[str, Any]:
        job = self._table.get_item(Key={"import_id": import_id, "item": "JOB"}).get("Item")
        if job is None or job["org_id"] != principal.org_id:
            raise NotFound(f"no import {import_id}")
        return job

    def _query(self, import_id: str, prefix: str) -> list[dict[str, Any]]:
        return query_all(self._table, KeyConditionExpression="import_id = :i AND begins_with(#k, :p)",
                         ExpressionAttributeNames={"#k": "item"},
                         ExpressionAttributeValues={":i": import_id, ":p": prefix})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
