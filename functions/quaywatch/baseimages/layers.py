"""Which of an image's layers are its base image's: the image built ``FROM base`` starts with
exactly the base's layers (its diff IDs are a prefix of the image's), and a finding came with
the base when its file came from one of them. One place for the API, the workers and the CLI."""

from __future__ import annotations

from collections.abc import Iterable

from quaywatch.inventory.models import ImageSummary
from quaywatch.matching.models import Finding


def base_layer_count(image_diff_ids: list[str], base_diff_ids: list[str]) -> int:
    """How many of the image's first layers are the base's; 0 when they do not line up (a
    Dockerfile naming a base the image was not built on, or a base without diff IDs)."""
    if not base_diff_ids or image_diff_ids[:len(base_diff_ids)] != base_diff_ids:
        return 0
    return len(base_diff_ids)


def mark_from_base(findings: Iterable[Finding], image: ImageSummary, base_layers: int) -> None:
    """Set each finding's ``from_base`` (in place) from the first ``base_layers`` layers."""
    layers = set(image.layers[:base_layers])
    for finding in findings:
        finding.from_base = finding.layer in layers
