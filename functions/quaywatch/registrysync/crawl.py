"""Refreshing one repository in the index: its tags, each tag's digest, and (when a policy
needs it) the image's creation time.

Through the registry API (what a robot account can use): ``tags/list``, then one HEAD per tag
for its digest (nothing downloaded); a tag whose digest is unchanged keeps the creation time
already known, so manifests and configs are read only for tags that are new or moved. With a
Quay OAuth token the Quay API gives digests and push times in one listing instead.
"""

from __future__ import annotations

import json
from datetime import UTC
from email.utils import parsedate_to_datetime

from quaywatch.integrations.catalog import is_artifact_tag
from quaywatch.integrations.quay_api import QuayApi
from quaywatch.registry.client import RegistryClient
from quaywatch.registry.errors import InvalidManifestError, PlatformNotFoundError
from quaywatch.registry.manifests import Descriptor, ImageIndex, ImageManifest, parse_manifest
from quaywatch.registry.reference import Platform
from quaywatch.registrysync.policy import parse_moment
from quaywatch.registrysync.records import IndexedTag

MAX_TAGS_PER_REPOSITORY = 10_000  # beyond: the first ones by name (and the run says it was capped)
PREFERRED_PLATFORM = Platform.parse("linux/amd64")


def list_tags(client: RegistryClient, repository: str, known: dict[str, IndexedTag], need_created: bool,
              quay_api: QuayApi | None = None) -> tuple[list[IndexedTag], bool]:
    """The repository's image tags (signature, attestation and SBOM tags left out), by name;
    and whether there were more than MAX_TAGS_PER_REPOSITORY."""
    if quay_api is not None:
        return _from_quay_api(quay_api, repository)
    names = sorted(name for name in client.tags(repository) if not is_artifact_tag(name))
    capped = len(names) > MAX_TAGS_PER_REPOSITORY
    tags = []
    for name in names[:MAX_TAGS_PER_REPOSITORY]:
        digest = client.head_manifest(repository, name) or client.get_manifest(repository, name).digest
        previous = known.get(name)
        created = previous.created if previous is not None and previous.digest == digest else None
        if need_created and created is None:
            created = image_created(client, repository, digest)
        tags.append(IndexedTag(repository=repository, tag=name, digest=digest, created=created))
    return tags, capped


def image_created(client: RegistryClient, repository: str, digest: str) -> str | None:
    """The image's creation time from its config (a multi-platform image: linux/amd64's, else
    its first platform's); None when the config does not say or cannot be read as an image."""
    try:
        fetched = client.get_manifest(repository, digest)
        document = parse_manifest(fetched.body, fetched.media_type)
        if isinstance(document, ImageIndex):
            child = _preferred_child(document)
            if child is None:
                return None
            document = parse_manifest(*_body_and_type(client, repository, child.digest))
        if not isinstance(document, ImageManifest):
            return None
        config = json.loads(client.get_blob(repository, document.config, max_size=4 << 20))
    except (InvalidManifestError, ValueError):
        return None
    moment = parse_moment(config.get("created")) if isinstance(config, dict) and isinstance(config.get("created"), str) else None
    return moment.isoformat(timespec="seconds") if moment else None


def _preferred_child(index: ImageIndex) -> Descriptor | None:
    try:
        return index.select(PREFERRED_PLATFORM)
    except PlatformNotFoundError:
        images = [d for d in index.manifests if not d.is_attestation]
        return images[0] if images else None


def _body_and_type(client: RegistryClient, repository: str, digest: str) -> tuple[bytes, str]:
    fetched = client.get_manifest(repository, digest)
    return fetched.body, fetched.media_type


def _from_quay_api(quay_api: QuayApi, repository: str) -> tuple[list[IndexedTag], bool]:
    listed = sorted((t for t in quay_api.active_tags(repository) if not is_artifact_tag(t["name"]) and t.get("digest")),
                    key=lambda t: t["name"])
    tags = [IndexedTag(repository=repository, tag=t["name"], digest=t["digest"],
                       created=_rfc2822(t.get("last_modified"))) for t in listed[:MAX_TAGS_PER_REPOSITORY]]
    return tags, len(listed) > MAX_TAGS_PER_REPOSITORY


def _rfc2822(value: str | None) -> str | None:
    """Quay's API times (``Thu, 01 Feb 2024 10:00:00 -0000``) as ISO 8601 in UTC (``-0000``
    is UTC with no local offset known: Python reads it as a naive time)."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat(timespec="seconds")
