"""A corpus of hostile and malformed requests replayed on every route of ``serve`` (in
process, the local adapters): never a 5xx, always a JSON error in plain words, never an
exception's name, and every request answered (no thread left hanging). Hostile Dockerfiles
go to their own route in tests/integration/test_serve_under_attack.py."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator

import httpx
import pytest
from quaywatch.integrations.records import Integration
from quaywatch.runtime.embedded.server import EmbeddedServer
from quaywatch.runtime.template import Template

from tests.support.hostile import MISREAD_HOSTS
from tests.support.registry_process import free_port

LEAKS = re.compile(r"Traceback|RecursionError|ValueError|KeyError|TypeError|Exception|\.py\b")
CA_NOT_PEM = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"

BODIES: dict[str, str | bytes] = {
    "deep array": "[" * 50_000 + "]" * 50_000,
    "deep object": '{"a":' * 5_000 + "1" + "}" * 5_000,
    "5,000-digit integer": '{"integration_id": ' + "9" * 5_000 + ', "images": [{"repository": "a/b"}]}',
    "truncated": '{"kind": "quay", "url": ',
    "not utf-8": b'{"kind": "\xff\xfe"}',
    "null": "null",
    "array": "[1, 2, 3]",
    "string": '"hello"',
    "wrong types": '{"kind": 1, "url": [], "username": {}, "token": null, "images": "all", "role": 7}',
    "huge string": json.dumps({"url": "https://" + "a" * 200_000 + ".com"}),
    "over the limit": json.dumps({"padding": "x" * 300_000}),
    "ca bundle not PEM": json.dumps({"kind": "quay", "url": "https://quay.example", "username": "a+b",
                                     "token": "t", "ca_bundle": "not a certificate"}),
    "ca bundle broken PEM": json.dumps({"kind": "quay", "url": "https://quay.example", "username": "a+b",
                                        "token": "t", "ca_bundle": CA_NOT_PEM}),
    **{f"url {url}": json.dumps({"kind": "quay", "url": url, "username": "a+b", "token": "t"}) for url in (
        "https://q:99999", "https://[zz]", "https://xn--/", "https://" + "a" * 70 + ".example", "https://[::1]:5000",
        "http://[::1", "https://q/../../v2", "javascript:alert(1)", "https://user:pw@quay.io", "https://exa mple.com")},
    **{f"channel {url}": json.dumps({"channels": [{"type": "webhook", "url": url}]}) for url in (
        "http://[::1", "https://[zz]/x", "https://xn--/hook", "https://q:99999/x", "https://169.254.169.254/x")},
    "import traversal": json.dumps({"integration_id": "x", "images": [{"repository": "web/../../v2/_catalog"}]}),
    "import 501 images": json.dumps({"integration_id": "x", "images": [{"repository": "a/b"}] * 501}),
    "push traversal": json.dumps({"repository": "heldout/web/../../v2/_catalog", "updated_tags": ["1"]}),
    "push weird tags": json.dumps({"repository": "acme/web", "updated_tags": ["../x", "", "a" * 300]}),
    **{f"misread url {url}": json.dumps({"kind": "quay", "url": url, "username": "a+b", "token": "t"})
       for url in MISREAD_HOSTS},
    **{f"misread channel {url}": json.dumps({"channels": [{"type": "webhook", "url": url + "/x"}]})
       for url in MISREAD_HOSTS},
    **{f"misread base registry {url}": json.dumps({"sources": [{"registry": url, "repositories": ["a/b"]}]})
       for url in MISREAD_HOSTS},
    "base repository traversal": json.dumps({"sources": [{"registry": "https://quay.io",
                                                          "repositories": ["../../secret/admin?x=1#"]}]}),
}
CONTENT_TYPES = ["application/json", "multipart/form-data", "application/x-www-form-urlencoded", "text/plain",
                 "APPLICATION/JSON", "application/vnd.api+json", "application/json; charset=UTF-8"]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[EmbeddedServer, str]]:
    data_dir = tmp_path_factory.mktemp("hostile") / "data"
    running = EmbeddedServer(data_dir, port=free_port())
    running.start()
    token = (data_dir / "admin-token").read_text().strip()
    try:
        yield running, token
    finally:
        running.stop()


def routes() -> list[tuple[str, str]]:
    found = []
    for function in Template.load().functions().values():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] == "Api":
                path = re.sub(r"\{\w+\}", "x1", event["Properties"]["Path"])
                found.append((event["Properties"]["Method"].upper(), path))
    return sorted(found)


def assert_plain_error(response: httpx.Response, what: str) -> None:
    assert response.status_code < 500, (what, response.status_code, response.text[:300])
    if response.headers.get("content-type", "").startswith("text/html"):  # a page for people: /unsubscribe
        assert what.split()[1].startswith("/unsubscribe") and "<h1>" in response.text, (what, response.text[:300])
        assert not LEAKS.search(response.text), (what, response.text[:300])
    elif response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"], what
        assert not LEAKS.search(response.text), (what, response.text[:300])


@pytest.mark.parametrize(("method", "path"), routes())
def test_every_route_refuses_hostile_bodies_in_plain_words(server, method, path) -> None:
    running, token = server
    with httpx.Client(base_url=running.url, timeout=30) as client:
        for name, body in BODIES.items():
            for authorization in (f"Bearer {token}", None):
                headers = {"Content-Type": "application/json"}
                if authorization:
                    headers["Authorization"] = authorization
                response = client.request(method, path, content=body, headers=headers)
                assert_plain_error(response, f"{method} {path} {name} {bool(authorization)}")
        for content_type in CONTENT_TYPES[1:]:
            response = client.request(method, path, content=BODIES["null"], headers={
                "Content-Type": content_type, "Authorization": f"Bearer {token}"})
            assert_plain_error(response, f"{method} {path} {content_type}")
        for query in ("?cursor=%ff%fe", "?search=" + "a" * 5000, "?origin=nope", "?repository=../../x"):
            response = client.request(method, path + query, headers={"Authorization": f"Bearer {token}"})
            assert_plain_error(response, f"{method} {path}{query}")


def raw(server: EmbeddedServer, request: bytes) -> str:
    """Send bytes as they are; the status line of the answer (or '' when none came in 10 s)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(request)
        try:
            return connection.recv(4096).decode("latin-1").split("\r\n", 1)[0]
        except TimeoutError:
            return ""


