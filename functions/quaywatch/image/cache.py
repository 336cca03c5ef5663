"""Cache of layer analyses keyed by layer digest and analyzer versions.

A base layer shared by a thousand images is read once (SPEC section 4). The key includes
every analyzer's name and version, so improving an analyzer invalidates what it produced.
Implementations: in memory (one process), on disk (CLI and embedded mode); the cloud store
comes with the serverless pipeline.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from quaywatch.inventory.analyzers.base import Analyzer
from quaywatch.inventory.models import LayerAnalysis, from_json, to_json
from quaywatch.observability import logger


def cache_key(layer_digest: str, analyzers: Sequence[Analyzer]) -> str:
    """The key of a layer's analysis: the digest plus a fingerprint of the analyzer set."""
    fingerprint = ",".join(f"{a.name}@{a.version}" for a in analyzers)
    return f"{layer_digest}|{hashlib.sha256(fingerprint.encode()).hexdigest()[:16]}"


class LayerCache(Protocol):
    """Where analyzed layers are kept between scans."""

    def get(self, key: str) -> LayerAnalysis | None: ...

    def put(self, key: str, analysis: LayerAnalysis) -> None: ...


class NullLayerCache:
    """Caches nothing (``--no-cache``)."""

    def get(self, key: str) -> LayerAnalysis | None:
        return None

    def put(self, key: str, analysis: LayerAnalysis) -> None:
        return None


class MemoryLayerCache:
    """A bounded LRU cache in process memory; thread-safe."""

    def __init__(self, max_entries: int = 4096) -> None:
        self._entries: OrderedDict[str, LayerAnalysis] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def get(self, key: str) -> LayerAnalysis | None:
        with self._lock:
            analysis = self._entries.get(key)
            if analysis is not None:
                self._entries.move_to_end(key)
            return analysis

    def put(self, key: str, analysis: LayerAnalysis) -> None:
        with self._lock:
            self._entries[key] = analysis
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)


class DiskLayerCache:
    """One gzip-compressed JSON file per layer under a directory; safe for concurrent
    writers (atomic rename) and tolerant of corrupt entries (treated as a miss)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        name = hashlib.sha256(key.encode()).hexdigest()
        return self.directory / name[:2] / f"{name}.json.gz"

    def get(self, key: str) -> LayerAnalysis | None:
        path = self._path(key)
        try:
            data = gzip.decompress(path.read_bytes())
            return from_json(data, LayerAnalysis)
        except FileNotFoundError:
            return None
        except (OSError, EOFError, ValueError):  # ValueError includes InventoryDecodeError
            logger.warning("ignoring corrupt layer cache entry", extra={"path": str(path)})
            return None

    def put(self, key: str, analysis: LayerAnalysis) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = gzip.compress(to_json(analysis), compresslevel=5)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def default_cache_dir() -> Path:
    """``$QUAYWATCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/quaywatch/layers``."""
    explicit = os.environ.get("QUAYWATCH_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "quaywatch" / "layers"
