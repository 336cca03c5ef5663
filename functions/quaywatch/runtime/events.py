"""The events AWS hands to Lambda, built for in-process invocation (the embedded gateway and
pollers, and the test harness): API Gateway REST proxy events and SQS batch events."""

from __future__ import annotations

import uuid
from typing import Any


def api_gateway_event(method: str, path: str, resource: str, parameters: dict[str, str], headers: dict[str, str],
                      query: dict[str, str] | None, body: str | None, stage: str, domain: str,
                      source_ip: str = "127.0.0.1") -> dict[str, Any]:
    return {
        "resource": resource, "path": path, "httpMethod": method, "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()} or None,
        "pathParameters": parameters or None, "stageVariables": None,
        "requestContext": {"resourcePath": resource, "httpMethod": method,
                           "path": path if stage == "$default" else f"/{stage}{path}", "stage": stage,
                           "domainName": domain, "requestId": uuid.uuid4().hex, "identity": {"sourceIp": source_ip}},
        "body": body, "isBase64Encoded": False,
    }


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """``messages`` as ReceiveMessage returns them (with ``AttributeNames=["All"]``)."""
    return {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
        "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": region,
    } for m in messages]}
