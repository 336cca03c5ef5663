"""The registry client against a real docker-registry behind Quay-like auth and faults."""

from __future__ import annotations

import httpx
import pytest
from quaywatch.registry.client import Credentials, RegistryClient
from quaywatch.registry.errors import (
    AuthenticationError,
    DigestMismatchError,
    NotFoundError,
    RateLimitedError,
    RegistryUnavailableError,
)
from quaywatch.registry.reference import ImageReference
from quaywatch.registry.retry import RetryPolicy
from quaywatch.scanning.scanner import ImageScanner

from tests.conftest import OTHER_ROBOT, ROBOT
from tests.support import fixtures
from tests.support.registry_process import free_port

pytestmark = pytest.mark.registry


def _ref(stack, repo_tag: str) -> ImageReference:
    return ImageReference.parse(f"{stack.host}/{repo_tag}")


def test_tokens_are_reused_per_scope(stack):
    stack.pusher.push_image("acme/tokens", "1", [fixtures.debian_base(), fixtures.python_layer(), fixtures.npm_layer()])
    with stack.client() as client:
        ImageScanner(client).scan(_ref(stack, "acme/tokens:1"))
        ImageScanner(client).scan(_ref(stack, "acme/tokens:1"))
    scopes = [r["scope"] for r in stack.tokens.requests]
    assert scopes == ["repository:acme/tokens:pull"]  # one token for manifest, config and 3 layers, twice
    assert stack.tokens.requests[0]["auth"] == "Basic"


def test_expired_token_is_renewed_on_401(stack):
    stack.pusher.push_image("acme/renew", "1", [fixtures.alpine_base()])
    scope = "repository:acme/renew:pull"
    access = [{"type": "repository", "name": "acme/renew", "actions": ["pull"]}]
    # A token past its expiry (and past the registry's 60 s leeway), as a long-running worker
    # would hold after an hour: Quay never said when it expires, the 401 tells us.
    expired = stack.tokens.issue(ROBOT.username, access, ttl=-120)
    with stack.client() as client:
        client._tokens[scope] = expired
        client.get_manifest("acme/renew", "1")
        assert client._tokens[scope] != expired
    assert [r["scope"] for r in stack.tokens.requests] == [scope]


def test_anonymous_pull_of_public_repository(stack):
    stack.pusher.push_image("public/base", "latest", [fixtures.alpine_base()])
    with stack.client(credentials=None) as client:
        inventory = ImageScanner(client).scan(_ref(stack, "public/base:latest"))
    assert inventory.os.id == "alpine"
    assert stack.tokens.requests[0]["auth"] is None


def test_wrong_credentials(stack):
    with stack.client(credentials=Credentials(ROBOT.username, "wrong")) as client:
        with pytest.raises(AuthenticationError, match="rejected the credentials of acme\\+scanner"):
            client.get_manifest("acme/debian", "bookworm")


def test_repository_the_robot_cannot_read_is_an_authentication_error_not_404(stack):
    stack.pusher.push_image("acme/private", "1", [fixtures.alpine_base()])
    with stack.client(credentials=OTHER_ROBOT) as client:
        with pytest.raises(AuthenticationError, match="denied for other\\+robot"):
            client.get_manifest("acme/private", "1")


def test_missing_tag_is_not_found(stack):
    stack.pusher.push_image("acme/exists", "1", [fixtures.alpine_base()])
    with stack.client() as client:
        with pytest.raises(NotFoundError, match="acme/exists:nope not found .*MANIFEST_UNKNOWN"):
            client.get_manifest("acme/exists", "nope")


def test_catalog_follows_opaque_link_cursor_and_filters_by_robot(stack):
    for name in ("acme/cat-a", "acme/cat-b", "acme/cat-c", "other/cat-x"):
        stack.pusher.push_image(name, "1", [fixtures.alpine_base()])
    with stack.client() as client:
        repositories = list(client.catalog(page_size=2))
    assert {"acme/cat-a", "acme/cat-b", "acme/cat-c"} <= set(repositories)
    assert not any(r.startswith("other/") for r in repositories)
    assert len(repositories) == len(set(repositories))
    assert stack.front.stats.count(r"_catalog\?n=2&next_page=") >= 1
    # The catalog token is asked with no scope at all (Quay answers 400 to registry:catalog:*).
    assert {"scope": None, "auth": "Basic"} in stack.tokens.requests


def test_catalog_asks_a_token_first_because_quay_answers_empty_without_one(stack):
    stack.pusher.push_image("public/base", "latest", [fixtures.alpine_base()])
    # Quay's trap: no token, no challenge, just an empty 200.
    raw = httpx.get(f"http://{stack.host}/v2/_catalog")
    assert (raw.status_code, raw.json()) == (200, {"repositories": []})
    with stack.client(credentials=None) as client:
        assert list(client.catalog()) == ["public/base"]  # anonymous token: public repositories


def test_tags_are_paginated(stack):
    for tag in ("a", "b", "c", "d", "e"):
        stack.pusher.push_image("acme/tagged", tag, [fixtures.alpine_base()])
    with stack.client() as client:
        tags = list(client.tags("acme/tagged", page_size=2))
    assert sorted(tags) == ["a", "b", "c", "d", "e"]  # each exactly once across pages
    assert stack.front.stats.count(r"/tags/list") >= 3


