"""A user-supplied registry URL is untrusted input (SPEC section 5): unless the deployment
allows private registries, refuse loopback, link-local, private and reserved addresses, and
check again on every connection and redirect (``RegistryClient.url_guard``)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from quaywatch.errors import UsageError


class BlockedAddressError(UsageError):
    """The registry host resolves to an address this deployment may not reach."""


def parse_registry_url(url: str) -> tuple[str, bool]:
    """``https://quay.example.com:8443`` -> (``quay.example.com:8443``, plain_http=False)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UsageError("url must be an https:// URL of the registry, e.g. https://quay.io")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise UsageError("url must be the registry's base URL, without path, query or credentials")
    host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    if ":" in parts.hostname and parts.port is None:
        host = f"[{parts.hostname}]"
    return host, parts.scheme == "http"


def check_host(host: str, allow_private: bool) -> None:
    """Resolve ``host`` (``name[:port]``) and refuse non-public addresses unless allowed."""
    if allow_private:
        return
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host.strip("[]")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, None)}
    except socket.gaierror:
        return  # unresolvable: the connection itself will fail with a clear error
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not ip.is_global:
            raise BlockedAddressError(
                f"registry host {name} resolves to {ip}, a private, loopback or link-local address; "
                "this deployment does not allow private registries (AllowPrivateRegistries)"
            )


def url_guard(allow_private: bool):
    """A ``RegistryClient`` hook checking every URL it is about to fetch (redirects too)."""

    def guard(url: str) -> None:
        parts = urlsplit(url)
        if parts.hostname:
            check_host(parts.hostname, allow_private)

    return guard


def check_notification_url(url: str, allow_private: bool) -> None:
    """Notification channels are user-supplied URLs too: https only (http where private
    addresses are allowed), never an internal address unless the deployment allows it."""
    parts = urlsplit(url)
    if not parts.hostname or parts.scheme not in ("https", "http") or (parts.scheme == "http" and not allow_private):
        raise UsageError("a notification channel needs an https:// URL")
    check_host(parts.hostname, allow_private)
