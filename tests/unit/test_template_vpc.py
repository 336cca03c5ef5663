"""Private Quay from the deployed stack: template.yaml with and without the VPC parameters.

The template is checked as CloudFormation would deploy it: SAM's transform, then the stack's
Conditions evaluated with the parameters given (the small evaluator below covers the
functions the template's Conditions use), so each case says which functions run in the VPC,
which endpoints exist and how the API is reached. cfn-lint checks the template both ways.
"""

from __future__ import annotations

import json
import os
from typing import Any
from unittest.mock import patch

import pytest
from cfnlint.api import lint_all
from quaywatch.runtime.template import Template
from samtranslator.translator.transform import transform

REGISTRY_FACING = {"IntegrationsFunction", "ImagesFunction", "ImportWorkerFunction", "RetestWorkerFunction",
                   "SyncWorkerFunction"}
ENDPOINTS = {"S3Endpoint", "DynamoDbEndpoint", "EndpointSecurityGroup", "SqsEndpoint", "SecretsManagerEndpoint",
             "EventsEndpoint", "SnsEndpoint"}
IN_VPC = {"VpcSubnetIds": "subnet-0a1b2c3d,subnet-0e5f6a7b", "VpcSecurityGroupIds": "sg-0123456789abcdef0",
          "VpcId": "vpc-0123456789abcdef0", "VpcEndpoints": "all", "VpcRouteTableIds": "rtb-0123456789abcdef0",
          "ApiEndpointType": "PRIVATE", "ApiVpcEndpointId": "vpce-0123456789abcdef0"}


class _NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


def deployed(parameters: dict[str, str]) -> tuple[dict[str, Any], dict[str, bool], dict[str, str]]:
    """(resources after SAM's transform, the stack's conditions, the parameter values)."""
    template = Template.load(parameters=parameters)
    document = json.loads(json.dumps(template.document))
    document["Globals"]["Function"]["CodeUri"] = "s3://artifacts/quaywatch.zip"
    with patch.dict(os.environ, {"AWS_DEFAULT_REGION": "eu-west-1"}):
        translated = transform(document, dict(template.parameters), _NoManagedPolicies())
    values = dict(template.parameters)
    conditions: dict[str, bool] = {}
    for name, expression in translated.get("Conditions", {}).items():
        conditions[name] = bool(_evaluate(expression, values, conditions, translated["Conditions"]))
    return translated["Resources"], conditions, values


def _evaluate(expression: Any, values: dict[str, str], conditions: dict[str, bool], declared: dict) -> Any:
    if isinstance(expression, dict) and len(expression) == 1:
        ((kind, argument),) = expression.items()
        if kind == "Ref":
            value = values[argument]
            return value.split(",") if argument.endswith("Ids") else value
        if kind == "Condition":
            if argument not in conditions:
                conditions[argument] = bool(_evaluate(declared[argument], values, conditions, declared))
            return conditions[argument]
        parts = [_evaluate(a, values, conditions, declared) for a in argument]
        if kind == "Fn::Equals":
            return parts[0] == parts[1]
        if kind == "Fn::Not":
            return not parts[0]
        if kind == "Fn::And":
            return all(parts)
        if kind == "Fn::Or":
            return any(parts)
        if kind == "Fn::Join":
            return parts[0].join(parts[1])
        raise AssertionError(f"no evaluation of {kind} in these tests")
    return expression


def chosen(value: Any, conditions: dict[str, bool], values: dict[str, str] | None = None) -> Any:
    """A property as deployed: ``Fn::If`` decided by the conditions, ``AWS::NoValue`` as None,
    parameters (with ``values``) at their values."""
    if isinstance(value, dict) and "Fn::If" in value:
        condition, yes, no = value["Fn::If"]
        return chosen(yes if conditions[condition] else no, conditions, values)
    if value == {"Ref": "AWS::NoValue"}:
        return None
    if isinstance(value, dict) and set(value) == {"Ref"} and values and value["Ref"] in values:
        return _evaluate(value, values, conditions, {})
    if isinstance(value, dict):
        return {k: chosen(v, conditions, values) for k, v in value.items()}
    if isinstance(value, list):
        return [chosen(v, conditions, values) for v in value]
    return value


