"""Browsing an integration's images: repositories with their tags, searchable, paged.

Robots can only use the registry API (SPEC section 3): the catalog (token with no scope,
``Link`` pages followed verbatim) and ``tags/list`` per repository. Signature, attestation
and SBOM tags (``sha256-<digest>.sig|.att|.sbom``, cosign's convention) are hidden.
The cursor is opaque to clients: an offset into the filtered, sorted repository list.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from quaywatch.errors import UsageError
from quaywatch.integrations.quay_api import QuayApi
from quaywatch.registry.client import RegistryClient
from quaywatch.registry.retry import RetryPolicy

if TYPE_CHECKING:
    from quaywatch.integrations.service import IntegrationService
    from quaywatch.tenancy.access import Principal

PAGE_SIZE = 20
_ARTIFACT_TAG = re.compile(r"^sha256-[0-9a-f]{64}\.(sig|att|sbom)$")


@dataclass
class RepositoryView:
    name: str
    tags: list[dict[str, str]] = field(default_factory=list)


@dataclass
class ImagesPage:
    repositories: list[RepositoryView]
    next_cursor: str | None
    synced_at: str | None = None  # from the registry index as of this time (None: browsed live)


def is_artifact_tag(tag: str) -> bool:
    return bool(_ARTIFACT_TAG.match(tag))


def visible_tags(client: RegistryClient, repository: str) -> list[str]:
    return sorted(tag for tag in client.tags(repository) if not is_artifact_tag(tag))


def list_images(client: RegistryClient, search: str | None, cursor: str | None, page_size: int = PAGE_SIZE,
                quay_api: QuayApi | None = None) -> ImagesPage:
    """With a Quay API (an OAuth token) tags come with digests and push times; else names."""
    offset = _decode(cursor, search)
    needle = (search or "").strip().lower()
    names = sorted(name for name in client.catalog() if needle in name.lower())
    page = names[offset : offset + page_size]
    if quay_api is not None:
        repositories = [RepositoryView(name, sorted((t for t in quay_api.active_tags(name) if not is_artifact_tag(t["name"])),
                                                    key=lambda t: t["name"])) for name in page]
    else:
        repositories = [RepositoryView(name, [{"name": tag} for tag in visible_tags(client, name)]) for name in page]
    more = offset + page_size < len(names)
    return ImagesPage(repositories, _encode(offset + page_size, search) if more else None)


def _encode(offset: int, search: str | None) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "s": search or ""}).encode()).decode().rstrip("=")


def _decode(cursor: str | None, search: str | None) -> int:
    if not cursor:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset = int(data["o"])
    except (ValueError, KeyError, TypeError):
        raise UsageError("invalid cursor") from None
    if data.get("s", "") != (search or "") or offset < 0:
        raise UsageError("the cursor belongs to another search; start again without it")
    return offset


def list_images_page(integrations: IntegrationService, caller: Principal, integration_id: str, search: str | None,
                  cursor: str | None) -> ImagesPage:
    """One page of an integration's repositories for a member (``usecases.integrations``)."""
    integration = integrations.record(caller, integration_id)
    with integrations.registry_access(integration, retry=RetryPolicy.for_api()) as (client, quay_api):
        return list_images(client, search, cursor, quay_api=quay_api)
