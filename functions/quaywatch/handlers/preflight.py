"""What no request body gets past, before any parser sees it: a size limit, JSON only, a
bound on nesting (the standard parser recurses: 50,000 levels is a RecursionError, a 500) and
numbers Python refuses to convert (over 4,300 digits). Each refusal is a 4xx in plain words."""

from __future__ import annotations

import json
from typing import Any

MAX_BODY_BYTES = 256 << 10  # the largest real body, an integration with a CA bundle, is ~70 KiB
MAX_JSON_DEPTH = 32


def preflight(event: dict[str, Any], max_body_bytes: int = 0) -> dict[str, Any] | None:
    """Refuse what must not reach a parser: a body over the limit (413) and JSON that is not
    JSON, nests deeper than MAX_JSON_DEPTH or holds an absurd number (400). None: go on."""
    body = event.get("body")
    if not body:
        return None
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    media_type = (headers.get("content-type") or "application/json").split(";", 1)[0].strip().lower()
    if event.get("isBase64Encoded") or not (media_type == "application/json" or media_type.endswith("+json")):
        return _reply(415, "unsupported_media_type", "send the body as JSON (Content-Type: application/json)")
    limit = max_body_bytes or MAX_BODY_BYTES
    if len(body) > limit:
        return _reply(413, "too_large", f"the request body is over {limit // 1024} KiB")
    depth = _json_depth(body)
    if depth > MAX_JSON_DEPTH:
        return _reply(400, "malformed_json", f"the JSON nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return _reply(400, "malformed_json", "the request body is not valid JSON")
    _say_json(event)
    return None


def _say_json(event: dict[str, Any]) -> None:
    """The body is JSON (checked above): say so in the one spelling the resolver's validation
    knows (it refuses ``APPLICATION/JSON`` and ``application/vnd.api+json`` outright)."""
    for field in ("headers", "multiValueHeaders"):
        headers = event.get(field)
        if headers:
            for name in [name for name in headers if name.lower() == "content-type"]:
                del headers[name]
            headers["Content-Type"] = "application/json" if field == "headers" else ["application/json"]


def _reply(status: int, code: str, message: str) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"error": {"code": code, "message": message}}), "isBase64Encoded": False}


def _json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects, outside strings (cheap: no parsing)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_JSON_DEPTH:
                return deepest
        elif char in "]}":
            depth -= 1
    return deepest
