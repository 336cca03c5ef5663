"""Quay's REST API (``/api/v1``), used when an integration has an OAuth application token:
robots cannot call it (SPEC section 3), but it lists a repository's active tags with their
manifest digests and push times in one call per 100 tags."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from quaywatch.errors import QuaywatchError
from quaywatch.integrations.url_policy import url_guard
from quaywatch.outbound import AddressPolicy, pinned_client, read_bounded
from quaywatch.registry.ratelimit import EndpointClass, limiter_for

PAGE_SIZE = 100
MAX_PAGE_BYTES = 8 << 20
MAX_PAGES = 100  # 10,000 active tags of one repository
BUDGET_SECONDS = 20.0  # everything one QuayApi does, within an API request


class QuayApiError(QuaywatchError):
    """The Quay API refused or failed a call."""


class QuayApi:
    def __init__(self, base_url: str, oauth_token: str, allow_private: bool, verify: Any = True) -> None:
        self._base = base_url.rstrip("/")
        self._deadline = time.monotonic() + BUDGET_SECONDS
        self._limiter = limiter_for(urlsplit(self._base).netloc)  # /api/ shares quay.io's catalog zone
        self._guard = url_guard(allow_private)
        self._http = pinned_client(AddressPolicy(allow_private), verify, budget=BUDGET_SECONDS, timeout=20.0,
                                   follow_redirects=False,
                                   headers={"Authorization": f"Bearer {oauth_token}"})

    def close(self) -> None:
        self._http.close()

    def active_tags(self, repository: str) -> list[dict[str, str]]:
        """``[{"name", "digest", "last_modified"}]`` of the repository's active tags."""
        tags: list[dict[str, str]] = []
        for page in range(1, MAX_PAGES + 1):
            if time.monotonic() > self._deadline:
                raise QuayApiError(f"the Quay API took over {BUDGET_SECONDS:g} s listing the tags of {repository}")
            url = f"{self._base}/api/v1/repository/{repository}/tag/"
            self._guard(url)
            self._limiter.acquire(EndpointClass.CATALOG, self._deadline, f"the Quay API's tags of {repository}")
            try:
                with self._http.stream("GET", url, params={"onlyActiveTags": "true", "limit": PAGE_SIZE,
                                                           "page": page}) as response:
                    if response.status_code == 429:
                        self._limiter.throttled(EndpointClass.CATALOG)
                    elif response.status_code < 400:
                        self._limiter.succeeded(EndpointClass.CATALOG)
                    if response.status_code in (401, 403):
                        raise QuayApiError("the Quay OAuth token was refused (it needs repo:read)")
                    if response.status_code != 200:
                        raise QuayApiError(f"Quay API answered {response.status_code} for {repository}")
                    body = read_bounded(response, MAX_PAGE_BYTES, f"tag list of {repository}", QuayApiError)
            except httpx.HTTPError as exc:
                raise QuayApiError(f"Quay API unreachable: {exc}") from None
            try:
                document = json.loads(body)
                listed = document.get("tags") or []
                tags += [_tag(tag) for tag in listed]
            except (ValueError, AttributeError, TypeError, KeyError):
                raise QuayApiError(f"the Quay API sent an unreadable tag list for {repository}") from None
            if not document.get("has_additional"):
                return tags
        raise QuayApiError(f"the tags of {repository} go on past {MAX_PAGES} pages of the Quay API; stopped there")


def _tag(tag: dict[str, Any]) -> dict[str, str]:
    entry = {"name": str(tag["name"])}
    if tag.get("manifest_digest"):
        entry["digest"] = str(tag["manifest_digest"])
    if tag.get("last_modified"):
        entry["last_modified"] = str(tag["last_modified"])
    return entry
