"""Exception hierarchy shared by every part of quaywatch.

Every error a user can cause or meet carries a message written for that user: the CLI prints
``str(error)`` as its one-line diagnosis, and the API will map the class to an HTTP status.
"""


class QuaywatchError(Exception):
    """Base class of every error quaywatch raises on purpose."""


class UsageError(QuaywatchError):
    """The caller asked for something malformed (bad image reference, bad platform...)."""
