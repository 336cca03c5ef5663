"""Every request quaywatch makes on behalf of a user-supplied URL goes through here: the
registry, its blob redirects and token realm, ``Link`` pages, Quay's API, notification
channels, the feed sync.

The address is decided once, at connect time: the name is resolved, *every* address it
resolves to is checked against the policy, and the socket is opened to exactly that checked
address. TLS still verifies the certificate for the name (httpcore hands the original host to
``start_tls`` as the server name), so a DNS answer that changes between a check and a connect
(rebinding) cannot steer a request, or the robot's credentials, to an internal service.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx

from quaywatch.errors import UsageError

Resolver = Callable[..., list[tuple[Any, ...]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata services: never reachable, whatever the deployment allows.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "169.254.170.23", "fd00:ec2::254", "fd00:ec2::23", "100.100.100.200"))
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_6TO4 = ipaddress.ip_network("2002::/16")


class BlockedAddressError(UsageError):
    """A host resolves to an address this deployment may not reach (or does not resolve)."""


class UnresolvableHostError(BlockedAddressError):
    """A host name that does not resolve (here and now)."""


def url_syntax_problem(url: str) -> str | None:
    """Why the HTTP client would refuse this URL (an IPv4 address out of range, a host name
    IDNA forbids ...), or None."""
    try:
        httpx.URL(url)
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:  # idna's errors are UnicodeErrors
        return str(exc)[:200]
    return None


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, NAT64 or 6to4 IPv6 address."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if any(address in network for network in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _6TO4:
        return address.sixtofour
    return None


def system_resolver(host: str, port: int, **hints: Any) -> list[tuple[Any, ...]]:
    """getaddrinfo, looked up at call time (tests replace ``socket.getaddrinfo``)."""
    return socket.getaddrinfo(host, port, **hints)


@dataclass(frozen=True)
class AddressPolicy:
    """``allow_private``: loopback and private networks may be reached (``serve`` on your own
    machine, or a stack deployed with AllowPrivateRegistries). ``resolver`` is getaddrinfo's
    signature (tests give one that answers differently on each call)."""

    allow_private: bool = False
    resolver: Resolver = field(default=system_resolver, compare=False, repr=False)

    def refusal(self, address: IPAddress) -> str | None:
        """Why this address may not be reached, or None."""
        inner = embedded_ipv4(address)
        for candidate in (address, inner) if inner is not None else (address,):
            if candidate in METADATA_ADDRESSES:
                return "a cloud metadata address"
            if candidate.is_unspecified or candidate.is_multicast:
                return "an unspecified or multicast address"
            if self.allow_private:
                continue
            if candidate.is_loopback:
                return "a loopback address"
            if candidate.is_link_local:
                return "a link-local address"
            if isinstance(candidate, ipaddress.IPv4Address) and candidate in _CGNAT:
                return "a carrier-grade NAT address"
            if candidate.is_private or candidate.is_reserved or not candidate.is_global:
                return "a private or reserved address"
        return None

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address of ``host``, each checked; BlockedAddressError if any is refused."""
        try:
            literal = ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
            addresses = [literal]
        except ValueError:
            try:
                infos = self.resolver(host, port, type=socket.SOCK_STREAM)
            except (socket.gaierror, UnicodeError, OSError) as exc:
                raise UnresolvableHostError(f"{host} does not resolve ({exc}); it cannot be reached") from None
            addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos))
        if not addresses:
            raise UnresolvableHostError(f"{host} does not resolve; it cannot be reached")
        for address in addresses:
            why = self.refusal(address)
            if why is not None:
                subject = str(address) if len(addresses) == 1 and host.strip("[]") == str(address) else (
                    f"{host} resolves to {address}, which")
                raise BlockedAddressError(
                    f"{subject} is {why}; this deployment does not allow it"
                    + ("" if self.allow_private else " (private registries are off: AllowPrivateRegistries)"))
        return addresses


