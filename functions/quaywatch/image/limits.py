"""Configurable bounds that keep a hostile layer from exhausting memory or time."""

from __future__ import annotations

from dataclasses import dataclass

GiB = 1 << 30
MiB = 1 << 20


@dataclass(frozen=True, slots=True)
class ScanLimits:
    """Bounds applied to every layer.

    The ratio check only starts after ``ratio_grace_bytes`` of output so that small, highly
    compressible layers (text, zero-filled files) pass; beyond it a layer that keeps expanding
    faster than ``max_compression_ratio`` is treated as a decompression bomb.
    """

    max_layer_bytes: int = 32 * GiB
    max_member_bytes: int = 8 * GiB
    max_members: int = 2_000_000
    max_compression_ratio: float = 250.0
    ratio_grace_bytes: int = 256 * MiB
    max_kept_file_bytes: int = 256 * MiB
    max_path_bytes: int = 4096  # PATH_MAX: longer names (a PAX path may be 1 MiB) refuse the layer
    max_extension_bytes: int = 16 * MiB  # PAX and GNU extension headers of one layer, all together
    max_kept_metadata_bytes: int = 32 * MiB  # names kept per layer (files, whiteouts, opaque directories)
    max_image_metadata_bytes: int = 128 * MiB  # the same, summed over an image's layers
    max_zstd_window_bytes: int = 128 * MiB  # a zstd frame may ask for 2 GiB of window; workers have 1 GiB
