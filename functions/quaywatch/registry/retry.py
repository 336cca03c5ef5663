"""Retry policy for registry calls: exponential backoff with jitter.

Quay answers 429 without ``Retry-After`` (SPEC section 3), so the only safe reaction is to
back off on our own; the waits grow exponentially and are jittered so that many workers
hitting the same registry do not retry in lock-step. The schedule itself comes from
``stamina``; this module only says which failures are worth retrying.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import stamina
import stamina.instrumentation

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class RetryableStatus(Exception):
    """Internal signal: the registry answered a status worth retrying."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


RETRYABLE_EXCEPTIONS: tuple[type[Exception], ...] = (
    RetryableStatus,
    httpx.TransportError,
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try before giving up. Times are in seconds: ``timeout`` bounds each network
    operation (connect, one read), ``budget`` everything one client does, retries and ``Link``
    pages included (a registry that answers slowly but forever cannot hold a worker or an
    API request past it)."""

    attempts: int = 5
    wait_initial: float = 0.3
    wait_max: float = 8.0
    wait_jitter: float = 0.5
    timeout: float = 120.0
    budget: float = 840.0  # within the workers' 900 s Lambda timeout

    @classmethod
    def fast(cls) -> RetryPolicy:
        """Short waits, for tests and loopback registries."""
        return cls(attempts=5, wait_initial=0.02, wait_max=0.2, wait_jitter=0.02, timeout=10.0, budget=120.0)

    @classmethod
    def for_api(cls) -> RetryPolicy:
        """Inside an API request: answered well within API Gateway's 29 s."""
        return cls(attempts=4, wait_initial=0.1, wait_max=1.0, wait_jitter=0.1, timeout=8.0, budget=20.0)


def _log_retry(details: stamina.instrumentation.RetryDetails) -> None:
    from quaywatch.observability import logger

    logger.info(
        "retrying registry call",
        extra={
            "attempt": details.retry_num,
            "wait_seconds": round(details.wait_for, 3),
            "cause": type(details.caused_by).__name__,
        },
    )


# stamina's default hook prints through the root logger; route retries to our logger instead.
stamina.instrumentation.set_on_retry_hooks([_log_retry])
