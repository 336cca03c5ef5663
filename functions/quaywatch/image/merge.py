"""Merging per-layer analyses into the image's final view, as an overlay filesystem would.

For each layer in order: its whiteouts delete the named paths (and everything under them)
from the layers below, its opaque directories empty those directories below, and then its
own files replace any lower copy of the same path. What survives is what a container sees.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from quaywatch.image.errors import LayerRejectedError
from quaywatch.inventory.models import FileFindings, LayerAnalysis


@dataclass(frozen=True, slots=True)
class MergedFile:
    """A file of the final filesystem view and the layer it comes from."""

    path: str
    layer: str
    findings: FileFindings


def merge_layers(layers: Iterable[LayerAnalysis], max_metadata_bytes: int | None = None) -> dict[str, MergedFile]:
    """Apply the layers bottom to top; returns the surviving findings by path.

    A path is removed by a whiteout of itself or of one of its directories, and by an opaque
    marker in one of its directories: each surviving path is checked against two sets, one
    look-up per directory level, so merging costs files x depth, never files x whiteouts.
    ``max_metadata_bytes`` bounds the names all layers together ask to keep (hostile images).
    """
    view: dict[str, MergedFile] = {}
    kept = 0
    for layer in layers:
        kept += sum(map(len, layer.files)) + sum(map(len, layer.whiteouts)) + sum(map(len, layer.opaque_dirs))
        if max_metadata_bytes is not None and kept > max_metadata_bytes:
            raise LayerRejectedError(f"the image's layers name more than {max_metadata_bytes >> 20} MiB of paths "
                                     f"to keep (at layer {layer.digest}; limit max_image_metadata_bytes)")
        whiteouts = {path.strip("/") for path in layer.whiteouts}
        opaque = {directory.strip("/") for directory in layer.opaque_dirs}
        if whiteouts or opaque:
            for path in [p for p in view if _removed(p, whiteouts, opaque)]:
                del view[path]
        for path, findings in layer.files.items():
            view[path] = MergedFile(path=path, layer=layer.digest, findings=findings)
    return view


def _removed(path: str, whiteouts: set[str], opaque: set[str]) -> bool:
    """Whether a lower layer's ``path`` is hidden by this layer's whiteouts or opaque dirs:
    a whiteout hides the path itself and everything under it, an opaque directory only what
    is under it (the root's marker, directory "", hides everything)."""
    if path in whiteouts:
        return True
    directory = path
    while "/" in directory:
        directory = directory.rsplit("/", 1)[0]
        if directory in whiteouts or directory in opaque:
            return True
    return "" in opaque
