"""One OpenAPI document for the whole API, merged from every API function's resolver
(each Lambda function only routes its own paths). The IntegrationsFunction serves it and
passes its own resolver; the others are imported here (none of them imports this module)."""

from __future__ import annotations

import json
from typing import Any


def openapi_document(own: Any) -> dict[str, Any]:
    """``own``: the serving function's resolver."""
    from quaywatch.handlers import images, imports, projects, webhook

    merged: dict[str, Any] = {}
    for resolver in (own, images.app, imports.app, projects.app, webhook.app):
        schema = json.loads(resolver.get_openapi_json_schema(
            title="quaywatch", version="1", description="Vulnerability monitoring for Quay registries"))
        if not merged:
            merged = {**schema, "paths": {}, "components": {"schemas": {}}}
        merged["paths"].update(schema.get("paths", {}))
        merged["components"]["schemas"].update(schema.get("components", {}).get("schemas", {}))
    merged["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    merged["security"] = [{"bearer": []}]
    return merged
