"""Keeping the embedded AWS's state in the data directory across restarts.

moto keeps everything in memory, so the server snapshots it: every DynamoDB item, the
objects of the buckets, the secrets (encrypted with a key kept next to them, mode 0600) and,
at a clean shutdown once the pollers have stopped, the queued messages. Start-up restores
the snapshot into the freshly provisioned resources.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from quaywatch.runtime.template import PhysicalIds, Template


class StateStore:
    def __init__(self, data_dir: Path) -> None:
        self.directory = data_dir / "state"
        self.directory.mkdir(parents=True, exist_ok=True)
        key_file = data_dir / "state.key"
        if not key_file.exists():
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(Fernet.generate_key())
        self._fernet = Fernet(key_file.read_bytes())

    # --- snapshot ----------------------------------------------------------------------------

    def save(self, session: Any, template: Template, physical: PhysicalIds, include_queues: bool) -> None:
        dynamodb = session.client("dynamodb")
        tables = {}
        for name in template.of_type("AWS::DynamoDB::Table"):
            items: list[dict] = []
            arguments: dict[str, Any] = {"TableName": physical.refs[name]}
            while True:
                page = dynamodb.scan(**arguments)
                items.extend(page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    break
                arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            tables[name] = items
        self._write("dynamodb.json", tables)
        secrets = session.client("secretsmanager")
        saved = []
        for page in secrets.get_paginator("list_secrets").paginate():
            for entry in page["SecretList"]:
                if entry.get("DeletedDate"):
                    continue
                value = secrets.get_secret_value(SecretId=entry["ARN"])["SecretString"]
                saved.append({"name": entry["Name"], "value": self._fernet.encrypt(value.encode()).decode(),
                              "tags": entry.get("Tags", [])})
        self._write("secrets.json", saved)
        s3 = session.client("s3")
        buckets = {}
        for name in template.of_type("AWS::S3::Bucket"):
            objects = {}
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=physical.refs[name]):
                for entry in page.get("Contents", []):
                    body = s3.get_object(Bucket=physical.refs[name], Key=entry["Key"])["Body"].read()
                    objects[entry["Key"]] = base64.b64encode(body).decode()
            buckets[name] = objects
        self._write("s3.json", buckets)
        if include_queues:
            sqs = session.client("sqs")
            queues = {}
            for name in template.of_type("AWS::SQS::Queue"):
                bodies = []
                while True:
                    batch = sqs.receive_message(QueueUrl=physical.refs[name], MaxNumberOfMessages=10,
                                                VisibilityTimeout=60).get("Messages", [])
                    if not batch:
                        break
                    bodies.extend(m["Body"] for m in batch)
                queues[name] = bodies
            self._write("sqs.json", queues)

    # --- restore -----------------------------------------------------------------------------

    def restore(self, session: Any, physical: PhysicalIds) -> dict[str, int]:
        counts = {"items": 0, "secrets": 0, "objects": 0, "messages": 0}
        dynamodb = session.client("dynamodb")
        for name, items in self._read("dynamodb.json", {}).items():
            for item in items:
                dynamodb.put_item(TableName=physical.refs[name], Item=_restore_binary(item))
                counts["items"] += 1
        secrets = session.client("secretsmanager")
        for entry in self._read("secrets.json", []):
            value = self._fernet.decrypt(entry["value"].encode()).decode()
            try:
                secrets.create_secret(Name=entry["name"], SecretString=value, Tags=entry.get("tags") or [])
            except secrets.exceptions.ResourceExistsException:
                secrets.put_secret_value(SecretId=entry["name"], SecretString=value)
            counts["secrets"] += 1
        s3 = session.client("s3")
        for name, objects in self._read("s3.json", {}).items():
            for key, body in objects.items():
                s3.put_object(Bucket=physical.refs[name], Key=key, Body=base64.b64decode(body))
                counts["objects"] += 1
        sqs = session.client("sqs")
        for name, bodies in self._read("sqs.json", {}).items():
            for body in bodies:
                sqs.send_message(QueueUrl=physical.refs[name], MessageBody=body)
                counts["messages"] += 1
        (self.directory / "sqs.json").unlink(missing_ok=True)  # restored once, never twice
        return counts

    def _write(self, name: str, document: Any) -> None:
        temporary = self.directory / f".{name}.tmp"
        temporary.write_text(json.dumps(document, default=_encode_binary))
        os.replace(temporary, self.directory / name)

    def _read(self, name: str, default: Any) -> Any:
        path = self.directory / name
        return json.loads(path.read_text()) if path.exists() else default


def _encode_binary(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return {"__binary__": base64.b64encode(bytes(value)).decode()}
    raise TypeError(f"cannot snapshot {type(value).__name__}")


def _restore_binary(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__binary__"}:
            return base64.b64decode(value["__binary__"])
        return {k: _restore_binary(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore_binary(v) for v in value]
    return value
