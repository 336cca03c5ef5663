"""The image scanner: registry image in, inventory out.

Layers are analyzed concurrently (bounded by the registry client's per-host limit), each
streamed exactly once and never written to disk; cached layer analyses are reused.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from quaywatch import metrics
from quaywatch.image.cache import LayerCache, MemoryLayerCache, cache_key
from quaywatch.image.layer import analyze_layer
from quaywatch.image.limits import ScanLimits
from quaywatch.image.merge import merge_layers
from quaywatch.inventory.analyzers import Analyzer, default_analyzers
from quaywatch.inventory.models import ImageSummary, Inventory, LayerAnalysis
from quaywatch.observability import logger
from quaywatch.registry.client import RegistryClient
from quaywatch.registry.errors import (
    InvalidManifestError,
    PlatformNotFoundError,
    RegistryUnavailableError,
)
from quaywatch.registry.manifests import Descriptor, ImageIndex, ImageManifest, parse_manifest
from quaywatch.registry.reference import ImageReference, Platform
from quaywatch.scanning.assemble import assemble_inventory

_IMAGE_CONFIG_TYPES = {
    "",
    "application/vnd.docker.container.image.v1+json",
    "application/vnd.oci.image.config.v1+json",
}
_LAYER_ATTEMPTS = 3



class ScanProgress(Protocol):
    """Told how a scan advances (the CLI draws a progress bar from it). Layer calls come from
    the worker threads, in completion order."""

    def layers_found(self, layers: Sequence[Descriptor]) -> None:
        """The platform manifest is resolved: these layers will be read or taken from cache."""

    def layer_done(self, layer: Descriptor, cached: bool) -> None:
        """One layer is analysed (``cached``: its result came from the layer cache)."""


@dataclass
class ScanOptions:
    """How to scan: which platform of a multi-platform image, limits, parallelism."""

    platform: Platform = field(default_factory=Platform)
    platform_explicit: bool = False
    limits: ScanLimits = field(default_factory=ScanLimits)
    layer_workers: int = 4


@dataclass(frozen=True, slots=True)
class ResolvedImage:
    """A platform manifest ready to scan."""

    manifest_digest: str
    index_digest: str | None
    manifest: ImageManifest
    platform: Platform
    config: dict | None = None  # the image config, when resolving had to read it


class _ConfigCache:
    """Image configs by (registry, repository, digest), verified when fetched: content
    addressed, so never stale; small (a few KB each), so a thousand are kept."""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, str, str], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str]) -> bytes | None:
        with self._lock:
            blob = self._items.get(key)
            if blob is not None:
                self._items.move_to_end(key)
            return blob

    def put(self, key: tuple[str, str, str], blob: bytes) -> None:
        with self._lock:
            self._items[key] = blob
            if len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_CONFIGS = _ConfigCache()
forget_configs = _CONFIGS.clear  # tests that count registry requests start afresh


class ImageScanner:
    """Scans images of one registry."""

    def __init__(
        self,
        client: RegistryClient,
        cache: LayerCache | None = None,
        analyzers: Sequence[Analyzer] | None = None,
        options: ScanOptions | None = None,
    ) -> None:
        self.client = client
        self.cache = cache if cache is not None else MemoryLayerCache()
        self.analyzers = list(analyzers) if analyzers is not None else default_analyzers()
        self.options = options or ScanOptions()

    def resolve(self, reference: ImageReference) -> ResolvedImage:
        """Fetch the manifest (resolving an index to the requested platform)."""
        fetched = self.client.get_manifest(reference.repository, reference.reference)
        document = parse_manifest(fetched.body, fetched.media_type)
        index_digest = None
        if isinstance(document, ImageIndex):
            index_digest = fetched.digest
            child = document.select(self.options.platform)
            fetched = self.client.get_manifest(reference.repository, child.digest)
            document = parse_manifest(fetched.body, fetched.media_type)
            if not isinstance(document, ImageManifest):
                raise InvalidManifestError(f"index {index_digest} nests another index; not supported")
            platform = child.platform or self.options.platform
            config = None
        else:
            platform, config = self._config_platform(reference, document)
        if document.config.media_type not in _IMAGE_CONFIG_TYPES:
            raise InvalidManifestError(
                f"{reference} is not a container image (config type {document.config.media_type})"
            )
        return ResolvedImage(fetched.digest, index_digest, document, platform, config)

    def diff_ids(self, reference: ImageReference, resolved: ResolvedImage) -> list[str]:
        """The image's layer diff IDs (``rootfs.diff_ids`` of its config): the digests of the
        uncompressed layers, equal in every image built on the same base, however the layers
        were compressed and pushed. Empty when the config does not say."""
        config = resolved.config if resolved.config is not None else self._config(reference, resolved.manifest)
        rootfs = config.get("rootfs") if isinstance(config, dict) else None
        found = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
        if not isinstance(found, list):
            return []
        return [d for d in found if isinstance(d, str) and d.startswith("sha256:") and len(d) == 71]

    def platforms(self, reference: ImageReference) -> list[Platform] | None:
        """The platforms of a multi-platform image (attestations skipped), or None when the
        reference is a single image."""
        fetched = self.client.get_manifest(reference.repository, reference.reference)
        document = parse_manifest(fetched.body, fetched.media_type)
        if not isinstance(document, ImageIndex):
            return None
        found = [d.platform for d in document.manifests if not d.is_attestation and d.platform is not None]
        return list(dict.fromkeys(Platform(p.os, p.architecture, p.variant) for p in found))

    def scan(self, reference: ImageReference, progress: ScanProgress | None = None) -> Inventory:
        """Inventory the image ``reference`` points at."""
        started = time.perf_counter()
        resolved = self.resolve(reference)
        if progress:
            progress.layers_found(resolved.manifest.layers)
        layers = self._analyze_layers(reference.repository, resolved.manifest.layers, progress)
        summary = ImageSummary(
            reference=str(reference),
            registry=reference.registry,
            repository=reference.repository,
            tag=reference.tag,
            digest=resolved.manifest_digest,
            index_digest=resolved.index_digest,
            platform=str(resolved.platform),
            layers=[layer.digest for layer in resolved.manifest.layers],
            diff_ids=self.diff_ids(reference, resolved),
        )
        inventory = assemble_inventory(summary, merge_layers(layers, self.options.limits.max_image_metadata_bytes))
        seconds = time.perf_counter() - started
        metrics.observe("quaywatch_scan_seconds", seconds)
        logger.info(
            "scanned image",
            extra={
                "image": str(reference),
                "digest": resolved.manifest_digest,
                "packages": len(inventory.packages),
                "seconds": round(seconds, 3),
            },
        )
        return inventory

    def _config(self, reference: ImageReference, manifest: ImageManifest) -> dict:
        if manifest.config.media_type not in _IMAGE_CONFIG_TYPES:
            return {}
        key = (self.client.registry, reference.repository, manifest.config.digest)
        blob = _CONFIGS.get(key)
        if blob is None:  # a re-test of an unchanged image asks again: a config never changes under its digest
            blob = self.client.get_blob(reference.repository, manifest.config)
            _CONFIGS.put(key, blob)
        try:
            config = json.loads(blob)
        except ValueError as exc:
            raise InvalidManifestError(f"image config of {reference} is not valid JSON") from exc
        return config if isinstance(config, dict) else {}

    def _config_platform(self, reference: ImageReference, manifest: ImageManifest) -> tuple[Platform, dict | None]:
        """The platform of a single-platform image, from its config blob (and the config)."""
        if manifest.config.media_type not in _IMAGE_CONFIG_TYPES:
            return self.options.platform, None
        config = self._config(reference, manifest)
        platform = Platform(
            str(config.get("os") or "linux"), str(config.get("architecture") or "amd64"), config.get("variant")
        )
        wanted = self.options.platform
        if self.options.platform_explicit and not wanted.matches(platform.os, platform.architecture, platform.variant):
            raise PlatformNotFoundError(f"{reference} is a single-platform image for {platform}, not {wanted}")
        return platform, config

    def _analyze_layers(
        self, repository: str, descriptors: Sequence[Descriptor], progress: ScanProgress | None
    ) -> list[LayerAnalysis]:
        workers = max(1, min(self.options.layer_workers, len(descriptors)))
        # Largest layers first: the scan lasts as long as its biggest layer, so that one must
        # not wait for a free worker behind small ones (results keep the manifest's order).
        by_size = sorted(range(len(descriptors)), key=lambda i: descriptors[i].size, reverse=True)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="layer") as pool:
            futures = {i: pool.submit(self._analyze_one, repository, descriptors[i], progress) for i in by_size}
            return [futures[i].result() for i in range(len(descriptors))]

    def _analyze_one(
        self, repository: str, descriptor: Descriptor, progress: ScanProgress | None
    ) -> LayerAnalysis:
        key = cache_key(descriptor.digest, self.analyzers)
        cached = self.cache.get(key)
        if cached is not None:
            if progress:
                progress.layer_done(descriptor, True)
            return cached
        for attempt in range(1, _LAYER_ATTEMPTS + 1):
            try:
                with self.client.open_blob(repository, descriptor.digest) as chunks:
                    analysis = analyze_layer(descriptor.digest, chunks, self.analyzers, self.options.limits)
                break
            except RegistryUnavailableError:
                if attempt == _LAYER_ATTEMPTS:
                    raise
                logger.warning("layer download broke; retrying", extra={"layer": descriptor.digest, "attempt": attempt})
        self.cache.put(key, analysis)
        if progress:
            progress.layer_done(descriptor, False)
        return analysis
