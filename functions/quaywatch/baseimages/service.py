"""Base images of projects: detect the base, scan its tags, recommend better ones.

The base of a project comes from its linked Dockerfile (the final stage's ``FROM``) when it
names a repository of the organisation's base-image sources, else from its layers: the
source tag whose layer diff IDs are the longest prefix of the image's (an image built
``FROM base:3.9.1`` starts with exactly base:3.9.1's layers, however they were compressed).

A base tag is scanned once per digest: its inventory is kept in the object store under
``base-images/<digest>/`` and matched again at each use against the current advisories, so
its counts follow new advisories without another scan. Detection reads only manifests and
image configs (their diff IDs, kept per digest too).
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from quaywatch.advisories.published import PublishedAdvisoryStore
from quaywatch.baseimages.dockerfile import ImageName, named_registry
from quaywatch.baseimages.layers import base_layer_count
from quaywatch.baseimages.tags import candidates, parse_tag
from quaywatch.errors import QuaywatchError
from quaywatch.image.cache import DiskLayerCache
from quaywatch.integrations.connection import anonymous_client
from quaywatch.integrations.records import Integration
from quaywatch.integrations.service import IntegrationService
from quaywatch.inventory.models import Inventory, from_json, to_json
from quaywatch.matching.levels import ISSUE_LEVELS
from quaywatch.matching.matcher import match_inventory
from quaywatch.observability import logger
from quaywatch.outcome import count_issues
from quaywatch.ports import ObjectStore
from quaywatch.registry.client import RegistryClient
from quaywatch.registry.manifests import ImageManifest, parse_manifest
from quaywatch.registry.reference import ImageReference, Platform
from quaywatch.registry.retry import RetryPolicy
from quaywatch.scanning.scanner import ImageScanner, ResolvedImage, ScanOptions

MAX_TAGS = 500  # tags read per source repository when detecting by layers
TAG_READERS = 8  # tags resolved at once (one registry client, shared)
TAGS_FRESH_FOR = 300.0  # seconds a source repository's resolved tags are reused for detection


@dataclass(frozen=True)
class Source:
    """Where base images come from: an integration of the organisation (its robot's
    credentials) or a public registry read anonymously, and the repositories to use there."""

    repositories: tuple[str, ...]
    integration: Integration | None = None
    registry_url: str | None = None

    @property
    def key(self) -> str:
        return self.integration.id if self.integration else str(self.registry_url)

    @property
    def host(self) -> str:
        """The registry as a Dockerfile names it (Docker Hub's API host is ``docker.io`` there)."""
        return named_registry(urlsplit(self.integration.url if self.integration else str(self.registry_url)).netloc)


@dataclass(frozen=True)
class BaseTag:
    """One tag of a base repository, resolved for one platform."""

    source: str  # the Source's key: an integration id or a registry URL
    repository: str
    tag: str
    digest: str
    diff_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ScannedBase:
    tag: BaseTag
    issue_counts: dict[str, int]


class BaseImages:
    def __init__(self, integrations: IntegrationService, advisories: PublishedAdvisoryStore, objects: ObjectStore,
                 work_dir: Path, retry: RetryPolicy | None = None, allow_private: bool = False) -> None:
        self._integrations = integrations
        self._allow_private = allow_private
        self._advisories = advisories
        self._objects = objects
        self._layers = DiskLayerCache(work_dir / "layers")
        self._retry = retry
        # Detection runs after every image of an import: a 1,000-image import of one organisation
        # reads the source repositories' tags once per few minutes, not once per image.
        self._resolved: dict[tuple[str, str, str], tuple[float, list[BaseTag]]] = {}
        self._resolved_lock = threading.Lock()

    # --- detection ------------------------------------------------------------------------

    def sources(self, stored: list[dict[str, Any]]) -> list[Source]:
        """The organisation's stored sources, with their integrations (deleted ones dropped)."""
        result = []
        for item in stored:
            if item.get("integration_id"):
                integration = self._integrations.by_id(item["integration_id"])
                if integration is not None:
                    result.append(Source(tuple(item["repositories"]), integration=integration))
            elif item.get("registry"):
                result.append(Source(tuple(item["repositories"]), registry_url=item["registry"]))
        return result

    def source_for(self, image: ImageName, sources: list[Source]) -> Source | None:
        """The source a Dockerfile's base belongs to, if it is one of the sources."""
        return next((s for s in sources if s.host == image.registry and image.repository in s.repositories), None)

    def detect_by_layers(self, diff_ids: list[str], platform: str, sources: list[Source],
                         own_digest: str | None = None) -> tuple[Source, BaseTag] | None:
        """The source tag whose diff IDs are the longest prefix of ``diff_ids`` (the image itself
        excluded); among tags of one digest the most specific version wins."""
        best: tuple[Source, BaseTag] | None = None
        for source in sources:
            with self._client(source) as client:
                for repository in source.repositories:
                    for found in self._resolve_all(client, source, repository, platform):
                        if found.digest == own_digest:
                            continue
                        shared = base_layer_count(diff_ids, found.diff_ids)
                        if shared == 0 or shared >= len(diff_ids):  # not a prefix, or the whole image
                            continue
                        if best is None or _better_match(found, best[1]):
                            best = (source, found)
        return best

    def forget_tags(self) -> None:
        """Drop the resolved tags kept for detection (the digest-keyed caches stay)."""
        with self._resolved_lock:
            self._resolved.clear()

    def resolve(self, source: Source, repository: str, tag: str, platform: str) -> BaseTag:
        with self._client(source) as client:
            return self._resolve(client, source.key, repository, tag, platform)

    # --- scanning and recommending ----------------------------------------------------------

    def scan(self, source: Source, repository: str, tag: str, platform: str) -> ScannedBase:
        """Counts of ``repository:tag`` under today's advisories (scanned once per digest)."""
        with self._client(source) as client:
            return self._scan(client, source.key, repository, tag, platform)

    def recommend(self, source: Source, base: BaseTag, platform: str) -> tuple[ScannedBase, list[dict]]:
        """The base's counts and up to three better tags (minor, major, alternative) with theirs;
        only candidates with fewer critical+high issues are kept. A base named by a tag without
        a version (``latest``) is compared as the most specific versioned tag of its digest."""
        with self._client(source) as client:
            current = self._scan(client, source.key, base.repository, base.tag, platform)
            tags = _limited(client.tags(base.repository), MAX_TAGS)
            versioned = base.tag
            if parse_tag(base.tag) is None:
                same = [t for t in self._resolve_all(client, source, base.repository, platform, tags)
                        if t.digest == base.digest and parse_tag(t.tag) is not None]
                versioned = max(same, key=lambda t: len(parse_tag(t.tag).version), default=base).tag
            found = candidates(versioned, tags)
            recommendations = []
            for kind, candidate in (("minor", found.minor), ("major", found.major), ("alternative", found.alternative)):
                if candidate is None:
                    continue
                try:
                    scanned = self._scan(client, source.key, base.repository, candidate.tag, platform)
                except QuaywatchError as exc:
                    logger.warning("base candidate not scanned", extra={"repository": base.repository,
                                                                        "tag": candidate.tag, "error": str(exc)})
                    continue
                fewer = {level: current.issue_counts[level] - scanned.issue_counts[level]
                         for level in ISSUE_LEVELS}
                if fewer["critical"] + fewer["high"] <= 0 or scanned.tag.digest == base.digest:
                    continue  # not better where it matters (or the very same image)
                recommendations.append({"kind": kind, "repository": base.repository, "tag": candidate.tag,
                                        "digest": scanned.tag.digest, "issue_counts": scanned.issue_counts,
                                        "fewer": fewer})
        return current, recommendations

    def _client(self, source: Source) -> AbstractContextManager[RegistryClient]:
        if source.integration is not None:
            return self._integrations.client_for(source.integration, retry=self._retry)
        return anonymous_client(str(source.registry_url), self._allow_private, retry=self._retry)

    def _resolve_all(self, client: RegistryClient, source: Source, repository: str, platform: str,
                     tags: list[str] | None = None) -> list[BaseTag]:
        """Every tag of a repository resolved (tags that cannot be read are left out). A request
        or two per tag, most of it waiting on the registry: a few at a time."""
        def resolve(tag: str) -> BaseTag | None:
            try:
                return self._resolve(client, source.key, repository, tag, platform)
            except QuaywatchError as exc:  # a tag of another platform, a broken manifest...
                logger.debug("base tag skipped", extra={"repository": repository, "tag": tag, "error": str(exc)})
                return None

        key = (source.key, repository, platform)
        if tags is None:
            with self._resolved_lock:
                cached = self._resolved.get(key)
            if cached is not None and time.monotonic() - cached[0] < TAGS_FRESH_FOR:
                return cached[1]
        wanted = tags if tags is not None else _limited(client.tags(repository), MAX_TAGS)
        with ThreadPoolExecutor(max_workers=TAG_READERS) as pool:
            found = [tag for tag in pool.map(resolve, wanted) if tag is not None]
        if tags is None:
            with self._resolved_lock:
                self._resolved[key] = (time.monotonic(), found)
        return found

    def _resolve(self, client: RegistryClient, source_key: str, repository: str, tag: str,
                 platform: str) -> BaseTag:
        scanner = self._scanner(client, platform)
        reference = ImageReference(client.registry, repository, tag)
        fetched = client.get_manifest(repository, tag)
        document = parse_manifest(fetched.body, fetched.media_type)
        if isinstance(document, ImageManifest):  # a single-platform tag: one request when seen before
            resolved = ResolvedImage(fetched.digest, None, document, Platform.parse(platform))
        else:  # an index: its child for the platform
            resolved = scanner.resolve(reference)
        key = f"base-images/{resolved.manifest_digest}/diff-ids.json"
        cached = self._objects.get_bytes(key)
        if cached is not None:
            diff_ids = json.loads(cached)
        else:
            diff_ids = scanner.diff_ids(reference, resolved)
            self._objects.put_bytes(key, json.dumps(diff_ids).encode())
        return BaseTag(source_key, repository, tag, resolved.manifest_digest, diff_ids)

    def _scan(self, client: RegistryClient, source_key: str, repository: str, tag: str,
              platform: str) -> ScannedBase:
        found = self._resolve(client, source_key, repository, tag, platform)
        key = f"base-images/{found.digest}/inventory.json.gz"
        cached = self._objects.get_bytes(key)
        if cached is not None:
            inventory = from_json(gzip.decompress(cached), Inventory)
        else:
            inventory = self._scanner(client, platform).scan(ImageReference(client.registry, repository, tag, found.digest))
            self._objects.put_bytes(key, gzip.compress(to_json(inventory)))
            logger.info("base image scanned", extra={"repository": repository, "tag": tag, "digest": found.digest})
        with self._advisories.open() as store:
            report = match_inventory(inventory, store)
        return ScannedBase(found, count_issues(report.findings).as_dict())

    def _scanner(self, client: RegistryClient, platform: str) -> ImageScanner:
        return ImageScanner(client, cache=self._layers,
                            options=ScanOptions(platform=Platform.parse(platform), platform_explicit=True))


def _better_match(found: BaseTag, best: BaseTag) -> bool:
    """Longer prefix first; for one digest under several tags, the most specific version."""
    if len(found.diff_ids) != len(best.diff_ids):
        return len(found.diff_ids) > len(best.diff_ids)
    mine, theirs = parse_tag(found.tag), parse_tag(best.tag)
    return (len(mine.version) if mine else -1) > (len(theirs.version) if theirs else -1)


def _limited(tags: Any, limit: int) -> list[str]:
    result = []
    for tag in tags:
        result.append(tag)
        if len(result) >= limit:
            break
    return result
