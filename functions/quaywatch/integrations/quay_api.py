"""Quay's REST API (``/api/v1``), used when an integration has an OAuth application token:
robots cannot call it (SPEC section 3), but it lists a repository's active tags with their
manifest digests and push times in one call per 100 tags."""

from __future__ import annotations

from typing import Any

import httpx

from quaywatch.errors import QuaywatchError
from quaywatch.integrations.url_policy import url_guard
from quaywatch.outbound import AddressPolicy, pinned_client

PAGE_SIZE = 100


class QuayApiError(QuaywatchError):
    """The Quay API refused or failed a call."""


class QuayApi:
    def __init__(self, base_url: str, oauth_token: str, allow_private: bool, verify: Any = True) -> None:
        self._base = base_url.rstrip("/")
        self._guard = url_guard(allow_private)
        self._http = pinned_client(AddressPolicy(allow_private), verify, timeout=20.0, follow_redirects=False,
                                   headers={"Authorization": f"Bearer {oauth_token}"})

    def close(self) -> None:
        self._http.close()

    def active_tags(self, repository: str) -> list[dict[str, str]]:
        """``[{"name", "digest", "last_modified"}]`` of the repository's active tags."""
        tags: list[dict[str, str]] = []
        page = 1
        while True:
            url = f"{self._base}/api/v1/repository/{repository}/tag/"
            self._guard(url)
            try:
                response = self._http.get(url, params={"onlyActiveTags": "true", "limit": PAGE_SIZE, "page": page})
            except httpx.HTTPError as exc:
                raise QuayApiError(f"Quay API unreachable: {exc}") from None
            if response.status_code in (401, 403):
                raise QuayApiError("the Quay OAuth token was refused (it needs repo:read)")
            if response.status_code != 200:
                raise QuayApiError(f"Quay API answered {response.status_code} for {repository}")
            document = response.json()
            for tag in document.get("tags", []):
                entry = {"name": tag["name"]}
                if tag.get("manifest_digest"):
                    entry["digest"] = tag["manifest_digest"]
                if tag.get("last_modified"):
                    entry["last_modified"] = tag["last_modified"]
                tags.append(entry)
            if not document.get("has_additional"):
                return tags
            page += 1
