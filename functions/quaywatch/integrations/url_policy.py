"""A user-supplied registry or channel URL is untrusted input (SPEC section 5). These checks
give an early, plain answer when a URL is saved; the enforcement is at connect time, for every
request, in ``quaywatch.outbound`` (a name may resolve differently by then)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from urllib.parse import urlsplit

import idna

from quaywatch.errors import UsageError
from quaywatch.outbound import (
    AddressPolicy,
    BlockedAddressError,
    UnresolvableHostError,
    url_syntax_problem,
)

__all__ = ["BlockedAddressError", "check_host", "check_notification_url", "parse_registry_url", "url_guard"]


_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_NUMERIC_LABEL = re.compile(r"^(?:0[xX][0-9a-fA-F]*|[0-9]+)$")


def _check_hostname(hostname: str, what: str) -> None:
    """A DNS name of valid labels (punycode ones decodable), or an IP literal written the
    one way every resolver reads alike.

    A host whose last label is a number is an IPv4 address to a URL parser and to
    getaddrinfo, which also reads ``01.2.3.4`` as octal and ``0xA9.254.169.254``, ``2852039166``
    or ``0251.0376.0251.0376`` as 169.254.169.254: only the dotted decimal form is taken."""
    if ":" in hostname:
        try:
            ipaddress.IPv6Address(hostname.split("%", 1)[0])
            return
        except ValueError:
            raise UsageError(f"{what} has an invalid IPv6 address {hostname[:70]!r}") from None
    if _NUMERIC_LABEL.match(hostname.rstrip(".").rsplit(".", 1)[-1]):
        try:
            ipaddress.IPv4Address(hostname)
            return
        except ValueError:
            raise UsageError(f"{what} has an invalid IPv4 address {hostname[:70]!r}: write it as four decimal numbers "
                             "from 0 to 255, without leading zeros") from None
    try:
        ascii_name = hostname if hostname.isascii() else idna.encode(hostname.lower()).decode("ascii")
        labels = ascii_name.rstrip(".").split(".")
        for label in labels:
            if not _LABEL.match(label):
                raise UsageError(f"{what} has an invalid host name label {label[:70]!r}")
            if label.startswith("xn--"):
                label.encode("ascii").decode("idna")
    except UnicodeError as exc:
        raise UsageError(f"{what} has an invalid host name: {exc}") from None
    if len(ascii_name) > 253:
        raise UsageError(f"{what} has a host name over 253 characters")


def _check_url_syntax(url: str, what: str) -> None:
    """What the HTTP client will refuse to send to, refused now with the reason."""
    problem = url_syntax_problem(url)
    if problem:
        raise UsageError(f"{what} is not a valid URL: {problem}")


def parse_registry_url(url: str) -> tuple[str, bool]:
    """``https://quay.example.com:8443`` -> (``quay.example.com:8443``, plain_http=False)."""
    try:
        parts = urlsplit(url.strip())
        hostname, port = parts.hostname, parts.port
    except ValueError as exc:  # a port out of range, an unclosed IPv6 bracket ...
        raise UsageError(f"url is not a valid URL: {exc}") from None
    if parts.scheme not in ("https", "http") or not hostname:
        raise UsageError("url must be an https:// URL of the registry, e.g. https://quay.io")
    _check_hostname(hostname, "url")
    _check_url_syntax(url.strip(), "url")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise UsageError("url must be the registry's base URL, without path, query or credentials")
    name = f"[{hostname}]" if ":" in hostname else hostname
    return (name if port is None else f"{name}:{port}"), parts.scheme == "http"


def _split(host: str) -> tuple[str, int]:
    parts = urlsplit(f"//{host}")
    try:
        return parts.hostname or host, parts.port or 443
    except ValueError as exc:
        raise UsageError(f"{host} is not a valid host: {exc}") from None


def check_host(host: str, allow_private: bool) -> None:
    """Resolve ``host`` (``name[:port]``, IPv6 in brackets) and refuse what the policy refuses
    (cloud metadata addresses whatever the deployment allows); a name that does not resolve
    is refused too, unless private registries are allowed (a name of your own network may
    resolve only where the workers run). Every connection is checked again when made."""
    name, port = _split(host)
    try:
        AddressPolicy(allow_private).resolve(name, port)
    except UnresolvableHostError:
        if not allow_private:
            raise


def url_guard(allow_private: bool) -> Callable[[str], None]:
    """A ``RegistryClient`` hook checking every URL it is about to fetch (redirects too), for a
    clear error before connecting; the connection itself is pinned as well."""

    def guard(url: str) -> None:
        try:
            hostname = urlsplit(url).hostname
        except ValueError as exc:
            raise UsageError(f"the registry sent an invalid URL: {exc}") from None
        if hostname:
            check_host(f"[{hostname}]" if ":" in hostname else hostname, allow_private)

    return guard


def check_registry_url(url: str, allow_private: bool) -> None:
    """A registry URL given without an integration (a public base image source): the same
    rules as an integration's (https unless private registries are allowed, no internal
    addresses when they are not)."""
    host, plain_http = parse_registry_url(url)
    if plain_http and not allow_private:
        raise UsageError("plain http:// registries are only allowed when private registries are")
    check_host(host, allow_private)


def check_notification_url(url: str, allow_private: bool) -> None:
    """Notification channels are user-supplied URLs too: https only (http where private
    addresses are allowed), never an internal address unless the deployment allows it."""
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"the channel URL is not a valid URL: {exc}") from None
    if not hostname or parts.scheme not in ("https", "http") or (parts.scheme == "http" and not allow_private):
        raise UsageError("a notification channel needs an https:// URL")
    _check_hostname(hostname, "the channel URL")
    _check_url_syntax(url, "the channel URL")
    name = f"[{hostname}]" if ":" in hostname else hostname
    check_host(name if port is None else f"{name}:{port}", allow_private)
