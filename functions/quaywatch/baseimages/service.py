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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from quaywatch.advisories.published import PublishedAdvisoryStore
from quaywatch.baseimages.dockerfile import ImageName
from quaywatch.baseimages.tags import candidates, parse_tag
from quaywatch.errors import QuaywatchError
from quaywatch.image.cache import DiskLayerCache
from quaywatch.integrations.service import IntegrationService
from quaywatch.inventory.models import Inventory, from_json, to_json
from quaywatch.matching.matcher import match_inventory
from quaywatch.matching.models import Finding
from quaywatch.observability import logger
from quaywatch.ports import ObjectStore
from quaywatch.registry.client import RegistryClient
from quaywatch.registry.manifests import ImageManifest, parse_manifest
from quaywatch.registry.reference import ImageReference, Platform
from quaywatch.registry.retry import RetryPolicy
from quaywatch.scanning.scanner import ImageScanner, ResolvedImage, ScanOptions

LEVELS = ("critical", "high", "medium", "low", "negligible", "unknown")
MAX_TAGS = 500  # tags read per source repository when detecting by layers
TAG_READERS = 8  # tags resolved at once (one registry client, shared)


def severity_counts(findings: list[Finding]) -> dict[str, int]:
    live = [f for f in findings if f.ignored is None]
    return {level: sum(1 for f in live if f.severity == level) for level in LEVELS}


@dataclass(frozen=True)
class BaseTag:
    """One tag of a base repository, resolved for one platform."""

    integration_id: str
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
                 work_dir: Path, retry: RetryPolicy | None = None) -> None:
        self._integrations = integrations
        self._advisories = advisories
        self._objects = objects
        self._layers = DiskLayerCache(work_dir / "layers")
        self._retry = retry

    # --- detection ------------------------------------------------------------------------

    def source_for(self, image: ImageName, sources: list[dict[str, Any]]) -> dict[str, Any] | None:
        """The integration a Dockerfile's base belongs to, if it is one of the sources."""
        for source in sources:
            integration = self._integrations.by_id(source["integration_id"])
            if integration is None:
                continue
            host = urlsplit(integration["url"]).netloc
            if host == image.registry and image.repository in source["repositories"]:
                return integration
        return None

    def detect_by_layers(self, diff_ids: list[str], platform: str, sources: list[dict[str, Any]],
                         own_digest: str | None = None) -> BaseTag | None:
        """The source tag whose diff IDs are the longest prefix of ``diff_ids`` (the image itself
        excluded); among tags of one digest the most specific version wins."""
        best: BaseTag | None = None
        for source in sources:
            integration = self._integrations.by_id(source["integration_id"])
            if integration is None:
                continue
            with self._integrations.client_for(integration, retry=self._retry) as client:
                for repository in source["repositories"]:
                    tags = _limited(client.tags(repository), MAX_TAGS)

                    def resolve(tag: str, client: RegistryClient = client, repository: str = repository,
                                integration_id: str = integration["id"]) -> BaseTag | None:
                        try:
                            return self._resolve(client, integration_id, repository, tag, platform)
                        except QuaywatchError as exc:  # a tag of another platform, a broken manifest...
                            logger.debug("base tag skipped", extra={"repository": repository, "tag": tag,
                                                                    "error": str(exc)})
                            return None

                    # A request or two per tag, most of it waiting on the registry: a few at a time.
                    with ThreadPoolExecutor(max_workers=TAG_READERS) as pool:
                        for found in pool.map(resolve, tags):
                            if found is None or found.digest == own_digest or not found.diff_ids:
                                continue
                            if diff_ids[:len(found.diff_ids)] != found.diff_ids or len(found.diff_ids) >= len(diff_ids):
                                continue
                            if best is None or _better_match(found, best):
                                best = found
        return best

    def resolve(self, integration: dict[str, Any], repository: str, tag: str, platform: str) -> BaseTag:
        with self._integrations.client_for(integration, retry=self._retry) as client:
            return self._resolve(client, integration["id"], repository, tag, platform)

    # --- scanning and recommending ----------------------------------------------------------

    def scan(self, integration: dict[str, Any], repository: str, tag: str, platform: str) -> ScannedBase:
        """Counts of ``repository:tag`` under today's advisories (scanned once per digest)."""
        with self._integrations.client_for(integration, retry=self._retry) as client:
            return self._scan(client, integration["id"], repository, tag, platform)

    def recommend(self, integration: dict[str, Any], base: BaseTag, platform: str) -> tuple[ScannedBase, list[dict]]:
        """The base's counts and up to three better tags (minor, major, alternative) with theirs;
        only candidates with fewer critical+high issues are kept."""
        with self._integrations.client_for(integration, retry=self._retry) as client:
            current = self._scan(client, integration["id"], base.repository, base.tag, platform)
            found = candidates(base.tag, list(_limited(client.tags(base.repository), MAX_TAGS)))
            recommendations = []
            for kind, candidate in (("minor", found.minor), ("major", found.major), ("alternative", found.alternative)):
                if candidate is None:
                    continue
                try:
                    scanned = self._scan(client, integration["id"], base.repository, candidate.tag, platform)
                except QuaywatchError as exc:
                    logger.warning("base candidate not scanned", extra={"repository": base.repository,
                                                                        "tag": candidate.tag, "error": str(exc)})
                    continue
                fewer = {level: current.issue_counts[level] - scanned.issue_counts[level]
                         for level in ("critical", "high", "medium", "low")}
                if fewer["critical"] + fewer["high"] <= 0:
                    continue  # not better where it matters
                recommendations.append({"kind": kind, "repository": base.repository, "tag": candidate.tag,
                                        "digest": scanned.tag.digest, "issue_counts": scanned.issue_counts,
                                        "fewer": fewer})
        return current, recommendations

    def _resolve(self, client: RegistryClient, integration_id: str, repository: str, tag: str,
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
        return BaseTag(integration_id, repository, tag, resolved.manifest_digest, diff_ids)

    def _scan(self, client: RegistryClient, integration_id: str, repository: str, tag: str,
              platform: str) -> ScannedBase:
        found = self._resolve(client, integration_id, repository, tag, platform)
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
        return ScannedBase(found, severity_counts(report.findings))

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
