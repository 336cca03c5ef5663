"""The inventory data model: packages, operating system, per-layer findings.

These models are the contract between image analysis (which produces them), the layer cache
(which stores them as JSON) and the reports and matchers (which read them).

They are plain dataclasses rather than pydantic models: a scan builds them by the thousand,
and a cold ``quaywatch scan`` should not pay pydantic's import and schema building (~70 ms of
a one-second run, tests/bench/bench_scan.py) for them. JSON goes in and out through msgspec,
which checks every field's type when decoding, so a corrupt cache file or stored inventory is
refused (``InventoryDecodeError``) instead of producing half-filled objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec

from quaywatch.errors import QuaywatchError

T = TypeVar("T")


class InventoryDecodeError(QuaywatchError, ValueError):
    """Stored inventory JSON that does not fit the model."""


@dataclass(slots=True, kw_only=True)
class Package:
    """One installed package, as declared by one file of the image."""

    type: str  # purl type: deb, apk, rpm, pypi, npm, maven, golang
    name: str
    version: str
    namespace: str | None = None  # Maven group, npm scope, Go module prefix
    arch: str | None = None
    epoch: int | None = None  # rpm and dpkg epoch, when not part of version
    source_name: str | None = None  # dpkg Source, apk origin, rpm source name
    source_version: str | None = None
    source_rpm: str | None = None
    path: str  # the file inside the image that declared this package
    layer: str | None = None  # digest of the layer that holds the declaring file
    purl: str | None = None

    @property
    def full_name(self) -> str:
        """The name as its ecosystem writes it: ``@babel/core``, ``org.group:artifact``,
        ``github.com/org/module``."""
        if not self.namespace:
            return self.name
        separator = ":" if self.type == "maven" else "/"
        return f"{self.namespace}{separator}{self.name}"


@dataclass(slots=True, kw_only=True)
class OperatingSystem:
    """The distribution of an image, from os-release and friends."""

    id: str  # os-release ID: debian, ubuntu, alpine, rhel, ...
    version_id: str | None = None
    version_codename: str | None = None
    pretty_name: str | None = None
    id_like: list[str] = field(default_factory=list)
    apk_release: str | None = None  # the Alpine release the apk repositories point at, when it differs
    content_sets: list[str] = field(default_factory=list)  # Red Hat images: the rpm repositories they were built from
    distroless: bool = False


@dataclass(slots=True, kw_only=True)
class FileFindings:
    """What one analyzer learned from one file of one layer."""

    analyzer: str
    packages: list[Package] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class LayerAnalysis:
    """Everything a layer contributes, cacheable by layer digest.

    ``files`` is keyed by path so that an upper layer can replace or delete what a lower layer
    declared; ``whiteouts`` and ``opaque_dirs`` say what this layer removes below it.
    """

    digest: str
    files: dict[str, FileFindings] = field(default_factory=dict)
    whiteouts: list[str] = field(default_factory=list)
    opaque_dirs: list[str] = field(default_factory=list)
    uncompressed_bytes: int = 0
    file_count: int = 0


@dataclass(slots=True, kw_only=True)
class ImageSummary:
    """Which image an inventory describes."""

    reference: str
    registry: str
    repository: str
    tag: str | None = None
    digest: str  # of the platform manifest that was scanned
    index_digest: str | None = None  # of the multi-platform index, if any
    platform: str
    layers: list[str] = field(default_factory=list)
    diff_ids: list[str] = field(default_factory=list)  # uncompressed layer digests (config rootfs)


@dataclass(slots=True, kw_only=True)
class Inventory:
    """The result of a scan: the image, its OS and every package found."""

    image: ImageSummary
    os: OperatingSystem | None = None
    packages: list[Package] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def to_json(value: Any) -> bytes:
    """Compact JSON of a model (or of a list or dict of them)."""
    return msgspec.json.encode(value)


def to_document(value: Any) -> Any:
    """A model as plain JSON-ready dicts and lists, e.g. to add keys before printing it."""
    return msgspec.to_builtins(value)


def from_json(data: bytes | str, model: type[T]) -> T:
    """Decode JSON written by ``to_json``, checking every field against ``model``."""
    try:
        return msgspec.json.decode(data, type=model)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise InventoryDecodeError(f"not a valid {model.__name__}: {exc}") from None
