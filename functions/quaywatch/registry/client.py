"""HTTP client for the Docker/OCI distribution API, shaped by how Quay behaves.

One ``RegistryClient`` talks to one registry host. It implements the bearer-token flow
(``GET /v2/`` -> 401 challenge -> token from the realm, cached per scope and renewed on 401;
Quay sends no ``expires_in``), plain Basic-auth registries, retries with jittered backoff on
429/5xx/connection errors, a bound on concurrent requests to the host, digest checks on
everything it downloads, and blob redirects that never carry the registry's credentials to
another host.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlencode, urljoin, urlsplit

import certifi
import httpx
import stamina

from quaywatch import metrics
from quaywatch.observability import logger
from quaywatch.outbound import AddressPolicy, Deadline, pinned_client, read_bounded
from quaywatch.registry.challenge import Challenge, parse_challenge
from quaywatch.registry.errors import (
    AuthenticationError,
    DigestMismatchError,
    InvalidManifestError,
    NotFoundError,
    PagingError,
    RateLimitedError,
    RegistryDeadlineError,
    RegistryError,
    RegistryUnavailableError,
    TLSError,
)
from quaywatch.registry.manifests import ACCEPT, Descriptor
from quaywatch.registry.ratelimit import EndpointClass, endpoint_class, limiter_for
from quaywatch.registry.retry import RETRYABLE_EXCEPTIONS, RetryableStatus, RetryPolicy

CATALOG_SCOPE = ""  # Quay wants the catalog token asked with no scope at all.
PAGE_SIZE = 100  # Quay's maximum page size.
MAX_MANIFEST_BYTES = 4 << 20  # as registries cap manifests (distribution's default is 4 MiB)
MAX_LISTING_BYTES = 16 << 20  # one catalog or tags/list page
MAX_TOKEN_BYTES = 1 << 20
MAX_PAGES = 1_000  # Link pages followed per listing: 100,000 repositories or tags at Quay's page size
_MAX_REDIRECTS = 5
_CHUNK = 1 << 20

UrlGuard = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Credentials:
    """A registry user (for Quay: a robot ``org+name``) and its token or password."""

    username: str
    secret: str

    def __repr__(self) -> str:  # never leak the secret through a repr in a log or traceback
        return f"Credentials(username={self.username!r}, secret=<redacted>)"

    def basic_header(self) -> str:
        raw = f"{self.username}:{self.secret}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True, slots=True)
class FetchedManifest:
    """A manifest as the registry served it, with its verified digest."""

    body: bytes
    media_type: str
    digest: str


class _TokenCache:
    """Registry tokens shared by the clients of one process (a re-test cycle makes a client
    per project: each asked the token service again, a third of its requests). Keyed by the
    registry, the account, a hash of its secret and the scope, so only the same credentials
    ever reuse a token; a 401 forgets it for everyone. Kept ``ttl`` seconds at most (a robot
    revoked in Quay is noticed by the next client after that, as before by the next one);
    bounded; in memory only."""

    def __init__(self, size: int = 4096, ttl: float = 300.0) -> None:
        self._size = size
        self._ttl = ttl
        self._tokens: dict[tuple[str, str, str, str], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str, str]) -> str | None:
        with self._lock:
            found = self._tokens.get(key)
            if found is None or time.monotonic() - found[1] > self._ttl:
                return None
            return found[0]

    def put(self, key: tuple[str, str, str, str], token: str) -> None:
        with self._lock:
            self._tokens.pop(key, None)
            self._tokens[key] = (token, time.monotonic())
            while len(self._tokens) > self._size:
                self._tokens.pop(next(iter(self._tokens)))

    def forget(self, key: tuple[str, str, str, str]) -> None:
        with self._lock:
            self._tokens.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


_SHARED_TOKENS = _TokenCache()
forget_shared_tokens = _SHARED_TOKENS.clear  # tests that count token requests start afresh


@functools.cache
def default_tls() -> ssl.SSLContext:
    """The public CAs' context, built once per process (loading the bundle costs ~18 ms, paid
    by every client before: a re-test cycle makes one client per project). Thread-safe to share."""
    return ssl.create_default_context(cafile=certifi.where())


def repository_scope(repository: str) -> str:
    return f"repository:{repository}:pull"


class RegistryClient:
    """Synchronous, thread-safe client for one registry host."""

    def __init__(
        self,
        registry: str,
        credentials: Credentials | None = None,
        *,
        plain_http: bool = False,
        ca_bundle: str | None = None,
        retry: RetryPolicy | None = None,
        max_concurrency: int = 4,
        url_guard: UrlGuard | None = None,
        policy: AddressPolicy | None = None,
    ) -> None:
        """``policy``: connect only to addresses it allows, checked at connect time (integrations
        of the service); None connects anywhere (the CLI scanning the user's own registries)."""
        self.registry = registry
        self.base_url = f"{'http' if plain_http else 'https'}://{registry}"
        self._credentials = credentials
        self._retry = retry or RetryPolicy()
        self._deadline = Deadline(self._retry.budget)  # its connections' and its calls' alike
        self._url_guard = url_guard
        # The CLI's client (no policy) keeps httpx's own default, which honours SSL_CERT_FILE and
        # SSL_CERT_DIR; the service's clients (pinned, environment ignored) share one context.
        verify: ssl.SSLContext | bool = (ssl.create_default_context(cafile=ca_bundle) if ca_bundle
                                         else default_tls() if policy is not None else True)
        timeout = httpx.Timeout(self._retry.timeout, connect=min(10.0, self._retry.timeout))
        limits = httpx.Limits(max_connections=max_concurrency * 2, max_keepalive_connections=max_concurrency)
        if policy is None:
            self._http = httpx.Client(verify=verify, timeout=timeout, limits=limits, follow_redirects=False)
        else:
            self._http = pinned_client(policy, verify, budget=self._deadline, timeout=timeout, limits=limits,
                                       follow_redirects=False)
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._tokens: dict[str, str] = {}
        self._tokens_lock = threading.Lock()
        self._challenge: Challenge | None = None
        self._throttled = 0  # HTTP 429 answers seen (``throttled``)
        self._limiter = limiter_for(registry)  # shared by every client of this host in the process

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    @property
    def throttled(self) -> int:
        """How many times the registry answered 429 to this client (retries included)."""
        return self._throttled

    def _note_answer(self, klass: EndpointClass, status: int) -> None:
        """Tell the host's limiter how its budget went: 429 slows the class, success speeds it."""
        if status == 429:
            self._limiter.throttled(klass)
        elif status < 400:
            self._limiter.succeeded(klass)

    def _note_throttled(self) -> None:
        with self._tokens_lock:
            self._throttled += 1
        metrics.count("quaywatch_registry_rate_limited_total")

    # ------------------------------------------------------------------ public API

    def ping(self) -> None:
        """Check that the registry speaks the v2 API and our credentials are accepted."""
        with self._call("GET", "/v2/", scope=CATALOG_SCOPE) as response:
            response.read()

    def catalog(self, page_size: int = PAGE_SIZE) -> Iterator[str]:
        """Every repository the credentials can see, following ``Link`` pages verbatim.

        Quay answers an unauthenticated catalog request with 200 and an empty list instead of
        a challenge, so the token (asked with no scope) is obtained up front through ``/v2/``.
        """
        if self._cached_token(CATALOG_SCOPE) is None and (
            self._challenge is None or self._challenge.scheme == "bearer"
        ):
            self.ping()
        yield from self._pages(f"/v2/_catalog?n={page_size}", CATALOG_SCOPE, "catalog", "repositories", None)

    def tags(self, repository: str, page_size: int = PAGE_SIZE) -> Iterator[str]:
        """Every tag of ``repository``, following ``Link`` pages."""
        yield from self._pages(f"/v2/{repository}/tags/list?n={page_size}", repository_scope(repository),
                               f"tag list of {repository}", "tags", repository)

    def _pages(self, url: str | None, scope: str, what: str, key: str, about: str | None) -> Iterator[str]:
        """The names of a paged listing: at most MAX_PAGES pages, and a page link seen before
        (a cursor that loops) is an error, not another turn."""
        seen: set[str] = set()
        while url:
            url = urljoin(self.base_url + "/", url)
            if len(seen) >= MAX_PAGES:
                raise PagingError(f"the {what} on {self.registry} goes on past {MAX_PAGES} pages; stopped there")
            seen.add(url)
            with self._call("GET", url, scope=scope, what=about) as response:
                names = self._json(response, what).get(key) or []
                if not isinstance(names, list):
                    raise RegistryError(f"registry {self.registry} sent a {what} whose {key!r} is not a list")
                yield from (name for name in names if isinstance(name, str))
                url = _next_link(response)
            if url is not None and urljoin(self.base_url + "/", url) in seen:
                raise PagingError(f"the {what} on {self.registry} links back to a page already read "
                                  f"(its cursor repeats); stopped there")

    def get_manifest(self, repository: str, reference: str) -> FetchedManifest:
        """Fetch a manifest or index by tag or digest, verifying its digest."""
        path = f"/v2/{repository}/manifests/{reference}"
        what = f"{repository}:{reference}" if ":" not in reference else f"{repository}@{reference}"
        with self._call(
            "GET", path, scope=repository_scope(repository), headers={"Accept": ACCEPT}, what=what
        ) as response:
            body = _read_bounded(response, MAX_MANIFEST_BYTES, f"manifest {what}")
            media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
            header_digest = response.headers.get("Docker-Content-Digest")
        expected = reference if reference.startswith("sha256:") else header_digest
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        if expected and expected.startswith("sha256:") and expected != digest:
            raise DigestMismatchError(
                f"manifest {what} hashes to {digest}, not {expected}: refusing tampered content"
            )
        return FetchedManifest(body=body, media_type=media_type, digest=digest)

    def head_manifest(self, repository: str, reference: str) -> str | None:
        """The digest of a tag's manifest from a HEAD request (``Docker-Content-Digest``): one
        request that downloads nothing, as a sync checks whether a tag moved. None when the
        registry does not say (the caller GETs the manifest instead)."""
        with self._call("HEAD", f"/v2/{repository}/manifests/{reference}", scope=repository_scope(repository),
                        headers={"Accept": ACCEPT}, what=f"{repository}:{reference}") as response:
            digest = response.headers.get("Docker-Content-Digest", "")
        return digest if digest.startswith("sha256:") and len(digest) == 71 else None

    def get_blob(self, repository: str, descriptor: Descriptor, max_size: int = 16 << 20) -> bytes:
        """Download a small blob (an image config) whole, verifying its digest."""
        if descriptor.size > max_size:
            raise InvalidManifestError(f"blob {descriptor.digest} is {descriptor.size} bytes, too large")
        received = bytearray()
        with self.open_blob(repository, descriptor.digest) as chunks:
            for chunk in chunks:
                received += chunk
                if len(received) > descriptor.size:  # <= max_size, checked above
                    raise InvalidManifestError(f"blob {descriptor.digest} is longer than its {descriptor.size} bytes")
        return bytes(received)

    @contextmanager
    def open_blob(self, repository: str, digest: str) -> Iterator[Iterator[bytes]]:
        """Stream a blob's bytes; the digest is verified when the stream is exhausted.

        Redirects to storage hosts are followed by hand so that the registry's
        ``Authorization`` header is only ever sent to the registry itself.
        """
        path = f"/v2/{repository}/blobs/{digest}"
        with self._call(
            "GET", path, scope=repository_scope(repository), what=f"{repository}@{digest}", blob=True
        ) as response:
            yield _verified_chunks(response, digest)

    # ------------------------------------------------------------------ plumbing

    @contextmanager
    def _call(
        self,
        method: str,
        url: str,
        *,
        scope: str,
        headers: dict[str, str] | None = None,
        what: str | None = None,
        blob: bool = False,
    ) -> Iterator[httpx.Response]:
        """Send one logical request with auth, retries and concurrency bound; yield the open
        response (status 2xx) and close it afterwards."""
        url = urljoin(self.base_url + "/", url)
        response: httpx.Response | None = None
        remaining = self._deadline.at - time.monotonic()
        if remaining <= 0:
            raise RegistryDeadlineError(
                f"gave up on registry {self.registry}: everything asked of it took over "
                f"{self._retry.budget:g} s (at {what or urlsplit(url).path})"
            )
        try:
            for attempt in stamina.retry_context(
                on=RETRYABLE_EXCEPTIONS,
                attempts=self._retry.attempts,
                wait_initial=self._retry.wait_initial,
                wait_max=self._retry.wait_max,
                wait_jitter=self._retry.wait_jitter,
                timeout=remaining,
            ):
                with attempt:
                    response = self._attempt(method, url, scope, headers or {}, what, blob)
        except RetryableStatus as exc:
            status = exc.response.status_code
            if status == 429:
                raise RateLimitedError(
                    f"registry {self.registry} kept rate-limiting requests (HTTP 429) after "
                    f"{self._retry.attempts} attempts; try again later or lower the concurrency"
                ) from None
            raise RegistryUnavailableError(
                f"registry {self.registry} kept failing with HTTP {status} after "
                f"{self._retry.attempts} attempts"
            ) from None
        except httpx.TransportError as exc:
            raise RegistryUnavailableError(
                f"cannot reach registry {self.registry}: {_describe_transport_error(exc)}"
            ) from None
        assert response is not None
        try:
            yield response
        except httpx.TransportError as exc:
            raise RegistryUnavailableError(
                f"connection to registry {self.registry} broke while reading {what or url}: "
                f"{_describe_transport_error(exc)}"
            ) from None
        finally:
            response.close()
            self._slots.release()

    def _attempt(
        self,
        method: str,
        url: str,
        scope: str,
        headers: dict[str, str],
        what: str | None,
        blob: bool,
    ) -> httpx.Response:
        """One try. Returns an open 2xx response while holding a concurrency slot."""
        self._slots.acquire()
        try:
            response = self._send_authenticated(method, url, scope, headers)
            if blob and response.status_code in (301, 302, 303, 307, 308):
                response = self._follow_redirects(response)
            if response.status_code < 300:
                return response
            response.read()
            response.close()
            self._raise_for_status(response, what or url)
        except BaseException:
            self._slots.release()
            raise
        raise AssertionError("unreachable")

    def _send_authenticated(
        self, method: str, url: str, scope: str, headers: dict[str, str]
    ) -> httpx.Response:
        token = self._cached_token(scope)
        if token is None and scope and self._challenge is not None and self._challenge.scheme == "bearer":
            # The realm is known from an earlier challenge: ask for this scope's token first
            # instead of a refused request per repository (which counts against the registry's
            # rate limit like any other: on quay.io, half a sync's tags/list budget).
            token = self._fetch_token(self._challenge, scope)
        response = self._send(method, url, headers, token)
        if response.status_code != 401:
            return response
        challenge = parse_challenge(response.headers.get("WWW-Authenticate"))
        response.read()
        response.close()
        if challenge is None:
            raise AuthenticationError(f"registry {self.registry} refused access without a challenge")
        self._challenge = challenge
        if challenge.scheme == "basic":
            if self._credentials is None:
                raise AuthenticationError(
                    f"registry {self.registry} requires a username and token "
                    "(set QUAYWATCH_REGISTRY_USERNAME and QUAYWATCH_REGISTRY_TOKEN)"
                )
            return self._send(method, url, headers, None)
        # Bearer: our cached token (if any) expired or lacks the scope. Renew it once.
        self._forget_token(scope)
        token = self._fetch_token(challenge, scope)
        response = self._send(method, url, headers, token)
        if response.status_code == 401:
            response.read()
            response.close()
            who = self._credentials.username if self._credentials else "anonymous access"
            target = scope.split(":")[1] if scope else self.registry
            raise AuthenticationError(
                f"access to {target} on {self.registry} denied for {who}: the credentials are "
                "wrong, or the account may not read it, or it does not exist"
            )
        return response

    def _send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        token: str | None,
    ) -> httpx.Response:
        request_headers = dict(headers)
        if token:
            request_headers["Authorization"] = f"Bearer {token}"
        elif self._challenge and self._challenge.scheme == "basic" and self._credentials:
            request_headers["Authorization"] = self._credentials.basic_header()
        self._check_url(url)
        klass = endpoint_class(url)
        self._limiter.acquire(klass, self._deadline.at, f"{method} {urlsplit(url).path}")
        try:
            request = self._http.build_request(method, url, headers=request_headers)
            response = self._http.send(request, stream=True)
            self._note_answer(klass, response.status_code)
            return response
        except httpx.ConnectError as exc:
            if _is_tls_failure(exc):
                raise TLSError(
                    f"TLS handshake with {self.registry} failed: {_describe_transport_error(exc)}; "
                    "pass the registry's CA bundle, or --plain-http for a loopback test registry"
                ) from None
            raise

    def _follow_redirects(self, response: httpx.Response) -> httpx.Response:
        """Follow blob redirects; credentials go only to the registry's own origin."""
        origin = _origin(self.base_url)
        for _ in range(_MAX_REDIRECTS):
            if response.status_code not in (301, 302, 303, 307, 308):
                return response
            location = response.headers.get("Location")
            response.read()
            response.close()
            if not location:
                raise RegistryUnavailableError(f"registry {self.registry} sent a redirect without Location")
            target = urljoin(str(response.url), location)
            if urlsplit(target).scheme not in ("http", "https"):
                raise RegistryUnavailableError(f"registry {self.registry} redirected to {target!r}")
            headers: dict[str, str] = {}
            if _origin(target) == origin:
                auth = response.request.headers.get("Authorization")
                if auth:
                    headers["Authorization"] = auth
            self._check_url(target)
            logger.debug("following blob redirect", extra={"registry": self.registry, "host": urlsplit(target).hostname})
            response = self._http.send(self._http.build_request("GET", target, headers=headers), stream=True)
        raise RegistryUnavailableError(f"registry {self.registry} redirected blob downloads too often")

    def _raise_for_status(self, response: httpx.Response, what: str) -> None:
        status = response.status_code
        if status in (429,) or status >= 500:
            logger.info("registry answered retryable status", extra={"registry": self.registry, "status": status})
            if status == 429:
                self._note_throttled()
            raise RetryableStatus(response)
        if status == 404:
            raise NotFoundError(f"{what} not found on {self.registry}{_error_detail(response)}")
        if status in (401, 403):
            raise AuthenticationError(f"access to {what} on {self.registry} denied (HTTP {status}){_error_detail(response)}")
        raise RegistryError(f"registry {self.registry} answered HTTP {status} for {what}{_error_detail(response)}")

    # ------------------------------------------------------------------ tokens

    def _cached_token(self, scope: str) -> str | None:
        with self._tokens_lock:
            token = self._tokens.get(scope)
        if token is None and self._credentials is not None:
            token = _SHARED_TOKENS.get(self._token_key(scope))
        return token

    def _forget_token(self, scope: str) -> None:
        with self._tokens_lock:
            self._tokens.pop(scope, None)
        if self._credentials is not None:
            _SHARED_TOKENS.forget(self._token_key(scope))

    def _token_key(self, scope: str) -> tuple[str, str, str, str]:
        """Whose token for what: the same registry, account and secret, and scope."""
        assert self._credentials is not None
        secret = hashlib.sha256(self._credentials.secret.encode()).hexdigest()
        return self.registry, self._credentials.username, secret, scope

    def _fetch_token(self, challenge: Challenge, scope: str) -> str:
        """Ask the challenge's realm for a token. Quay's answer has no ``expires_in``: we keep
        the token until a 401 tells us it expired."""
        realm = challenge.realm
        if not realm:
            raise AuthenticationError(f"registry {self.registry} sent a bearer challenge without realm")
        params: dict[str, str] = {}
        if challenge.service:
            params["service"] = challenge.service
        if scope:
            params["scope"] = scope
        url = realm + ("&" if "?" in realm else "?") + urlencode(params) if params else realm
        headers = {"Authorization": self._credentials.basic_header()} if self._credentials else {}
        self._check_url(url)
        self._limiter.acquire(EndpointClass.TOKEN, self._deadline.at, "the token endpoint")
        with self._http.stream("GET", url, headers=headers) as response:
            self._note_answer(EndpointClass.TOKEN, response.status_code)
            if response.status_code in (429,) or response.status_code >= 500:
                response.read()
                if response.status_code == 429:
                    self._note_throttled()
                raise RetryableStatus(response)
            if response.status_code in (401, 403):
                who = self._credentials.username if self._credentials else "anonymous access"
                raise AuthenticationError(
                    f"registry {self.registry} rejected the credentials of {who} (HTTP {response.status_code})"
                )
            body = _read_bounded(response, MAX_TOKEN_BYTES, "token answer")
        if response.status_code != 200:
            raise AuthenticationError(
                f"token service of {self.registry} refused the request (HTTP {response.status_code})"
                f"{_error_detail(response, body)}"
            )
        try:
            document = json.loads(body)
            token = (document.get("token") or document.get("access_token")) if isinstance(document, dict) else None
        except ValueError:
            token = None
        if not isinstance(token, str) or not token:
            raise AuthenticationError(f"token service of {self.registry} returned no token")
        with self._tokens_lock:
            self._tokens[scope] = token
        if self._credentials is not None:
            _SHARED_TOKENS.put(self._token_key(scope), token)
        logger.debug("obtained registry token", extra={"registry": self.registry, "scope": scope})
        return token

    def _check_url(self, url: str) -> None:
        if self._url_guard is not None:
            self._url_guard(url)

    def _json(self, response: httpx.Response, what: str) -> dict:
        try:
            document = json.loads(_read_bounded(response, MAX_LISTING_BYTES, what))
        except ValueError as exc:
            raise RegistryError(f"registry {self.registry} returned invalid JSON for {what}") from exc
        if not isinstance(document, dict):
            raise RegistryError(f"registry {self.registry} returned unexpected JSON for {what}")
        return document