def test_429_then_success(stack):
    stack.pusher.push_image("acme/limited", "1", [fixtures.alpine_base()])
    stack.front.inject(r"/manifests/", 429, times=2)
    stack.front.inject(r"/blobs/", 429, times=2)
    with stack.client() as client:
        inventory = ImageScanner(client).scan(_ref(stack, "acme/limited:1"))
    assert "busybox" in {p.name for p in inventory.packages}
    # two 429s, the 401 challenge, then the authenticated success
    assert stack.front.stats.count(r"/manifests/") == 4


def test_persistent_429_and_503_give_up_with_clear_errors(stack):
    stack.front.inject(r"/manifests/", 429, times=100)
    with stack.client() as client, pytest.raises(RateLimitedError, match="HTTP 429"):
        client.get_manifest("acme/limited", "1")
    stack.front.reset()
    stack.front.inject(r"/manifests/", 503, times=100)
    with stack.client() as client, pytest.raises(RegistryUnavailableError, match="HTTP 503 after 5 attempts"):
        client.get_manifest("acme/limited", "1")


def test_blob_redirect_to_other_host_drops_authorization(stack):
    stack.pusher.push_image("acme/redirected", "1", [fixtures.debian_base(), fixtures.python_layer()])
    stack.front.redirect_blobs = True
    with stack.client() as client:
        inventory = ImageScanner(client).scan(_ref(stack, "acme/redirected:1"))
    assert "requests" in {p.name for p in inventory.packages}
    assert len(stack.front.stats.blob_host_auth_headers) == 3  # config + 2 layers
    assert stack.front.stats.blob_host_auth_headers == [None, None, None]


def test_tampered_manifest_is_refused(stack):
    pushed = stack.pusher.push_image("acme/tampered", "1", [fixtures.alpine_base()])
    stack.front.tamper_manifests = True
    with stack.client() as client, pytest.raises(DigestMismatchError, match="refusing tampered content"):
        client.get_manifest("acme/tampered", pushed.digest)


def test_corrupted_layer_blob_is_refused(stack):
    stack.pusher.push_image("acme/corrupt", "1", [fixtures.alpine_base()], compression="none")
    stack.front.tamper_blobs = True
    with stack.client() as client, pytest.raises(DigestMismatchError, match="refusing corrupted content"):
        ImageScanner(client).scan(_ref(stack, "acme/corrupt:1"))


def test_plain_basic_auth_registry(stack):
    stack.pusher.push_image("acme/basic", "1", [fixtures.alpine_base()])
    stack.front.basic_users = {"reader": "s3cret"}
    with stack.client(credentials=Credentials("reader", "s3cret")) as client:
        inventory = ImageScanner(client).scan(_ref(stack, "acme/basic:1"))
    assert inventory.os.id == "alpine"
    assert stack.tokens.requests == []  # no token flow against a Basic registry
    with stack.client(credentials=Credentials("reader", "nope")) as client:
        with pytest.raises(AuthenticationError):
            client.get_manifest("acme/basic", "1")


def test_unreachable_registry():
    client = RegistryClient(f"127.0.0.1:{free_port()}", plain_http=True, retry=RetryPolicy.fast())
    with client, pytest.raises(RegistryUnavailableError, match="cannot reach registry"):
        client.ping()


def test_tls_registry_without_trusted_ca(stack):
    # The front speaks plain HTTP: a TLS client must fail with a TLS diagnosis, not hang.
    client = RegistryClient(stack.host, ROBOT, retry=RetryPolicy.fast())
    with client, pytest.raises(RegistryUnavailableError, match="TLS|SSL|cannot reach"):
        client.ping()


def test_clients_of_one_process_share_tokens_and_configs_only_for_the_same_credentials(stack):
    """A re-test cycle makes a client per project: the second client asks no token and no
    config again (issue 18: 130 ms -> 24 ms per re-test on the local registry); another secret
    never reuses a token, and a token the registry refuses is forgotten for everyone."""
    stack.pusher.push_image("acme/shared", "1", [fixtures.alpine_310_base()])
    for _ in range(2):
        with stack.client() as client:
            ImageScanner(client).resolve(_ref(stack, "acme/shared:1"))
    assert [r["scope"] for r in stack.tokens.requests] == ["repository:acme/shared:pull"]
    assert stack.front.stats.count(r"/blobs/") == 1  # the config, once
    with stack.client(OTHER_ROBOT) as other, pytest.raises(AuthenticationError):
        ImageScanner(other).resolve(_ref(stack, "acme/shared:1"))  # its own token, refused for this repository
    assert len(stack.tokens.requests) == 2
    # A shared token past its expiry (and the registry's 60 s leeway) is refused, renewed once
    # and the renewal shared: the client after that asks nothing.
    from quaywatch.registry import client as registry_client

    scope = "repository:acme/shared:pull"
    expired = stack.tokens.issue(ROBOT.username, [{"type": "repository", "name": "acme/shared", "actions": ["pull"]}],
                                 ttl=-120)
    with stack.client() as client:
        registry_client._SHARED_TOKENS.put(client._token_key(scope), expired)
        ImageScanner(client).resolve(_ref(stack, "acme/shared:1"))
    with stack.client() as client:
        ImageScanner(client).resolve(_ref(stack, "acme/shared:1"))
    assert len(stack.tokens.requests) == 3  # the two above, and one renewal
