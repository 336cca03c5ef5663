"""The preflight of API bodies: limits before parsing, in plain words."""

from __future__ import annotations

import json

import pytest
from quaywatch.handlers.preflight import MAX_JSON_DEPTH, preflight


def event(body: str | None, content_type: str | None = "application/json", **extra) -> dict:
    headers = {"Content-Type": content_type} if content_type else {}
    return {"body": body, "headers": headers, "isBase64Encoded": False, **extra}


ORDINARY = [None, "", '{"a": [1, {"b": "[[[[[[[[[["}]}', json.dumps("\\"), json.dumps({"x": '"{{{'})]


@pytest.mark.parametrize("body", ORDINARY)
def test_ordinary_bodies_pass(body) -> None:
    assert preflight(event(body)) is None


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    assert preflight(event(json.dumps({"s": "[" * 1000}))) is None


@pytest.mark.parametrize(("body", "status", "code"), [
    ("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), 400, "malformed_json"),
    ('{"n": ' + "9" * 5000 + "}", 400, "malformed_json"),
    ('{"truncated": ', 400, "malformed_json"),
    ("x" * (300 << 10), 413, "too_large"),
])
def test_refusals(body, status, code) -> None:
    refused = preflight(event(body))
    assert refused["statusCode"] == status and json.loads(refused["body"])["error"]["code"] == code


@pytest.mark.parametrize("content_type", ["multipart/form-data", "text/plain", "application/x-www-form-urlencoded"])
def test_only_json_is_accepted(content_type) -> None:
    assert preflight(event("{}", content_type))["statusCode"] == 415
    assert preflight(event("{}", "application/merge-patch+json")) is None
    assert preflight(event("{}", None)) is None  # no Content-Type: read as JSON


def test_a_route_may_lower_the_size_limit() -> None:
    assert preflight(event(json.dumps({"p": "x" * (70 << 10)})), max_body_bytes=64 << 10)["statusCode"] == 413
