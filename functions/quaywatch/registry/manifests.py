"""Manifest and index documents: media types, parsing, platform selection.

Quay converts manifests for clients that do not list every modern media type, at worst to
a legacy schema 1 copy with another digest (SPEC section 3): ``ACCEPT`` carries all four.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from quaywatch.registry.errors import InvalidManifestError, PlatformNotFoundError
from quaywatch.registry.reference import Platform

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_SCHEMA1 = (
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
)

ACCEPT = ", ".join((OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST))
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
IMAGE_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})

# Layer media types we can read, with the compression they imply.
LAYER_COMPRESSION = {
    "application/vnd.oci.image.layer.v1.tar": "none",
    "application/vnd.oci.image.layer.v1.tar+gzip": "gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd": "zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip": "gzip",
    "application/vnd.docker.image.rootfs.diff.tar.gzip": "gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip": "gzip",
    "application/vnd.docker.image.rootfs.diff.tar.zstd": "zstd",
}

# BuildKit marks attestation manifests in an index with this annotation.
_REFERENCE_TYPE = "vnd.docker.reference.type"


@dataclass(frozen=True, slots=True)
class Descriptor:
    """An OCI content descriptor."""

    media_type: str
    digest: str
    size: int
    platform: Platform | None = None
    annotations: dict[str, str] | None = None

    @property
    def is_attestation(self) -> bool:
        annotations = self.annotations or {}
        if annotations.get(_REFERENCE_TYPE) == "attestation-manifest":
            return True
        return self.platform is not None and self.platform.os == "unknown"


@dataclass(frozen=True, slots=True)
class ImageManifest:
    """A single-platform image manifest: its config blob and ordered layers."""

    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]


@dataclass(frozen=True, slots=True)
class ImageIndex:
    """A multi-platform index (OCI index or Docker manifest list)."""

    media_type: str
    manifests: tuple[Descriptor, ...]

    def select(self, platform: Platform) -> Descriptor:
        """Pick the child for ``platform``, skipping attestation manifests."""
        candidates = [d for d in self.manifests if not d.is_attestation and d.platform is not None]
        for descriptor in candidates:
            p = descriptor.platform
            assert p is not None
            if platform.matches(p.os, p.architecture, p.variant):
                return descriptor
        available = ", ".join(sorted({str(d.platform) for d in candidates})) or "none"
        raise PlatformNotFoundError(
            f"no image for platform {platform} in this index (available: {available}); "
            "choose one with --platform"
        )


def parse_manifest(body: bytes, content_type: str | None) -> ImageManifest | ImageIndex:
    """Parse a manifest or index; the media type comes from the body, else the header."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidManifestError(f"manifest is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise InvalidManifestError("manifest is not a JSON object")
    media_type = document.get("mediaType") or (content_type or "").split(";")[0].strip()
    if not media_type:
        media_type = OCI_INDEX if "manifests" in document else OCI_MANIFEST
    if media_type in DOCKER_SCHEMA1 or document.get("schemaVersion") == 1:
        raise InvalidManifestError(
            "the registry returned a legacy Docker schema 1 manifest, which carries no "
            "layer digests quaywatch can trust; push the image again with a current client"
        )
    try:
        if media_type in INDEX_TYPES:
            return ImageIndex(
                media_type=media_type,
                manifests=tuple(_descriptor(d) for d in document["manifests"]),
            )
        if media_type in IMAGE_TYPES:
            return ImageManifest(
                media_type=media_type,
                config=_descriptor(document["config"]),
                layers=tuple(_descriptor(d) for d in document["layers"]),
            )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidManifestError(f"malformed {media_type} document: missing or bad {exc}") from exc
    raise InvalidManifestError(f"unsupported manifest media type {media_type!r}")


def _descriptor(raw: object) -> Descriptor:
    if not isinstance(raw, dict):
        raise TypeError("descriptor")
    platform = None
    if isinstance(raw.get("platform"), dict):
        p = raw["platform"]
        platform = Platform(str(p.get("os", "")), str(p.get("architecture", "")), p.get("variant"))
    digest = raw["digest"]
    if not isinstance(digest, str) or ":" not in digest:
        raise ValueError("digest")
    return Descriptor(
        media_type=str(raw.get("mediaType", "")),
        digest=digest,
        size=int(raw.get("size", 0)),
        platform=platform,
        annotations=raw.get("annotations") if isinstance(raw.get("annotations"), dict) else None,
    )
