"""Parsers of upstream advisory formats into the normalised model (no I/O here)."""

from quaywatch.advisories.formats.errors import InvalidRecordError

__all__ = ["InvalidRecordError"]
