"""Staying under a registry's rate limits, shared by every client of a process.

quay.io limits requests per client address and endpoint class with nginx ``limit_req``
(quay/quay ``conf/nginx/server-base.conf.jnj``) and answers 429 *without* ``Retry-After``:
the catalog and the ``/api/`` share 5 requests/s (burst 1 for the catalog), ``tags/list``
5/s (burst 2), manifests and blobs share 50/s (burst 10 for manifests), the token endpoint a
burst of 2, the rest of ``/v2`` 60/s (burst 20). A sync, imports and re-tests running side by
side in one process must share one budget per class, or together they trip the limits for
everyone.

``HostLimiter`` keeps a token bucket per endpoint class (nginx's leaky bucket seen from the
client: ``rate`` a second, ``burst`` + 1 at once) and adapts: a 429 halves the class's rate
and empties its bucket (the next request waits a full interval, which is the pause a server
without ``Retry-After`` needs), each success gives back a twentieth of the ceiling. Limits:

- ``quay`` (the default for quay.io): quay.io's limits at 90 % from the start;
- ``adaptive`` (the default elsewhere: a self-hosted Quay has ``enable_rate_limits`` off
  unless its operator turns it on): no limit until the registry answers 429 in a class, then
  that class starts at quay.io's rate and adapts;
- ``off``: never wait (tests of other things, registries that cannot limit).

``QUAYWATCH_REGISTRY_LIMITS`` chooses for every host (``quay``, ``adaptive`` or ``off``);
``QUAYWATCH_REGISTRY_LIMITS_SCALE`` multiplies quay.io's rates (benchmarks against a simulated
registry whose limits are scaled the same way, so a 10,000-repository sync fits in minutes).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from quaywatch.registry.errors import RegistryDeadlineError

SAFETY = 0.9  # of the published rates: clocks and network jitter differ between client and server
MIN_RATE = 0.2  # requests a second: a class throttled over and over still moves
RECOVERY_STEPS = 20  # successes to climb back from nothing to the ceiling


class EndpointClass(StrEnum):
    TOKEN = "token"
    CATALOG = "catalog"  # also the Quay /api/ (the same nginx zone on quay.io)
    TAGS = "tags"
    CONTENT = "content"  # manifests and blobs (one zone on quay.io)
    OTHER = "other"


@dataclass(frozen=True)
class Limit:
    rate: float  # requests a second
    burst: int  # requests beyond the rate answered at once


QUAY_LIMITS = {
    EndpointClass.TOKEN: Limit(120, 2),
    EndpointClass.CATALOG: Limit(5, 1),
    EndpointClass.TAGS: Limit(5, 2),
    EndpointClass.CONTENT: Limit(50, 10),
    EndpointClass.OTHER: Limit(60, 20),
}
QUAY_HOSTS = ("quay.io",)


def endpoint_class(url: str, token: bool = False) -> EndpointClass:
    """The class a request to ``url`` counts against."""
    if token:
        return EndpointClass.TOKEN
    path = urlsplit(url).path
    if path.startswith(("/v2/_catalog", "/api/")):
        return EndpointClass.CATALOG
    if "/tags/list" in path:
        return EndpointClass.TAGS
    if "/manifests/" in path or "/blobs/" in path:
        return EndpointClass.CONTENT
    if path == "/v2/auth":
        return EndpointClass.TOKEN
    return EndpointClass.OTHER


class Bucket:
    """A token bucket whose rate adapts to the server's 429s (see the module's docstring)."""

    def __init__(self, limit: Limit, ceiling: float | None = None) -> None:
        self.rate = limit.rate * SAFETY
        self.ceiling = (ceiling if ceiling is not None else limit.rate) * SAFETY
        self.capacity = float(limit.burst + 1)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self.waited = 0.0  # seconds requests spent waiting here, for the benchmarks
        self._lock = threading.Lock()

    def acquire(self, deadline: float, what: str) -> None:
        """Take one request's token, waiting for it; RegistryDeadlineError if that would go
        past ``deadline`` (monotonic)."""
        while True:
            with self._lock:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                wait = (1 - self.tokens) / self.rate
            if now + wait > deadline:
                raise RegistryDeadlineError(f"waiting for the registry's rate limit on {what} would pass the deadline")
            time.sleep(wait)
            with self._lock:
                self.waited += wait

    def succeeded(self) -> None:
        with self._lock:
            self.rate = min(self.ceiling, self.rate + self.ceiling / RECOVERY_STEPS)

    def throttled(self) -> None:
        with self._lock:
            self.rate = max(MIN_RATE, self.rate / 2)
            self.tokens = min(self.tokens, 0.0)


def quay_limits(scale: float = 1.0) -> dict[EndpointClass, Limit]:
    return {klass: Limit(limit.rate * scale, limit.burst) for klass, limit in QUAY_LIMITS.items()}


class HostLimiter:
    """The buckets of one registry host, per endpoint class."""

    def __init__(self, mode: str, scale: float = 1.0) -> None:
        self.mode = mode
        self.limits = quay_limits(scale)
        self._buckets: dict[EndpointClass, Bucket] = {}
        self._lock = threading.Lock()
        if mode == "quay":
            self._buckets = {klass: Bucket(limit) for klass, limit in self.limits.items()}

    def bucket(self, klass: EndpointClass) -> Bucket | None:
        return self._buckets.get(klass)

    def acquire(self, klass: EndpointClass, deadline: float, what: str) -> None:
        bucket = self._buckets.get(klass)
        if bucket is not None:
            bucket.acquire(deadline, what)

    def succeeded(self, klass: EndpointClass) -> None:
        bucket = self._buckets.get(klass)
        if bucket is not None:
            bucket.succeeded()

    def throttled(self, klass: EndpointClass) -> None:
        if self.mode == "off":
            return
        with self._lock:
            bucket = self._buckets.get(klass)
            if bucket is None:  # adaptive: the first 429 of a class starts its bucket, at quay.io's rate
                limit = self.limits[klass]
                bucket = self._buckets[klass] = Bucket(limit, ceiling=limit.rate * 4)
        bucket.throttled()


_LIMITERS: dict[str, HostLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def limiter_for(host: str) -> HostLimiter:
    """The process's limiter for a registry host (``host[:port]``), made on first use."""
    with _LIMITERS_LOCK:
        limiter = _LIMITERS.get(host)
        if limiter is None:
            limiter = _LIMITERS[host] = HostLimiter(_mode_for(host),
                                                    float(os.environ.get("QUAYWATCH_REGISTRY_LIMITS_SCALE", "1")))
        return limiter


def forget_limiters() -> None:
    """Tests start each with fresh buckets (and read QUAYWATCH_REGISTRY_LIMITS again)."""
    with _LIMITERS_LOCK:
        _LIMITERS.clear()


def _mode_for(host: str) -> str:
    chosen = os.environ.get("QUAYWATCH_REGISTRY_LIMITS", "").strip().lower()
    if chosen in ("quay", "adaptive", "off"):
        return chosen
    name = host.rsplit(":", 1)[0].lower()
    return "quay" if any(name == h or name.endswith("." + h) for h in QUAY_HOSTS) else "adaptive"
