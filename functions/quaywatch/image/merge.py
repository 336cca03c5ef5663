"""Merging per-layer analyses into the image's final view, as an overlay filesystem would.

For each layer in order: its whiteouts delete the named paths (and everything under them)
from the layers below, its opaque directories empty those directories below, and then its
own files replace any lower copy of the same path. What survives is what a container sees.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from quaywatch.inventory.models import FileFindings, LayerAnalysis


@dataclass(frozen=True, slots=True)
class MergedFile:
    """A file of the final filesystem view and the layer it comes from."""

    path: str
    layer: str
    findings: FileFindings


def merge_layers(layers: Iterable[LayerAnalysis]) -> dict[str, MergedFile]:
    """Apply the layers bottom to top; returns the surviving findings by path."""
    view: dict[str, MergedFile] = {}
    for layer in layers:
        removed = [_prefix(p) for p in layer.opaque_dirs] + list(layer.whiteouts)
        if removed:
            for path in list(view):
                if any(_is_under(path, target) for target in removed):
                    del view[path]
        for path, findings in layer.files.items():
            view[path] = MergedFile(path=path, layer=layer.digest, findings=findings)
    return view


def _prefix(directory: str) -> str:
    return directory.rstrip("/") + "/" if directory else ""


def _is_under(path: str, target: str) -> bool:
    """Whether ``path`` is ``target`` or inside it; a target ending in ``/`` (an opaque
    directory) matches only what is inside."""
    if target.endswith("/") or target == "":
        return path.startswith(target)
    return path == target or path.startswith(target + "/")
