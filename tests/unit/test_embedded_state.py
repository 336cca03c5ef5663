"""The embedded server's snapshots: everything back after a restart, secrets encrypted on
disk (moto stands in for the local AWS, as it does in `quaywatch serve`)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from unittest.mock import patch

import boto3
from moto import mock_aws
from quaywatch.runtime.embedded.state import StateStore
from quaywatch.runtime.provision import provision
from quaywatch.runtime.template import Template

ENV = {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"}


def test_snapshot_and_restore_everything(tmp_path: Path) -> None:
    template = Template.load()
    with patch.dict(os.environ, ENV), mock_aws():
        session = boto3.Session(region_name="us-east-1")
        physical = provision(template, session, stack="qw")
        session.client("dynamodb").put_item(TableName=physical.refs["FindingsTable"], Item={
            "pk": {"S": "PROJECT#1"}, "sk": {"S": "LATEST"}, "inventory": {"B": b"\x1f\x8bgzip"}})
        session.client("secretsmanager").create_secret(Name="quaywatch/integrations/abc", SecretString='{"token": "s3cr3t"}')
        session.client("s3").put_object(Bucket=physical.refs["AdvisoryBucket"], Key="advisories/advisories.db", Body=b"db")
        session.client("sqs").send_message(QueueUrl=physical.refs["ImportQueue"], MessageBody='{"import_id": "i"}')
        store = StateStore(tmp_path)
        store.save(session, template, physical, include_queues=True)
    assert stat.S_IMODE((tmp_path / "state.key").stat().st_mode) == 0o600
    assert b"s3cr3t" not in (tmp_path / "state" / "secrets.json").read_bytes()

    with patch.dict(os.environ, ENV), mock_aws():  # a fresh, empty local AWS: the restart
        session = boto3.Session(region_name="us-east-1")
        physical = provision(template, session, stack="qw")
        counts = StateStore(tmp_path).restore(session, physical)
        assert counts == {"items": 1, "secrets": 1, "objects": 1, "messages": 1}
        item = session.client("dynamodb").get_item(TableName=physical.refs["FindingsTable"],
                                                   Key={"pk": {"S": "PROJECT#1"}, "sk": {"S": "LATEST"}})["Item"]
        assert item["inventory"]["B"] == b"\x1f\x8bgzip"
        secret = session.client("secretsmanager").get_secret_value(SecretId="quaywatch/integrations/abc")
        assert json.loads(secret["SecretString"]) == {"token": "s3cr3t"}
        message = session.client("sqs").receive_message(QueueUrl=physical.refs["ImportQueue"])["Messages"][0]
        assert json.loads(message["Body"]) == {"import_id": "i"}
        assert StateStore(tmp_path).restore(session, physical)["messages"] == 0  # queued messages restored once
