"""Upgrading a data directory of the moto-based ``serve`` (before the SQLite store): its state
was a snapshot in ``state/`` (every DynamoDB item as DynamoDB JSON, the secrets encrypted with
``state.key``, the bucket's objects, and the queued messages after a clean stop). It is read
once into a new database, which is renamed into place only when complete, so an interrupted
upgrade is simply done again; the snapshot is then kept aside as ``state.imported-<time>``.
"""

from __future__ import annotations

import base64
import json
import os
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from quaywatch.errors import QuaywatchError
from quaywatch.integrations.records import Integration
from quaywatch.ports import StoredTest
from quaywatch.projects.records import ImageOutcome, ImportJob, Project

SNAPSHOT = "state"
_INDEX_ATTRIBUTES = {"sort_key", "integration_repository", "due_frequency"}


class SnapshotError(QuaywatchError):
    """The old snapshot cannot be read (a file is damaged, or the key does not open it)."""


def has_legacy_snapshot(data_dir: Path) -> bool:
    return (data_dir / SNAPSHOT / "dynamodb.json").is_file()


def import_legacy_snapshot(data_dir: Path, services: Any) -> dict[str, int]:
    """Load the snapshot into ``services`` (LocalServices on a fresh database). Returns counts."""
    directory = data_dir / SNAPSHOT
    try:
        tables = {name: [_plain(item) for item in items] for name, items in _read(directory / "dynamodb.json", {}).items()}
        fernet = Fernet((data_dir / "state.key").read_bytes())
        secrets = {entry["name"]: fernet.decrypt(entry["value"].encode()).decode()
                   for entry in _read(directory / "secrets.json", [])}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SnapshotError(f"cannot read the old state in {directory}: {type(exc).__name__}: {exc}") from None
    counts = {"items": sum(len(items) for items in tables.values()), "secrets": 0, "objects": 0, "messages": 0}
    _access(services, tables.get("AccessTable", []))
    counts["secrets"] = _integrations(services, tables.get("IntegrationsTable", []), secrets)
    for item in tables.get("ProjectsTable", []):
        services.projects_repository.put(Project.from_stored({k: v for k, v in item.items() if k not in _INDEX_ATTRIBUTES}))
    _imports(services, tables.get("ImportsTable", []))
    _findings(services, tables.get("FindingsTable", []))
    for objects in _read(directory / "s3.json", {}).values():
        for key, body in objects.items():
            services.objects.put_bytes(key, base64.b64decode(body))
            counts["objects"] += 1
    for name, bodies in _read(directory / "sqs.json", {}).items():
        if name in services.queues and bodies:
            services.queues[name].send_many(list(bodies))
            counts["messages"] += len(bodies)
    return counts


def retire_snapshot(data_dir: Path) -> Path:
    target = data_dir / f"{SNAPSHOT}.imported-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    os.replace(data_dir / SNAPSHOT, target)
    return target


def _access(services: Any, items: list[dict[str, Any]]) -> None:
    for item in items:
        kind, _, key = item.pop("pk").partition("#")
        if kind == "ORG":
            services.access_repository.put_organisation(key, item)
        elif kind == "TOKEN":
            services.access_repository.put_token(key, item)


def _integrations(services: Any, items: list[dict[str, Any]], secrets: dict[str, str]) -> int:
    moved = 0
    for item in items:
        name = next((n for n in secrets if n.rsplit("/", 1)[-1] == item["id"]), None)
        if name is not None:
            item["secret_arn"] = services.secrets_vault.create(item["id"], json.loads(secrets[name]))
            moved += 1
        services.integrations_repository.create(Integration.from_stored(item))
    return moved


def _imports(services: Any, items: list[dict[str, Any]]) -> None:
    by_import: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        by_import[item["import_id"]].append(item)
    for import_id, entries in by_import.items():
        job = next((e for e in entries if e["item"] == "JOB"), None)
        if job is None:
            continue
        images = [e for e in entries if e["item"].startswith("IMAGE#")]
        services.imports_repository.create(ImportJob.model_validate({**job, "succeeded": 0, "failed": 0}),
                                           [e["image"] for e in images])
        for entry in images:
            if entry["status"] != "pending":
                services.imports_repository.complete(import_id, entry["image"], ImageOutcome.model_validate(entry))


def _findings(services: Any, items: list[dict[str, Any]]) -> None:
    history: dict[tuple[str, str], dict[str, Any]] = {}
    for item in items:
        if item["sk"].startswith("HISTORY#"):
            history[(item["pk"], item["sk"].removeprefix("HISTORY#"))] = {
                k: v for k, v in item.items() if k not in ("pk", "sk", "expires_at")}
    for item in items:
        project_id = item["pk"].removeprefix("PROJECT#")
        if item["sk"] == "LATEST":
            latest = StoredTest(tested_at=item["tested_at"], digest=item.get("digest", ""), inventory=item["inventory"],
                                findings=item["findings"], keys=[k for k in item.get("keys", []) if k != "-"],
                                packages=list(item.get("packages", [])))
            services.findings_repository.save_test(project_id, latest,
                                                   history.get((item["pk"], item["tested_at"]), {}))
        elif item["sk"].startswith("NOTIFIED#"):
            services.findings_repository.claim_notification(project_id, item["sk"].removeprefix("NOTIFIED#"))


def _read(path: Path, default: Any) -> Any:
    return json.loads(path.read_text()) if path.exists() else default


def _plain(value: Any) -> Any:
    """DynamoDB JSON (``{"S": ...}``, binaries as ``{"__binary__": base64}``) -> Python values."""
    if isinstance(value, dict) and len(value) == 1:
        ((kind, inner),) = value.items()
        if kind == "__binary__":
            return base64.b64decode(inner)
        if kind == "S":
            return inner
        if kind == "N":
            number = Decimal(inner)
            return int(number) if number == number.to_integral_value() else float(number)
        if kind == "B":
            return _plain(inner) if isinstance(inner, dict) else base64.b64decode(inner)
        if kind == "BOOL":
            return bool(inner)
        if kind == "NULL":
            return None
        if kind == "L":
            return [_plain(v) for v in inner]
        if kind == "M":
            return {k: _plain(v) for k, v in inner.items()}
        if kind in ("SS", "NS", "BS"):
            return [_plain({kind[0]: v}) for v in inner]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