@pytest.mark.parametrize(("request_bytes", "status"), [
    (b"POST /imports HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", "400"),
    (b"POST /imports HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", "400"),
    (b"POST /imports HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n", "413"),
    (b"POST /imports HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "411"),
    (b"TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", "405"),
    (b"FOO /projects HTTP/1.1\r\nHost: x\r\n\r\n", "405"),
    (b"GET /projects\x00 HTTP/1.1\r\nHost: x\r\n\r\n", "40"),
    (b"garbage\r\n\r\n", "400"),
    (b"POST /imports HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}", "400"),
])
def test_malformed_framing_is_answered(server, request_bytes, status) -> None:
    running, _ = server
    assert status in raw(running, request_bytes)


def test_webhook_urls_ignore_the_host_header(server, monkeypatch) -> None:
    running, token = server
    integrations = running.services.integrations
    record = Integration(id="int-host", org_id=running.services.access.authenticate(f"Bearer {token}").org_id,
                         url="https://quay.example", username="a+b", secret_arn="none",
                         created_at="2026-01-01T00:00:00+00:00")
    running.services.integrations_repository.put(record)
    response = httpx.post(f"{running.url}/integrations/int-host/webhook-token", timeout=10,
                          headers={"Authorization": f"Bearer {token}", "Host": "evil.example",
                                   "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "gopher"})
    assert response.status_code == 200, response.text
    assert response.json()["webhook_url"].startswith(f"{running.url}/webhooks/quay/int-host/")
    assert integrations.by_id("int-host").webhook_token_hash


def test_only_the_operator_fires_schedules(server) -> None:
    running, token = server
    org_id = running.services.access.authenticate(f"Bearer {token}").org_id
    other_admin = running.services.access.issue_token(running.services.access.create_organisation("other"), "admin")
    member = running.services.access.issue_token(org_id, "member")
    for forbidden in (other_admin, member):
        reply = httpx.post(f"{running.url}/_embedded/schedules/daily", headers={"Authorization": f"Bearer {forbidden}"})
        assert reply.status_code == 403
    reply = httpx.post(f"{running.url}/_embedded/schedules/daily", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200 and reply.json()["result"]["enqueued"] == 0


def admin(server: tuple[EmbeddedServer, str]) -> httpx.Client:
    running, token = server
    return httpx.Client(base_url=running.url, timeout=30, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("url", MISREAD_HOSTS)
def test_urls_the_client_would_misread_are_refused_at_save(server, url) -> None:
    with admin(server) as client:
        integration = client.post("/integrations", json={"kind": "quay", "url": url, "username": "a+b", "token": "t"})
        channel = client.put("/organisation/channels", json={"channels": [{"type": "webhook", "url": url + "/x"}]})
        base = client.put("/organisation/base-images", json={"sources": [{"registry": url, "repositories": ["a/b"]}]})
    for reply in (integration, channel, base):
        assert reply.status_code == 400, (url, reply.text)
        assert "invalid" in reply.json()["error"]["message"], reply.text


@pytest.mark.parametrize("metadata", ["https://169.254.169.254", "http://[fd00:ec2::254]", "https://[::ffff:169.254.169.254]"])
def test_cloud_metadata_urls_are_refused_at_save_even_where_private_addresses_are_allowed(server, metadata) -> None:
    running, _ = server
    assert running.allow_private_registries
    with admin(server) as client:
        channel = client.put("/organisation/channels", json={"channels": [{"type": "webhook", "url": metadata + "/x"}]})
        base = client.put("/organisation/base-images", json={"sources": [{"registry": metadata, "repositories": ["a/b"]}]})
        saved = client.get("/organisation/channels").json()["channels"]
    for reply in (channel, base):
        assert reply.status_code == 400 and "cloud metadata address" in reply.json()["error"]["message"], reply.text
    assert all("169.254" not in c["url"] and "ec2" not in c["url"] for c in saved)


def test_base_image_repositories_follow_the_import_grammar(server) -> None:
    with admin(server) as client:
        refused = client.put("/organisation/base-images", json={"sources": [
            {"registry": "https://quay.io", "repositories": ["../../secret/admin?x=1#"]}]})
        kept = client.put("/organisation/base-images", json={"sources": [
            {"registry": "https://quay.io", "repositories": ["acme/python", "acme/base-images/ubi9"]}]})
    assert refused.status_code == 422 and "is not a repository name" in refused.text
    assert "pattern" not in refused.text  # the grammar in words, not its regular expression
    assert kept.status_code == 200, kept.text


@pytest.mark.parametrize("content_type", ["APPLICATION/JSON", "application/vnd.api+json",
                                          "Application/Json; charset=utf-8", "application/problem+json"])
def test_json_under_any_spelling_of_its_media_type(server, content_type) -> None:
    with admin(server) as client:
        reply = client.put("/organisation/notification-policy", content=json.dumps({"min_severity": "high"}),
                           headers={"Content-Type": content_type})
    assert reply.status_code == 200 and reply.json()["min_severity"] == "high", reply.text
