"""What a registry (or Quay's API) cannot make quaywatch do, whatever it answers (issue 17):
follow Link pages for ever or in a loop, take longer than the client's budget, or read an
answer larger than anything real into memory. The servers are stubs that misbehave on
purpose (tests/support/misbehaving.py); the client is the one the workers and the API use."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from quaywatch.integrations.quay_api import QuayApi, QuayApiError
from quaywatch.registry import client as registry_client
from quaywatch.registry.client import RegistryClient
from quaywatch.registry.errors import PagingError, RegistryDeadlineError, RegistryError
from quaywatch.registry.manifests import Descriptor
from quaywatch.registry.retry import RetryPolicy

from tests.support.misbehaving import StubServer, as_json, endless_catalog


@pytest.fixture
def stub() -> Iterator[list[StubServer]]:
    started: list[StubServer] = []
    yield started
    for server in started:
        server.close()


def serve(stub: list[StubServer], routes) -> StubServer:
    server = StubServer(routes)
    stub.append(server)
    return server


def client(server: StubServer, **retry: float) -> RegistryClient:
    return RegistryClient(server.host, plain_http=True, retry=RetryPolicy.fast() if not retry else RetryPolicy(
        attempts=2, wait_initial=0.01, wait_max=0.02, wait_jitter=0.0, timeout=5.0, **retry))


def test_link_pages_stop_at_the_page_cap(stub, monkeypatch) -> None:
    monkeypatch.setattr(registry_client, "MAX_PAGES", 50)
    server = serve(stub, endless_catalog())
    with client(server) as registry, pytest.raises(PagingError, match="goes on past 50 pages"):
        list(registry.catalog())
    assert server.count("/v2/_catalog") == 50


def test_a_cursor_seen_before_is_an_error_not_another_turn(stub) -> None:
    server = serve(stub, endless_catalog(loop=True))
    with client(server) as registry, pytest.raises(PagingError, match="links back to a page already read"):
        list(registry.catalog())
    assert server.count("/v2/_catalog") == 2


def test_everything_a_client_does_stops_at_its_budget(stub) -> None:
    server = serve(stub, endless_catalog(delay=0.05))
    started = time.monotonic()
    with client(server, budget=1.0) as registry, pytest.raises(RegistryDeadlineError, match="took over 1 s"):
        list(registry.catalog())
    assert time.monotonic() - started < 5 and 5 <= server.count("/v2/_catalog") <= 25


def test_a_manifest_larger_than_any_real_one_is_refused(stub) -> None:
    huge = b'{"schemaVersion": 2, "padding": "' + b"x" * (5 << 20) + b'"}'

    def manifest(_):
        headers = {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
        return 200, headers, huge

    server = serve(stub, {"/v2/": lambda _: as_json({}), "/v2/acme/big/manifests/1": manifest})
    with client(server) as registry, pytest.raises(RegistryError, match="over the 4096 KiB quaywatch reads"):
        registry.get_manifest("acme/big", "1")


def test_a_blob_longer_than_its_descriptor_is_not_read_on(stub) -> None:
    body = b"x" * (1 << 20)
    server = serve(stub, {"/v2/": lambda _: as_json({}),
                          "/v2/acme/app/blobs/sha256:" + "a" * 64: lambda _: (200, {}, body)})
    descriptor = Descriptor(media_type="application/vnd.oci.image.config.v1+json", digest="sha256:" + "a" * 64, size=100)
    with client(server) as registry, pytest.raises(RegistryError, match="longer than its 100 bytes"):
        registry.get_blob("acme/app", descriptor)


def test_a_token_answer_of_megabytes_is_refused(stub) -> None:
    def challenge(_):
        return 401, {"WWW-Authenticate": f'Bearer realm="{server.url}/token",service="stub"'}, b"{}"

    server = serve(stub, {"/v2/": challenge, "/token": lambda _: as_json({"token": "t" * (2 << 20)})})
    with client(server) as registry, pytest.raises(RegistryError, match="token answer"):
        registry.ping()


def test_quay_api_pages_that_always_have_more_stop_at_the_cap(stub, monkeypatch) -> None:
    from quaywatch.integrations import quay_api

    monkeypatch.setattr(quay_api, "MAX_PAGES", 7)
    server = serve(stub, {"/api/v1/repository/acme/web/tag/": lambda query: as_json(
        {"tags": [{"name": f"t{query['page'][0]}", "manifest_digest": "sha256:" + "b" * 64}], "has_additional": True})})
    api = QuayApi(server.url, "oauth-token", allow_private=True)
    try:
        with pytest.raises(QuayApiError, match="go on past 7 pages"):
            api.active_tags("acme/web")
    finally:
        api.close()
    assert server.count("/api/v1/repository/acme/web/tag/") == 7


@pytest.mark.parametrize("document", [[1, 2], {"tags": [{"no": "name"}]}, {"tags": "many"}, {"tags": [7]}])
def test_quay_api_answers_of_the_wrong_shape_are_refused_in_words(stub, document) -> None:
    server = serve(stub, {"/api/v1/repository/acme/web/tag/": lambda _: as_json(document)})
    api = QuayApi(server.url, "oauth-token", allow_private=True)
    try:
        with pytest.raises(QuayApiError, match="unreadable tag list for acme/web"):
            api.active_tags("acme/web")
    finally:
        api.close()


def test_a_server_that_answers_a_byte_at_a_time_is_cut_off_at_the_budget() -> None:
    """Each byte well within the per-read timeout, the whole answer never: only a deadline
    over the whole connection stops it (before, a worker could be held for hours)."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def trickle() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                connection.recv(65536)
                for byte in b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 10_000:
                    if stop.is_set():
                        break
                    try:
                        connection.sendall(bytes([byte]))
                    except OSError:
                        break
                    time.sleep(0.05)

    threading.Thread(target=trickle, daemon=True).start()
    host = f"127.0.0.1:{listener.getsockname()[1]}"
    started = time.monotonic()
    try:
        retry = RetryPolicy(attempts=1, wait_initial=0.01, wait_max=0.01, wait_jitter=0.0, timeout=5.0, budget=1.5)
        from quaywatch.outbound import AddressPolicy

        with RegistryClient(host, plain_http=True, retry=retry, policy=AddressPolicy(allow_private=True)) as registry:
            with pytest.raises(RegistryError, match="1.5 s allowed for everything this client does ran out"):
                registry.ping()
    finally:
        stop.set()
        listener.close()
    assert time.monotonic() - started < 4
