"""Page cursors both adapters hand out: a list of strings (a position in their own order),
base64-encoded JSON so callers treat it as opaque. A cursor an adapter did not make is a
ValueError (the API turns it into a 400)."""

from __future__ import annotations

import base64
import json


def encode_cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, parts: int) -> list[str]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise ValueError("invalid cursor") from None
    if not isinstance(values, list) or len(values) != parts or not all(isinstance(v, str) for v in values):
        raise ValueError("invalid cursor")
    return values
