"""The one error taxonomy of the workers.

Transient: the registry, a store or the network may answer later (unavailable, rate limited,
throttled, 5xx): the queue delivers the message again. Permanent: nothing will change by
retrying (a refused credential, an unknown manifest, a hostile layer, a malformed message):
the image fails at once with its reason. An error we did not foresee is treated as transient,
so the dead-letter queue keeps the message for a human rather than dropping it.
"""

from __future__ import annotations

from quaywatch.advisories.store import StoreError
from quaywatch.errors import QuaywatchError
from quaywatch.ports import StorageUnavailable
from quaywatch.registry.errors import RateLimitedError, RegistryUnavailableError

TRANSIENT = (RegistryUnavailableError, RateLimitedError, StorageUnavailable, StoreError)


def is_transient(error: BaseException) -> bool:
    from quaywatch.projects.errors import ProjectOrphaned
    from quaywatch.projects.imports import MalformedMessage

    if isinstance(error, TRANSIENT):
        return True
    return not isinstance(error, (QuaywatchError, ProjectOrphaned, MalformedMessage))


def describe(error: BaseException) -> str:
    return str(error) or type(error).__name__
