"""Reasons a layer is refused. Layers are hostile input (SPEC section 5)."""

from quaywatch.errors import QuaywatchError


class LayerRejectedError(QuaywatchError):
    """A layer is malformed or hostile (traversal, absurd sizes, decompression bomb)."""


class UnsupportedLayerError(LayerRejectedError):
    """A layer uses a compression or media type quaywatch cannot read."""