def placed(resources: dict, conditions: dict[str, bool], values: dict[str, str] | None = None) -> dict[str, dict]:
    """The functions deployed with a VpcConfig, and theirs."""
    return {name: chosen(r["Properties"].get("VpcConfig"), conditions, values) for name, r in resources.items()
            if r["Type"] == "AWS::Lambda::Function" and chosen(r["Properties"].get("VpcConfig"), conditions)}


def created(resources: dict, conditions: dict[str, bool]) -> set[str]:
    return {name for name, r in resources.items() if conditions.get(r.get("Condition", ""), True)}


def test_by_default_no_function_runs_in_a_vpc_and_no_endpoint_is_made() -> None:
    resources, conditions, values = deployed({})
    assert not conditions["InVpc"] and placed(resources, conditions) == {}
    assert not created(resources, conditions) & ENDPOINTS
    api = resources["Api"]["Properties"]
    assert chosen(api["EndpointConfiguration"], conditions, values) == {"Types": ["REGIONAL"], "VpcEndpointIds": None}
    policy = chosen(api["Body"]["x-amazon-apigateway-policy"], conditions)
    assert [s["Effect"] for s in policy["Statement"]] == ["Allow"]  # public, as before


def test_with_subnets_and_security_groups_the_registry_facing_functions_run_in_the_vpc() -> None:
    resources, conditions, values = deployed(IN_VPC)
    vpc = placed(resources, conditions, values)
    assert set(vpc) == REGISTRY_FACING  # the advisory sync (internet feeds) and AWS-only functions stay out
    assert all(config == {"SubnetIds": values["VpcSubnetIds"].split(","),
                          "SecurityGroupIds": values["VpcSecurityGroupIds"].split(",")} for config in vpc.values())
    roles = {name.removesuffix("Role") for name, r in resources.items() if r["Type"] == "AWS::IAM::Role"
             and "AWSLambdaVPCAccessExecutionRole" in str(r["Properties"].get("ManagedPolicyArns", []))}
    assert roles == REGISTRY_FACING  # ENI permissions for exactly those


def test_endpoints_follow_the_vpc_endpoints_parameter() -> None:
    for choice, expected in (("none", set()), ("gateway", {"S3Endpoint", "DynamoDbEndpoint"}), ("all", ENDPOINTS)):
        resources, conditions, _ = deployed({**IN_VPC, "VpcEndpoints": choice})
        assert created(resources, conditions) & ENDPOINTS == expected, choice
    resources, conditions, _ = deployed({**IN_VPC, "VpcSubnetIds": ""})  # no subnets: no VPC, no endpoints
    assert placed(resources, conditions) == {} and not created(resources, conditions) & ENDPOINTS
    sqs = resources["SqsEndpoint"]["Properties"]
    assert sqs["VpcEndpointType"] == "Interface" and sqs["PrivateDnsEnabled"] is True


def test_a_private_api_answers_through_its_vpc_endpoint_only() -> None:
    resources, conditions, values = deployed(IN_VPC)
    api = resources["Api"]["Properties"]
    configuration = chosen(api["EndpointConfiguration"], conditions, values)
    assert configuration == {"Types": ["PRIVATE"], "VpcEndpointIds": [values["ApiVpcEndpointId"]]}
    policy = chosen(api["Body"]["x-amazon-apigateway-policy"], conditions, values)
    deny = next(s for s in policy["Statement"] if s["Effect"] == "Deny")
    assert deny["Condition"] == {"StringNotEquals": {"aws:SourceVpce": values["ApiVpcEndpointId"]}}


@pytest.mark.parametrize("parameters", [{}, IN_VPC], ids=["default", "in-vpc"])
def test_cfn_lint_is_clean_both_ways(parameters: dict[str, str]) -> None:
    """cfn-lint reads parameter defaults: the template is linted with the VPC values as them."""
    template = Template.load()
    document = json.loads(json.dumps(template.document))
    for name, value in parameters.items():
        document["Parameters"][name]["Default"] = value
    matches = lint_all(json.dumps(document))
    assert [str(m) for m in matches if m.rule.id[0] in "EW"] == []
