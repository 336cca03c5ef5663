"""CycloneDX 1.6 JSON: the image as ``metadata.component``, packages as ``components``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from quaywatch import __version__
from quaywatch.inventory.models import Inventory, Package

SPEC_VERSION = "1.6"


def to_cyclonedx(inventory: Inventory) -> dict[str, Any]:
    """The inventory as a CycloneDX BOM document (a JSON-ready dict)."""
    image = inventory.image
    components: list[dict[str, Any]] = []
    if inventory.os is not None:
        components.append(
            {
                "type": "operating-system",
                "bom-ref": f"os:{inventory.os.id}@{inventory.os.version_id or ''}",
                "name": inventory.os.id,
                "version": inventory.os.version_id or "",
                "description": inventory.os.pretty_name or inventory.os.id,
            }
        )
    seen: dict[str, int] = {}
    for package in inventory.packages:
        components.append(_component(package, seen))
    return {
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": {"components": [{"type": "application", "name": "quaywatch", "version": __version__}]},
            "component": {
                "type": "container",
                "bom-ref": image.digest,
                "name": f"{image.registry}/{image.repository}",
                "version": image.digest,
                "properties": _properties(
                    {"quaywatch:image:tag": image.tag, "quaywatch:image:platform": image.platform,
                     "quaywatch:image:index_digest": image.index_digest}
                ),
            },
        },
        "components": components,
    }


def _component(package: Package, seen: dict[str, int]) -> dict[str, Any]:
    ref = package.purl or f"{package.type}:{package.name}@{package.version}"
    count = seen.get(ref, 0) + 1
    seen[ref] = count
    component: dict[str, Any] = {
        "type": "library",
        "bom-ref": ref if count == 1 else f"{ref}#{count}",
        "name": package.name,
        "version": package.version,
    }
    if package.namespace and package.type in ("maven", "npm", "golang"):
        component["group"] = package.namespace
    if package.purl:
        component["purl"] = package.purl
    component["properties"] = _properties(
        {
            "quaywatch:package:type": package.type,
            "quaywatch:package:source_name": package.source_name,
            "quaywatch:package:source_version": package.source_version,
            "quaywatch:location:path": package.path,
            "quaywatch:location:layer": package.layer,
        }
    )
    return component


def _properties(values: dict[str, str | None]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in values.items() if value]
