from quaywatch.errors import QuaywatchError


class InvalidRecordError(QuaywatchError):
    """One advisory record is malformed; it is reported and skipped."""
