"""Registry failures, each with a message a user can act on."""

from quaywatch.errors import QuaywatchError


class RegistryError(QuaywatchError):
    """Base class of failures talking to a registry."""


class AuthenticationError(RegistryError):
    """Credentials are missing, wrong, or do not grant access to the repository."""


class NotFoundError(RegistryError):
    """The repository, tag, manifest or blob does not exist (or is hidden from us)."""


class RateLimitedError(RegistryError):
    """The registry kept answering 429 after every retry."""


class RegistryUnavailableError(RegistryError):
    """The registry could not be reached, timed out, or kept failing with 5xx."""


class RegistryDeadlineError(RegistryUnavailableError):
    """Everything asked of the registry together took longer than the client's budget."""


class PagingError(RegistryError):
    """The registry's ``Link`` pages loop (a cursor seen before) or never end."""


class TLSError(RegistryUnavailableError):
    """The TLS handshake failed: unknown CA, wrong host name, or plain HTTP on a TLS port."""


class InvalidManifestError(RegistryError):
    """A manifest or index is malformed, of an unsupported type, or fails its digest check."""


class DigestMismatchError(InvalidManifestError):
    """Content downloaded from the registry does not hash to the digest it was asked by."""


class PlatformNotFoundError(RegistryError):
    """A multi-platform image has no manifest for the requested platform."""
