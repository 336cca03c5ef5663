"""Upgrading from the moto-based ``serve``: its data directory held a snapshot (``state/``)
that the first start of this version turns into the SQLite database, losing nothing.

The old snapshot is written here the way that server wrote it: the AWS adapters fill the
template's resources on moto (moto stands in for AWS, as it did inside that server), then
every item is dumped as DynamoDB JSON, secrets encrypted with ``state.key``, objects and
queued messages alongside."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from unittest.mock import patch

import pytest
from cryptography.fernet import Fernet
from quaywatch.adapters.local.legacy_snapshot import SnapshotError, import_legacy_snapshot
from quaywatch.integrations.records import Integration
from quaywatch.inventory.models import ImageSummary, Inventory, OperatingSystem, Package
from quaywatch.outcome import IssueCounts
from quaywatch.projects.findings_store import FindingsStore
from quaywatch.runtime.embedded.root import LocalServices
from quaywatch.runtime.embedded.server import EmbeddedServer
from quaywatch.runtime.lambda_root import AwsServices
from quaywatch.runtime.settings import RuntimeSettings
from quaywatch.tenancy.access import AccessStore

from tests.support.cloud import running_cloud
from tests.support.records import record_test
from tests.support.registry_process import free_port


def _binary(value):
    if isinstance(value, (bytes, bytearray)):
        return {"__binary__": base64.b64encode(bytes(value)).decode()}
    raise TypeError(type(value).__name__)


def write_old_snapshot(data_dir: Path) -> dict:
    """A data directory as the moto-based serve left it after a clean stop."""
    data_dir.mkdir(parents=True)
    key = Fernet.generate_key()
    (data_dir / "state.key").write_bytes(key)
    facts: dict = {}
    with running_cloud() as cloud:
        environment = cloud.template.function_environment("ImportWorkerFunction", cloud.physical)
        environment["QUAYWATCH_RETEST_QUEUE_URL"] = cloud.physical.refs["RetestQueue"]
        with patch.dict(os.environ, environment):
            aws = AwsServices(RuntimeSettings())
            org_id = aws.access.create_organisation("default")
            facts["token"] = aws.access.issue_token(org_id, "admin")
            reference = aws.secrets_vault.create("int-1", {"token": "robot-secret-123", "oauth_token": None,
                                                            "ca_bundle": None})
            aws.integrations_repository.create(Integration(
                id="int-1", org_id=org_id, url="https://quay.example", username="acme+r", secret_arn=reference,
                repository_count=2, webhook_token_hash="x", created_at="2026-01-01T00:00:00+00:00"))
            inventory = Inventory(image=ImageSummary(reference="quay.example/acme/web:1.0", registry="quay.example",
                                                     repository="acme/web", tag="1.0", digest="sha256:aa",
                                                     platform="linux/amd64"),
                                  os=OperatingSystem(id="alpine", version_id="3.10.2"),
                                  packages=[Package(type="apk", name="musl", version="1.1.22-r2", path="lib/apk/db/installed")])
            record_test(aws.projects, aws.findings, project_id="p-1", org_id=org_id, image=inventory,
                        counts=IssueCounts({"critical": 1}), tested_at=datetime(2026, 1, 1, tzinfo=UTC))
            aws.findings.claim_notification("p-1", {"CVE-1|musl"})
            import_id = aws.imports.start(org_id, "int-1", [("acme/web", "1.0"), ("acme/web", "2.0")])
            from quaywatch.projects.imports import ImportMessage
            aws.imports.complete(ImportMessage(import_id, org_id, "int-1", "acme/web", "1.0"), "succeeded",
                                 project_id="p-1")
            facts |= {"org_id": org_id, "import_id": import_id}
        session = cloud.session
        dynamodb = session.client("dynamodb")
        tables = {name: dynamodb.scan(TableName=cloud.physical.refs[name])["Items"]
                  for name in cloud.template.of_type("AWS::DynamoDB::Table")}
        secrets = session.client("secretsmanager")
        saved = [{"name": s["Name"], "value": Fernet(key).encrypt(
                     secrets.get_secret_value(SecretId=s["ARN"])["SecretString"].encode()).decode(), "tags": []}
                 for s in secrets.list_secrets()["SecretList"]]
        sqs = session.client("sqs")
        queued = {}
        for name in ("ImportQueue", "RetestQueue"):
            messages = sqs.receive_message(QueueUrl=cloud.physical.refs[name], MaxNumberOfMessages=10)
            queued[name] = [m["Body"] for m in messages.get("Messages", [])]
    state = data_dir / "state"
    state.mkdir()
    (state / "dynamodb.json").write_text(json.dumps(tables, default=_binary))
    (state / "secrets.json").write_text(json.dumps(saved))
    (state / "s3.json").write_text(json.dumps({"AdvisoryBucket": {
        "advisories/advisories.db": base64.b64encode(b"SQLite format 3\x00...").decode()}}))
    (state / "sqs.json").write_text(json.dumps(queued))
    return facts


def test_old_snapshot_becomes_the_database(tmp_path) -> None:
    data_dir = tmp_path / "data"
    facts = write_old_snapshot(data_dir)
    services = LocalServices(data_dir, RuntimeSettings(work_dir=tmp_path / "work"))
    counts = import_legacy_snapshot(data_dir, services)
    assert counts["secrets"] == 1 and counts["objects"] == 1 and counts["messages"] == 2
    principal = AccessStore(services.access_repository).authenticate(f"Bearer {facts['token']}")
    assert (principal.org_id, principal.role) == (facts["org_id"], "admin")
    (integration,) = services.integrations_repository.list_by_org(facts["org_id"])
    assert services.integrations._secrets.read(integration.secret_arn).token == "robot-secret-123"
    (project,) = services.projects_repository.list_by_org(facts["org_id"])
    assert (project.tag, project.issue_counts["critical"], project.next_test_at) == (
        "1.0", 1, "2026-01-02T00:00:00+00:00")
    assert services.projects_repository.due("daily", "2026-01-03T00:00:00+00:00") == ["p-1"]
    latest = FindingsStore(services.findings_repository).latest("p-1")
    assert latest.inventory.packages[0].name == "musl"
    assert services.findings_repository.projects_with(["Alpine#3.10#musl"]) == {"p-1"}
    assert services.findings_repository.claim_notification("p-1", _fingerprint({"CVE-1|musl"})) is False
    job = services.imports_repository.get_job(facts["import_id"])
    assert (job.total, job.succeeded, job.failed) == (2, 1, 0)
    assert [e.status for e in services.imports_repository.images(facts["import_id"])] == ["succeeded", "pending"]
    queued = services.import_queue.receive(10, visibility_timeout=60)
    assert sorted(json.loads(m.body)["tag"] for m in queued) == ["1.0", "2.0"]  # 1.0's redelivery is a no-op
    assert services.objects.get_bytes("advisories/advisories.db").startswith(b"SQLite format 3")
    services.close()


def _fingerprint(keys: set[str]) -> str:
    import hashlib

    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:32]


def test_serve_upgrades_once_and_keeps_the_snapshot_aside(tmp_path) -> None:
    data_dir = tmp_path / "data"
    facts = write_old_snapshot(data_dir)
    (data_dir / "org-id").write_text(facts["org_id"])
    (data_dir / "admin-token").write_text(facts["token"] + "\n")
    (data_dir / "state" / "sqs.json").write_text(json.dumps({}))  # no worker traffic towards quay.example here
    server = EmbeddedServer(data_dir, port=free_port())
    started = server.start()
    try:
        assert started.admin_token is None  # the old token is still the token
        assert started.restored["upgraded_items"] > 0 and started.restored["projects"] == 1
        assert server.services.access.authenticate(f"Bearer {facts['token']}").org_id == facts["org_id"]
    finally:
        server.stop()
    assert not (data_dir / "state").exists() and list(data_dir.glob("state.imported-*"))
    again = EmbeddedServer(data_dir, port=free_port())
    assert "upgraded_items" not in again.start().restored  # once
    again.stop()


def test_a_damaged_snapshot_is_refused_with_its_reason(tmp_path) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "state").mkdir(parents=True)
    (data_dir / "state.key").write_bytes(Fernet.generate_key())
    (data_dir / "state" / "dynamodb.json").write_text("{truncated")
    services = LocalServices(data_dir, RuntimeSettings(work_dir=tmp_path / "work"), database_file="x.db")
    with pytest.raises(SnapshotError, match="cannot read the old state"):
        import_legacy_snapshot(data_dir, services)
    services.close()
