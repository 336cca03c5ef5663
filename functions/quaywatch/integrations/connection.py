"""Testing a registry connection the way an import will use it: reach, TLS, credentials,
and whether the robot sees any repository."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice

from quaywatch.errors import QuaywatchError, UsageError
from quaywatch.integrations.secrets import RegistrySecret
from quaywatch.integrations.url_policy import (
    check_host,
    check_registry_url,
    parse_registry_url,
    url_guard,
)
from quaywatch.outbound import AddressPolicy
from quaywatch.registry.client import Credentials, RegistryClient
from quaywatch.registry.errors import (
    AuthenticationError,
    RateLimitedError,
    RegistryUnavailableError,
    TLSError,
)
from quaywatch.registry.retry import RetryPolicy


class ConnectionTestFailed(QuaywatchError):
    """The registry could not be used; ``code`` says which way (the API returns it)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# The test counts at most this many repositories (10 catalog pages): a registry of 10,000 is
# not walked inside an API request, nor made to rate-limit us for a number on a page.
MAX_COUNTED = 1_000


@dataclass(frozen=True)
class ConnectionReport:
    repository_count: int  # capped at MAX_COUNTED


@contextmanager
def registry_client(
    url: str, username: str, secret: RegistrySecret, allow_private: bool, retry: RetryPolicy | None = None
) -> Iterator[RegistryClient]:
    """A client for an integration; the CA bundle is written to a private temporary file."""
    host, plain_http = parse_registry_url(url)
    if plain_http and not allow_private:
        raise UsageError("plain http:// registries are only allowed when private registries are")
    check_host(host, allow_private)
    bundle_path = None
    try:
        if secret.ca_bundle:
            fd, bundle_path = tempfile.mkstemp(prefix="quaywatch-ca-", suffix=".pem")
            with os.fdopen(fd, "w") as handle:
                handle.write(secret.ca_bundle)
        with RegistryClient(host, Credentials(username, secret.token), plain_http=plain_http,
                            ca_bundle=bundle_path, retry=retry, url_guard=url_guard(allow_private),
                            policy=AddressPolicy(allow_private)) as client:
            yield client
    finally:
        if bundle_path:
            os.unlink(bundle_path)


@contextmanager
def anonymous_client(url: str, allow_private: bool, retry: RetryPolicy | None = None) -> Iterator[RegistryClient]:
    """A client for a public registry, read without credentials (anonymous pull tokens)."""
    check_registry_url(url, allow_private)
    host, plain_http = parse_registry_url(url)
    with RegistryClient(host, None, plain_http=plain_http, retry=retry, url_guard=url_guard(allow_private),
                        policy=AddressPolicy(allow_private)) as client:
        yield client


def check_connection(url: str, username: str, secret: RegistrySecret, allow_private: bool) -> ConnectionReport:
    """Raises ConnectionTestFailed with a code: unreachable, tls, credentials, no_repositories."""
    fast = RetryPolicy(attempts=2, wait_initial=0.2, wait_max=1.0, timeout=8.0, budget=20.0)  # an API request
    try:
        with registry_client(url, username, secret, allow_private, retry=fast) as client:
            client.ping()
            count = sum(1 for _ in islice(client.catalog(), MAX_COUNTED))
    except UsageError as exc:
        raise ConnectionTestFailed("invalid_url", str(exc)) from None
    except TLSError as exc:
        raise ConnectionTestFailed("tls", str(exc)) from None
    except AuthenticationError as exc:
        raise ConnectionTestFailed("credentials", str(exc)) from None
    except (RegistryUnavailableError, RateLimitedError) as exc:
        raise ConnectionTestFailed("unreachable", str(exc)) from None
    except QuaywatchError as exc:  # a broken catalog answer, Link pages that loop ...
        raise ConnectionTestFailed("registry_error", str(exc)) from None
    if count == 0:
        raise ConnectionTestFailed(
            "no_repositories", "the robot account sees no repository: grant it read access in Quay first"
        )
    return ConnectionReport(repository_count=count)