class Deadline:
    """A moment (time.monotonic) after which a client's connections neither connect, read
    nor write: per-operation timeouts alone let a server that sends a byte every few seconds
    hold a request for hours."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def bound(self, timeout: float | None, kind: type[Exception]) -> float:
        """``timeout`` shortened to what is left; ``kind`` raised when nothing is."""
        remaining = self.at - time.monotonic()
        if remaining <= 0:
            raise kind(self.message)
        return remaining if timeout is None else min(timeout, remaining)

    @property
    def message(self) -> str:
        return f"the {self.seconds:g} s allowed for everything this client does ran out"

    @contextmanager
    def explained(self, kind: type[Exception]) -> Iterator[None]:
        """A timeout that the deadline caused says so (not just "timed out")."""
        try:
            yield
        except (httpcore.ReadTimeout, httpcore.WriteTimeout, httpcore.ConnectTimeout):
            if time.monotonic() >= self.at:
                raise kind(self.message) from None
            raise


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read, write and TLS handshake ends by the deadline."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with self._deadline.explained(httpcore.ReadTimeout):
            return self._inner.read(max_bytes, self._deadline.bound(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        with self._deadline.explained(httpcore.WriteTimeout):
            self._inner.write(buffer, self._deadline.bound(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        bounded = self._deadline.bound(timeout, httpcore.ConnectTimeout)
        with self._deadline.explained(httpcore.ConnectTimeout):
            return DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, bounded), self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class PinnedBackend(httpcore.NetworkBackend):
    """httpcore's synchronous backend, connecting only to addresses the policy checked, and
    with a ``deadline`` ending every operation of every connection by then."""

    def __init__(self, policy: AddressPolicy, deadline: Deadline | None = None) -> None:
        self._policy = policy
        self._deadline = deadline
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        if self._deadline is not None:
            timeout = self._deadline.bound(timeout, httpcore.ConnectTimeout)
        addresses = self._policy.resolve(host, port)
        failure: Exception | None = None
        for address in addresses:  # each one checked; the first that answers is used
            try:
                stream = self._inner.connect_tcp(str(address), port, timeout=timeout, local_address=local_address,
                                                 socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            return stream if self._deadline is None else DeadlineStream(stream, self._deadline)
        assert failure is not None
        raise failure

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise BlockedAddressError("unix sockets are not reachable from here")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def pinned_transport(policy: AddressPolicy, verify: ssl.SSLContext | bool = True,
                     limits: httpx.Limits | None = None, deadline: Deadline | None = None) -> httpx.HTTPTransport:
    """An httpx transport whose every connection goes through ``PinnedBackend``. Proxies from
    the environment are ignored: they would connect on our behalf, out of the policy's sight."""
    transport = httpx.HTTPTransport(verify=verify, limits=limits or httpx.Limits(), trust_env=False)
    transport._pool._network_backend = PinnedBackend(policy, deadline)  # httpx offers no argument for it
    return transport


def pinned_client(policy: AddressPolicy, verify: ssl.SSLContext | bool = True, *,
                  budget: float | Deadline | None = None, **options: Any) -> httpx.Client:
    """``budget``: seconds everything this client does may take, from now, or the caller's own
    ``Deadline`` (connects, reads and writes past it fail as timeouts); None: per-operation
    timeouts only."""
    limits = options.pop("limits", None)
    deadline = budget if isinstance(budget, Deadline) or budget is None else Deadline(budget)
    return httpx.Client(transport=pinned_transport(policy, verify, limits, deadline), trust_env=False, **options)


def read_bounded(response: httpx.Response, limit: int, what: str, error: type[Exception]) -> bytes:
    """A streamed response's body, refused with ``error`` once it passes ``limit`` bytes: a
    remote server cannot fill our memory, whatever its Content-Length says."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise error(f"the {what} is {int(declared)} bytes, over the {limit >> 10} KiB quaywatch reads")
    received = bytearray()
    for chunk in response.iter_bytes():
        received += chunk
        if len(received) > limit:
            raise error(f"the {what} is over the {limit >> 10} KiB quaywatch reads")
    return bytes(received)
