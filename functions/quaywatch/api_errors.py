"""Errors every part of the service can raise toward the API."""

from quaywatch.errors import QuaywatchError


class NotFound(QuaywatchError):
    """A resource that does not exist in the caller's organisation."""
