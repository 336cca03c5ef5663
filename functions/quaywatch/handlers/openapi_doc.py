"""One OpenAPI document for the whole API, merged from every API function's resolver
(each Lambda function only routes its own paths)."""

from __future__ import annotations

import json
from typing import Any


def openapi_document() -> dict[str, Any]:
    from quaywatch.handlers import images, imports, integrations, projects, webhook

    merged: dict[str, Any] = {}
    for module in (integrations, images, imports, projects, webhook):
        schema = json.loads(module.app.get_openapi_json_schema(
            title="quaywatch", version="1", description="Vulnerability monitoring for Quay registries"))
        if not merged:
            merged = {**schema, "paths": {}, "components": {"schemas": {}}}
        merged["paths"].update(schema.get("paths", {}))
        merged["components"]["schemas"].update(schema.get("components", {}).get("schemas", {}))
    merged["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    merged["security"] = [{"bearer": []}]
    return merged
