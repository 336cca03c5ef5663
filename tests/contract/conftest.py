"""The contract suites: every port's behaviour asserted once, run against both adapters.
``aws``: the boto3 adapters on moto (resources created from template.yaml; moto stands in
for AWS because nothing real can run here). ``local``: the SQLite adapters on a temporary
database, as ``quaywatch serve`` builds them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from quaywatch.ports import DomainEvent
from quaywatch.runtime.services import Services
from quaywatch.runtime.settings import RuntimeSettings


@dataclass
class Adapters:
    kind: str
    services: Services
    observe_events: Any  # () -> list of DomainEvent-like dicts seen by a subscriber

    def __getattr__(self, name: str) -> Any:
        return getattr(self.services, name)


def _aws(tmp_path) -> Iterator[Adapters]:
    import os
    from unittest.mock import patch

    from quaywatch.runtime.lambda_root import AwsServices

    from tests.support.cloud import running_cloud

    with running_cloud() as cloud:
        environment = cloud.template.function_environment("ImportWorkerFunction", cloud.physical)
        environment["QUAYWATCH_RETEST_QUEUE_URL"] = cloud.physical.refs["RetestQueue"]
        with patch.dict(os.environ, environment):
            services = AwsServices(RuntimeSettings(work_dir=tmp_path / "work"))
            for port in ("access_repository", "integrations_repository", "projects_repository",
                         "imports_repository", "findings_repository", "registry_index", "sync_repository",
                         "secrets_vault", "import_queue", "retest_queue", "sync_queue", "events", "objects"):
                getattr(services, port)  # built now, while the environment names the resources
        sqs = cloud.session.client("sqs")
        listener = sqs.create_queue(QueueName="event-listener")["QueueUrl"]
        listener_arn = sqs.get_queue_attributes(QueueUrl=listener, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        cloud.session.client("sns").subscribe(TopicArn=cloud.physical.refs["NotificationTopic"], Protocol="sqs",
                                              Endpoint=listener_arn)

        def observe() -> list[DomainEvent]:
            seen = []
            for message in sqs.receive_message(QueueUrl=listener, MaxNumberOfMessages=10).get("Messages", []):
                envelope = json.loads(message["Body"])
                seen.append(DomainEvent("", json.loads(envelope["Message"]), envelope.get("Subject", ""),
                                        envelope["MessageAttributes"]["org_id"]["Value"]))
            return seen

        yield Adapters("aws", services, observe)


def _local(tmp_path) -> Iterator[Adapters]:
    from quaywatch.runtime.embedded.root import LocalServices

    services = LocalServices(tmp_path / "data", RuntimeSettings(work_dir=tmp_path / "work"))
    try:
        yield Adapters("local", services, lambda: services.events.published())
    finally:
        services.close()


@pytest.fixture(params=["aws", "local"])
def adapters(request, tmp_path) -> Iterator[Adapters]:
    yield from (_aws if request.param == "aws" else _local)(tmp_path)
