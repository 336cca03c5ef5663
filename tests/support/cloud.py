"""The serverless deployment in process, as Lambda would run it: moto for AWS, resources
created from template.yaml, API Gateway REST proxy events built from the template's routes,
SQS batch events for the workers (partial failures and the redrive policy honoured), and
EventBridge Scheduler inputs for scheduled functions. moto stands in for AWS because nothing
real can run here."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from unittest.mock import patch

import boto3
from moto import mock_aws
from quaywatch.adapters.aws import clients
from quaywatch.adapters.aws.dynamodb import DynamoAccessRepository
from quaywatch.adapters.aws.provision import provision
from quaywatch.handlers import wiring
from quaywatch.runtime.embedded.functions import LambdaContext
from quaywatch.runtime.events import api_gateway_event, sqs_event
from quaywatch.runtime.lambda_root import AwsServices
from quaywatch.runtime.template import PhysicalIds, Template
from quaywatch.tenancy.access import AccessStore

REGION = "eu-west-1"


@dataclass
class Reply:
    status: int
    body: Any
    raw: dict

    def __repr__(self) -> str:
        return f"Reply({self.status}, {self.body!r})"


@dataclass
class DrainResult:
    batches: int = 0
    delivered: int = 0
    failed: int = 0


class Cloud:
    def __init__(self, template: Template, physical: PhysicalIds, session: Any) -> None:
        self.template = template
        self.physical = physical
        self.session = session
        self.routes = self._routes()
        self.access = AccessStore(DynamoAccessRepository(session.resource("dynamodb").Table(physical.refs["AccessTable"])))
        org = self.access.create_organisation("acme")
        self.org_id = org
        self.admin_token = self.access.issue_token(org, "admin")
        self.member_token = self.access.issue_token(org, "member")
        other = self.access.create_organisation("other")
        self.other_admin_token = self.access.issue_token(other, "admin")

    # --- invoking functions ------------------------------------------------------------------

    def invoke(self, function: str, event: dict) -> Any:
        properties = self.template.functions()[function]["Properties"]
        module, attribute = properties["Handler"].rsplit(".", 1)
        environment = self.template.function_environment(function, self.physical)
        with patch.dict(os.environ, environment):
            wiring.install(AwsServices())  # what this function's Lambda container would build
            try:
                handler = getattr(__import__(module, fromlist=[attribute]), attribute)
                return handler(event, LambdaContext(function))
            finally:
                wiring.install(None)

    def api(self, method: str, path: str, body: Any = None, token: str | None = "admin",
            query: dict[str, str] | None = None, raw_body: str | None = None) -> Reply:
        function, resource, parameters = self._route(method, path)
        bearer = {"admin": self.admin_token, "member": self.member_token, "other": self.other_admin_token}.get(
            token or "", token)
        headers = {"Host": "api.example.com", "Content-Type": "application/json"}
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        event = api_gateway_event(method, path, resource, parameters, headers, query,
                                  raw_body if raw_body is not None else (json.dumps(body) if body is not None else None),
                                  "v1", "api.example.com", "198.51.100.7")
        result = self.invoke(function, event)
        text = result.get("body")
        return Reply(result["statusCode"], json.loads(text) if text else None, result)

    def drain(self, queue: str, function: str, max_batches: int = 50) -> DrainResult:
        """Poll ``queue`` like the Lambda SQS integration until it is empty."""
        sqs = self.session.client("sqs")
        url = self.physical.refs[queue]
        arn = self.physical.attributes[queue]["Arn"]
        size = next(e["Properties"].get("BatchSize", 10)
                    for e in self.template.functions()[function]["Properties"]["Events"].values() if e["Type"] == "SQS")
        result = DrainResult()
        for _ in range(max_batches):
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=size, AttributeNames=["All"],
                                           VisibilityTimeout=30).get("Messages", [])
            if not messages:
                break
            result.batches += 1
            event = sqs_event(messages, arn, REGION)
            try:
                response = self.invoke(function, event)
                failed = {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}
            except Exception:  # noqa: BLE001 - an invocation error: Lambda returns the whole batch to the queue
                failed = {m["MessageId"] for m in messages}
            for message in messages:
                if message["MessageId"] in failed:
                    result.failed += 1  # back to the queue at once (the real queue waits out the visibility)
                    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
                else:
                    result.delivered += 1
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return result

    def queue_depth(self, queue: str) -> int:
        attributes = self.session.client("sqs").get_queue_attributes(
            QueueUrl=self.physical.refs[queue], AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])

    def schedule(self, function: str, event_name: str) -> Any:
        """Invoke a scheduled function with the Input its EventBridge schedule sends."""
        spec = self.template.functions()[function]["Properties"]["Events"][event_name]["Properties"]
        payload = json.loads(spec["Input"]) if "Input" in spec else {}
        return self.invoke(function, payload)

    # --- routes --------------------------------------------------------------------------------

    def _routes(self) -> list[tuple[str, re.Pattern, str, str]]:
        routes = []
        for name, function in self.template.functions().items():
            for spec in function["Properties"].get("Events", {}).values():
                if spec["Type"] != "Api":
                    continue
                path = spec["Properties"]["Path"]
                pattern = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$")
                routes.append((spec["Properties"]["Method"].upper(), pattern, path, name))
        return routes

    def _route(self, method: str, path: str) -> tuple[str, str, dict[str, str]]:
        for route_method, pattern, resource, function in self.routes:
            match = pattern.match(path)
            if match and route_method == method:
                return function, resource, match.groupdict()
        raise AssertionError(f"template.yaml has no route {method} {path}")


@contextmanager
def running_cloud(parameters: dict[str, str] | None = None) -> Iterator[Cloud]:
    environment = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                   "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}
    with patch.dict(os.environ, environment), mock_aws():
        clients.reset()
        session = boto3.Session(region_name=REGION)
        template = Template.load(parameters={"AllowPrivateRegistries": "true", **(parameters or {})})
        physical = provision(template, session, stack="qw")
        try:
            yield Cloud(template, physical, session)
        finally:
            clients.reset()


@contextmanager
def captured_logs() -> Iterator[list[str]]:
    """Every line quaywatch's own structured logger writes (at DEBUG), for secret checks."""
    import logging

    lines: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    from quaywatch.observability import logger

    handler = _Collect()
    handler.setFormatter(logger.registered_formatter)
    python_logger = logging.getLogger("quaywatch")
    previous = python_logger.level
    python_logger.addHandler(handler)
    python_logger.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        python_logger.removeHandler(handler)
        python_logger.setLevel(previous)
