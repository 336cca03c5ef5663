"""Feed freshness, as the API shows it (a small document beside the store, never the store)."""

from __future__ import annotations

from typing import Any

from quaywatch.advisories.freshness import describe, read_status
from quaywatch.runtime.services import Services


def advisory_status(services: Services) -> dict[str, Any]:
    """When each feed last changed and was last checked, which failed and why, what the
    published store holds; ``stale`` when a feed has not been heard of for two days."""
    return describe(read_status(services.objects, services.settings.advisory_key))
