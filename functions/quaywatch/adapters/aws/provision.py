"""Create the stateful resources of template.yaml with boto3 (on moto, in the tests).

Covered: DynamoDB tables (keys, GSIs, TTL), SQS queues (dead-letter queues first, redrive
policies, visibility timeouts), SNS topics, EventBridge buses, S3 buckets, generated Secrets
Manager secrets. Functions, the API and schedules are not resources here: the runtime invokes
the handlers itself (the API gets an id, for the URLs in functions' environments).
Re-running is safe: existing resources are reused (state survives restarts).
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from quaywatch.runtime.template import PhysicalIds, Template, TemplateError


def provision(template: Template, session: Any, stack: str = "quaywatch", account: str = "123456789012") -> PhysicalIds:
    region = session.region_name
    physical = PhysicalIds(region=region, account=account, stack=stack)
    dynamodb = session.client("dynamodb")
    for name, resource in template.of_type("AWS::DynamoDB::Table").items():
        _table(dynamodb, f"{stack}-{name}", resource["Properties"], physical, name)
    sqs = session.client("sqs")
    queues = template.of_type("AWS::SQS::Queue")
    # Dead-letter queues first: the others' redrive policies point at them.
    for name in sorted(queues, key=lambda n: "RedrivePolicy" in queues[n].get("Properties", {})):
        _queue(sqs, template, f"{stack}-{name}", queues[name].get("Properties", {}), physical, name)
    sns = session.client("sns")
    for name in template.of_type("AWS::SNS::Topic"):
        arn = sns.create_topic(Name=f"{stack}-{name}")["TopicArn"]
        physical.refs[name] = arn
        physical.attributes[name] = {"TopicName": f"{stack}-{name}", "TopicArn": arn}
    events = session.client("events")
    for name, resource in template.of_type("AWS::Events::EventBus").items():
        bus = str(template.resolve(resource["Properties"]["Name"], physical))
        try:
            arn = events.create_event_bus(Name=bus)["EventBusArn"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceAlreadyExistsException":
                raise
            arn = events.describe_event_bus(Name=bus)["Arn"]
        physical.refs[name] = bus
        physical.attributes[name] = {"Arn": arn, "Name": bus}
    s3 = session.client("s3")
    for name in template.of_type("AWS::S3::Bucket"):
        bucket = f"{stack}-{name}".lower()
        try:
            if region == "us-east-1":
                s3.create_bucket(Bucket=bucket)
            else:
                s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        physical.refs[name] = bucket
        physical.attributes[name] = {"Arn": f"arn:aws:s3:::{bucket}"}
    secrets = session.client("secretsmanager")
    for name, resource in template.of_type("AWS::SecretsManager::Secret").items():
        generate = resource["Properties"].get("GenerateSecretString", {})
        value = secrets.get_random_password(PasswordLength=int(generate.get("PasswordLength", 32)),
                                            ExcludePunctuation=bool(generate.get("ExcludePunctuation", False)))
        try:
            arn = secrets.create_secret(Name=f"{stack}-{name}", SecretString=value["RandomPassword"])["ARN"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceExistsException":
                raise
            arn = secrets.describe_secret(SecretId=f"{stack}-{name}")["ARN"]
        physical.refs[name] = arn  # Ref of a secret is its ARN
    for name in template.of_type("AWS::Serverless::Api"):
        physical.refs[name] = f"{stack}-{name}".lower()  # the id in the URLs functions are told (no API here)
    return physical


def _table(client: Any, table: str, properties: dict, physical: PhysicalIds, name: str) -> None:
    arguments: dict[str, Any] = {
        "TableName": table,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": properties.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if properties.get("GlobalSecondaryIndexes"):
        arguments["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
    try:
        client.create_table(**arguments)
        client.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
        ttl = properties.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            client.update_time_to_live(
                TableName=table, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
            )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
    arn = client.describe_table(TableName=table)["Table"]["TableArn"]
    physical.refs[name] = table
    physical.attributes[name] = {"Arn": arn}


def _queue(client: Any, template: Template, queue: str, properties: dict, physical: PhysicalIds, name: str) -> None:
    attributes: dict[str, str] = {}
    if "VisibilityTimeout" in properties:
        attributes["VisibilityTimeout"] = str(properties["VisibilityTimeout"])
    if "MessageRetentionPeriod" in properties:
        attributes["MessageRetentionPeriod"] = str(properties["MessageRetentionPeriod"])
    redrive = properties.get("RedrivePolicy")
    if redrive:
        target = template.resolve(redrive["deadLetterTargetArn"], physical)
        if not target:
            raise TemplateError(f"{name}: dead-letter queue not provisioned yet")
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": target, "maxReceiveCount": str(redrive["maxReceiveCount"])}
        )
    url = client.create_queue(QueueName=queue, Attributes=attributes)["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    physical.refs[name] = url
    physical.attributes[name] = {"Arn": arn, "QueueName": queue, "QueueUrl": url}
