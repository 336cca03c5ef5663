"""Tracer on the handlers (issue 18): on Lambda a handler's invocation is an X-Ray subsegment
annotated with its cold start and service; elsewhere the handler is left as it is.

The X-Ray daemon does not run here: the recorder's emitter is replaced by one that keeps
what it would have sent (the SDK's own extension point), and the Lambda facade segment is
made from the trace header Lambda would set."""

from __future__ import annotations

import json

from quaywatch.observability import traced


class KeptEmitter:
    """What the recorder would send to the daemon, as the daemon would receive it."""

    def __init__(self) -> None:
        self.sent: list[dict] = []

    def send_entity(self, entity) -> None:
        self.sent.append(json.loads(entity.serialize()))

    def set_daemon_address(self, address) -> None:
        pass

    @property
    def ip(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return 2000


def handler(event: dict, context: object) -> dict:
    return {"statusCode": 200, "body": "findings"}


def test_off_lambda_the_handler_is_left_as_it_is(monkeypatch) -> None:
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    assert traced(handler) is handler


def test_on_lambda_each_invocation_is_a_subsegment(monkeypatch) -> None:
    from aws_xray_sdk import global_sdk_config
    from aws_xray_sdk.core import xray_recorder
    from aws_xray_sdk.core.lambda_launcher import LambdaContext

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "quaywatch-projects")
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    kept = KeptEmitter()
    monkeypatch.setattr(xray_recorder, "_emitter", kept)
    monkeypatch.setattr(xray_recorder, "_context", LambdaContext())  # as the SDK picks it when it starts on Lambda
    global_sdk_config.set_sdk_enabled(True)
    try:
        wrapped = traced(handler)
        assert wrapped is not handler
        assert wrapped({"path": "/projects"}, None) == {"statusCode": 200, "body": "findings"}
    finally:  # the Tracer patched boto3 and httpx in this process: left disabled, they pass calls through
        global_sdk_config.set_sdk_enabled(False)
    (subsegment,) = [entity for entity in kept.sent if entity.get("name") == "## handler"]
    assert subsegment["trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert subsegment["annotations"]["ColdStart"] in (True, False)
    assert subsegment["annotations"]["Service"] == "quaywatch"
    assert "findings" not in json.dumps(subsegment)  # responses are not captured: they may carry findings
