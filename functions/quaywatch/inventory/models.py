"""The inventory data model: packages, operating system, per-layer findings.

These models are the contract between image analysis (which produces them), the layer cache
(which stores them as JSON) and the reports and matchers (which read them).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Package(BaseModel):
    """One installed package, as declared by one file of the image."""

    model_config = ConfigDict(frozen=False)

    type: str = Field(description="purl type: deb, apk, rpm, pypi, npm, maven, golang")
    name: str
    version: str
    namespace: str | None = Field(None, description="Maven group, npm scope, Go module prefix")
    arch: str | None = None
    epoch: int | None = Field(None, description="rpm and dpkg epoch, when not part of version")
    source_name: str | None = Field(None, description="dpkg Source, apk origin, rpm source name")
    source_version: str | None = None
    source_rpm: str | None = None
    path: str = Field(description="the file inside the image that declared this package")
    layer: str | None = Field(None, description="digest of the layer that holds that file")
    purl: str | None = None

    @property
    def full_name(self) -> str:
        """The name as its ecosystem writes it: ``@babel/core``, ``org.group:artifact``,
        ``github.com/org/module``."""
        if not self.namespace:
            return self.name
        separator = ":" if self.type == "maven" else "/"
        return f"{self.namespace}{separator}{self.name}"


class OperatingSystem(BaseModel):
    """The distribution of an image, from os-release and friends."""

    id: str = Field(description="os-release ID: debian, ubuntu, alpine, rhel, ...")
    version_id: str | None = None
    version_codename: str | None = None
    pretty_name: str | None = None
    id_like: list[str] = Field(default_factory=list)
    apk_release: str | None = Field(
        None, description="Alpine release the apk repositories point at, when it differs"
    )
    distroless: bool = False


class FileFindings(BaseModel):
    """What one analyzer learned from one file of one layer."""

    analyzer: str
    packages: list[Package] = Field(default_factory=list)
    facts: dict[str, str] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)


class LayerAnalysis(BaseModel):
    """Everything a layer contributes, cacheable by layer digest.

    ``files`` is keyed by path so that an upper layer can replace or delete what a lower layer
    declared; ``whiteouts`` and ``opaque_dirs`` say what this layer removes below it.
    """

    digest: str
    files: dict[str, FileFindings] = Field(default_factory=dict)
    whiteouts: list[str] = Field(default_factory=list)
    opaque_dirs: list[str] = Field(default_factory=list)
    uncompressed_bytes: int = 0
    file_count: int = 0


class ImageSummary(BaseModel):
    """Which image an inventory describes."""

    reference: str
    registry: str
    repository: str
    tag: str | None = None
    digest: str = Field(description="digest of the platform manifest that was scanned")
    index_digest: str | None = Field(None, description="digest of the multi-platform index, if any")
    platform: str
    layers: list[str] = Field(default_factory=list)


class Inventory(BaseModel):
    """The result of a scan: the image, its OS and every package found."""

    image: ImageSummary
    os: OperatingSystem | None = None
    packages: list[Package] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
