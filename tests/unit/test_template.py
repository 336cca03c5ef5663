"""template.yaml: valid CloudFormation and SAM, and the single source of the resources
the code uses (moto stands in for AWS: nothing real can run here)."""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from unittest.mock import patch

import boto3
import pytest
from cfnlint.api import lint_all
from moto import mock_aws
from quaywatch.adapters.aws.provision import provision
from quaywatch.runtime.template import DEFAULT_TEMPLATE, Template
from samtranslator.translator.transform import transform


class _NoManagedPolicies:
    """The translator asks IAM for AWS managed policy ARNs; the template uses none."""

    def load(self) -> dict[str, str]:
        return {}


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load()


@pytest.fixture(scope="module")
def cloudformation(template: Template) -> dict:
    document = json.loads(json.dumps(template.document))
    document["Globals"]["Function"]["CodeUri"] = "s3://artifacts/quaywatch.zip"  # what `sam package` does
    with patch.dict(os.environ, {"AWS_DEFAULT_REGION": "eu-west-1"}):
        return transform(document, {}, _NoManagedPolicies())


def test_cfn_lint_finds_no_errors_or_warnings() -> None:
    matches = lint_all(DEFAULT_TEMPLATE.read_text())
    assert [str(m) for m in matches if m.rule.id[0] in "EW"] == []


def test_sam_transform_produces_the_functions_and_event_sources(cloudformation: dict) -> None:
    resources = cloudformation["Resources"]
    functions = {name: r for name, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}
    assert set(functions) == {
        "IntegrationsFunction", "ImagesFunction", "ImportsFunction", "ProjectsFunction", "ImportWorkerFunction",
        "RetestSchedulerFunction", "RetestWorkerFunction", "WebhookFunction", "AdvisorySyncFunction",
        "SyncWorkerFunction", "SyncSchedulerFunction", "NotificationsFunction", "DigestFunction",
        "MailWorkerFunction",
    }
    mappings = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert len(mappings) == 4
    assert all(m["FunctionResponseTypes"] == ["ReportBatchItemFailures"] for m in mappings)
    schedules = [r for r in resources.values() if r["Type"] == "AWS::Scheduler::Schedule"]
    assert {s["Properties"]["ScheduleExpression"] for s in schedules} == {
        "cron(0 3 * * ? *)", "cron(0 4 ? * MON *)", "rate(6 hours)", "rate(15 minutes)", "cron(0 7 ? * MON *)"}
    roles = {name: r for name, r in resources.items() if r["Type"] == "AWS::IAM::Role"}
    assert "IntegrationsFunctionRole" in roles and "ImportWorkerFunctionRole" in roles


def test_every_handler_exists(template: Template) -> None:
    for name, function in template.functions().items():
        module, attribute = function["Properties"]["Handler"].rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), attribute)), name


def test_queues_have_dead_letter_queues_and_fitting_visibility(template: Template) -> None:
    queues = template.of_type("AWS::SQS::Queue")
    workers = {"ImportQueue": "ImportWorkerFunction", "RetestQueue": "RetestWorkerFunction"}
    for queue, function in workers.items():
        properties = queues[queue]["Properties"]
        assert properties["RedrivePolicy"]["maxReceiveCount"] >= 3
        function_properties = template.functions()[function]["Properties"]
        assert properties["VisibilityTimeout"] >= 6 * function_properties["Timeout"]
        # the worker logs a failure on the last delivery it will get before the DLQ
        receives = function_properties["Environment"]["Variables"]["QUAYWATCH_MAX_RECEIVES"]
        assert int(receives) == properties["RedrivePolicy"]["maxReceiveCount"]


def test_least_privilege_no_wildcard_actions_or_resources(cloudformation: dict) -> None:
    for name, resource in cloudformation["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                assert "*" not in actions and not any(a.endswith(":*") for a in actions), (name, actions)
                resources = statement.get("Resource")
                assert resources != "*", (name, actions)


def test_resources_are_created_from_the_template() -> None:
    with mock_aws():
        session = boto3.Session(region_name="eu-west-1", aws_access_key_id="test", aws_secret_access_key="test")
        template = Template.load()
        physical = provision(template, session, stack="qwtest")
        again = provision(template, session, stack="qwtest")  # re-running reuses what exists
        assert again.refs == physical.refs
        tables = session.client("dynamodb").list_tables()["TableNames"]
        assert sorted(tables) == sorted(f"qwtest-{n}" for n in template.of_type("AWS::DynamoDB::Table"))
        projects = session.client("dynamodb").describe_table(TableName="qwtest-ProjectsTable")["Table"]
        assert {i["IndexName"] for i in projects["GlobalSecondaryIndexes"]} == {"by_org", "by_repository", "due"}
        ttl = session.client("dynamodb").describe_time_to_live(TableName="qwtest-ImportsTable")
        assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"
        environment = template.function_environment("ImportWorkerFunction", physical)
        assert environment["QUAYWATCH_IMPORT_QUEUE_URL"] == physical.refs["ImportQueue"]
        assert environment["QUAYWATCH_PROJECTS_TABLE"] == "qwtest-ProjectsTable"
        redrive = session.client("sqs").get_queue_attributes(
            QueueUrl=physical.refs["ImportQueue"], AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"]
        assert json.loads(redrive)["deadLetterTargetArn"].endswith("qwtest-ImportDeadLetterQueue")


def test_sample_events_exist_for_every_trigger() -> None:
    events = Path(__file__).resolve().parents[2] / "events"
    names = {p.stem for p in events.glob("*.json")}
    assert {"api-create-integration", "sqs-import", "sqs-retest", "schedule-daily", "schedule-advisory-sync",
            "quay-repo-push"} <= names