def _read_bounded(response: httpx.Response, limit: int, what: str) -> bytes:
    return read_bounded(response, limit, what, RegistryError)


def _verified_chunks(response: httpx.Response, digest: str) -> Iterator[bytes]:
    algorithm, _, expected = digest.partition(":")
    if algorithm not in ("sha256", "sha512"):
        raise InvalidManifestError(f"unsupported digest algorithm in {digest}")
    hasher = hashlib.new(algorithm)
    for chunk in response.iter_raw():  # as read from the socket: re-chunking would copy every byte
        hasher.update(chunk)
        yield chunk
    actual = hasher.hexdigest()
    if actual != expected:
        raise DigestMismatchError(f"blob {digest} hashes to {algorithm}:{actual}: refusing corrupted content")


def _next_link(response: httpx.Response) -> str | None:
    """The ``rel="next"`` target of a ``Link`` header, kept verbatim (Quay's cursor is opaque)."""
    for link in response.headers.get_list("Link"):
        for part in link.split(","):
            target, _, params = part.partition(";")
            if 'rel="next"' in params.replace(" ", "") or "rel=next" in params.replace(" ", ""):
                target = target.strip()
                if target.startswith("<") and target.endswith(">"):
                    return urljoin(str(response.url), target[1:-1])
    return None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, (parts.hostname or "").lower(), port


def _error_detail(response: httpx.Response, body: bytes | None = None) -> str:
    """The registry's own error code/message, when it sent the standard errors document."""
    try:
        errors = (json.loads(body) if body is not None else response.json()).get("errors") or []
        first = errors[0]
        return f" ({first.get('code')}: {first.get('message')})"
    except Exception:  # noqa: BLE001 - any odd body just means no detail to add
        return ""


def _is_tls_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError) or "SSL" in type(seen).__name__ or "CERTIFICATE" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _describe_transport_error(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({exc})" if "allowed for everything" in str(exc) else "timed out"
    message = str(exc) or type(exc).__name__
    return message.splitlines()[0]
