"""Saving and managing Quay integrations through the API, end to end: API Gateway events
into the IntegrationsFunction, the real local registry behind a Quay-like token service,
Secrets Manager and DynamoDB on moto (resources from template.yaml)."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import ROBOT
from tests.support import fixtures
from tests.support.cloud import captured_logs, running_cloud

pytestmark = pytest.mark.registry


@pytest.fixture
def cloud():
    with running_cloud() as running:
        yield running


@pytest.fixture
def registry(stack):
    stack.pusher.push_image("acme/web", "1.0", [fixtures.alpine_base()])
    return stack


def payload(registry, **overrides):
    return {"kind": "quay", "url": f"http://{registry.host}", "username": ROBOT.username, "token": ROBOT.secret,
            **overrides}


def test_save_integration_tests_the_connection_and_hides_the_token(cloud, registry):
    with captured_logs() as logs:
        reply = cloud.api("POST", "/integrations", payload(registry))
        listed = cloud.api("GET", "/integrations")
    assert reply.status == 201, reply
    body = reply.body
    assert body["status"] == "connected" and body["username"] == ROBOT.username
    assert body["url"] == f"http://{registry.host}" and body["repository_count"] >= 1
    assert body["webhook_url"].startswith(f"https://api.example.com/v1/webhooks/quay/{body['id']}/")
    assert ROBOT.secret not in str(reply.raw)
    assert any("integration saved" in line for line in logs)
    assert [i["id"] for i in listed.body["integrations"]] == [body["id"]]
    assert "webhook_url" not in listed.body["integrations"][0]  # shown once
    assert ROBOT.secret not in str(listed.raw) and not any(ROBOT.secret in line for line in logs)
    assert [s["Name"] for s in integration_secrets(cloud)] == [f"quaywatch/integrations/{body['id']}"]
    item = cloud.session.resource("dynamodb").Table(cloud.physical.refs["IntegrationsTable"]).get_item(
        Key={"id": body["id"]})["Item"]
    assert item["secret_arn"].startswith("arn:aws:secretsmanager:") and ROBOT.secret not in str(item)


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"token": "wrong-token"}, 400, "credentials"),
        ({"username": "acme+nobody"}, 400, "credentials"),
        ({"url": "http://127.0.0.1:9"}, 400, "unreachable"),
        ({"url": "ftp://quay.example"}, 400, "invalid_url"),
    ],
)
def test_failed_connection_test_stores_nothing(cloud, registry, overrides, status, code):
    reply = cloud.api("POST", "/integrations", payload(registry, **overrides))
    assert (reply.status, reply.body["error"]["code"]) == (status, code), reply
    assert reply.body["error"]["message"]
    assert cloud.api("GET", "/integrations").body["integrations"] == []
    assert integration_secrets(cloud) == []


def test_robot_that_sees_no_repository_is_refused(cloud, registry, monkeypatch):
    from tests.support.tokens import Account

    # The session registry is shared: other tests push to other/* and make repositories public
    # (which every account sees). An account of its own, and no public repositories meanwhile.
    monkeypatch.setattr(registry.tokens, "public_repositories", set())
    monkeypatch.setitem(registry.tokens.accounts, "empty+robot", Account("empty-token-0123456789",
                                                                         {"nothing-here/*": ["pull"]}))
    reply = cloud.api("POST", "/integrations", payload(registry, username="empty+robot", token="empty-token-0123456789"))
    assert (reply.status, reply.body["error"]["code"]) == (422, "no_repositories")


def test_private_addresses_are_refused_unless_the_deployment_allows_them(registry):
    with running_cloud({"AllowPrivateRegistries": "false"}) as cloud:
        reply = cloud.api("POST", "/integrations", payload(registry))
        assert reply.status == 400 and "private" in reply.body["error"]["message"]


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        ("{not json", 400, "malformed_json"),
        ('{"kind": "quay", "url": "https://quay.io", "username": "a+b", "token": "t", "colour": "red"}', 422, "invalid_request"),
        ('{"kind": "quay", "url": "https://quay.io", "username": 5, "token": "t"}', 422, "invalid_request"),
        ('{"kind": "gcr", "url": "https://quay.io", "username": "a+b", "token": "t"}', 422, "invalid_request"),
    ],
)
def test_bad_requests_get_clear_errors(cloud, raw, status, code):
    reply = cloud.api("POST", "/integrations", raw_body=raw)
    assert (reply.status, reply.body["error"]["code"]) == (status, code), reply


def test_integrations_are_admin_only_and_scoped_to_the_organisation(cloud, registry):
    assert cloud.api("POST", "/integrations", payload(registry), token="member").status == 403
    assert cloud.api("GET", "/integrations", token=None).status == 401
    assert cloud.api("GET", "/integrations", token="not-a-token").status == 401
    created = cloud.api("POST", "/integrations", payload(registry)).body
    assert cloud.api("GET", f"/integrations/{created['id']}", token="other").status == 404
    assert cloud.api("GET", "/integrations", token="other").body["integrations"] == []


def test_update_retest_rotate_and_delete(cloud, registry):
    created = cloud.api("POST", "/integrations", payload(registry)).body
    path = f"/integrations/{created['id']}"
    assert cloud.api("PATCH", path, {"auto_import": True}).body["auto_import"] is True
    bad = cloud.api("PATCH", path, {"token": "wrong"})
    assert bad.status == 400 and bad.body["error"]["code"] == "credentials"
    assert cloud.api("POST", f"{path}/test").body["status"] == "connected"  # the old token is still stored
    rotated = cloud.api("POST", f"{path}/webhook-token").body
    assert rotated["webhook_url"] != created["webhook_url"]
    assert cloud.api("DELETE", path).status == 200
    assert cloud.api("GET", path).status == 404
    assert all("DeletedDate" in s for s in integration_secrets(cloud))


def test_openapi_document_lists_the_routes(cloud):
    reply = cloud.api("GET", "/openapi.json", token=None)
    assert reply.status == 200
    assert {"/integrations", "/integrations/{integration_id}/images", "/imports", "/imports/{import_id}/log",
            "/projects", "/projects/{project_id}", "/webhooks/quay/{integration_id}/{token}"} <= set(reply.body["paths"])
    assert "IntegrationCreate" in reply.body["components"]["schemas"]


def test_notification_channels_are_admin_only_and_checked(registry, monkeypatch):
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):  # no DNS on this machine: the hook's name answers a public address
        if host == "hooks.slack.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with running_cloud({"AllowPrivateRegistries": "false"}) as cloud:
        body = {"channels": [{"type": "slack", "url": "https://hooks.slack.example/services/T000/B000/XXXX"}]}
        assert cloud.api("PUT", "/organisation/channels", body, token="member").status == 403
        assert cloud.api("PUT", "/organisation/channels", body).body == body
        assert cloud.api("GET", "/organisation/channels").body == body
        assert cloud.api("GET", "/organisation/channels", token="other").body == {"channels": []}
        for url in ("http://hooks.example.com/x", "https://127.0.0.1/hook", "https://169.254.169.254/latest",
                    "https://does-not-resolve.invalid/hook", "http://[::1"):
            reply = cloud.api("PUT", "/organisation/channels", {"channels": [{"type": "webhook", "url": url}]})
            assert reply.status == 400, (url, reply)
        assert cloud.api("PUT", "/organisation/channels", {"channels": [{"type": "email", "url": "https://x.invalid/"}]}).status == 422


def test_admins_issue_tokens_for_their_team(cloud):
    assert cloud.api("POST", "/tokens", {"role": "member"}, token="member").status == 403
    issued = cloud.api("POST", "/tokens", {"role": "member"})
    assert issued.status == 201 and issued.body["role"] == "member"
    new_member = issued.body["token"]
    assert cloud.api("GET", "/projects", token=new_member).status == 200
    assert cloud.api("GET", "/integrations", token=new_member).status == 403
    assert cloud.api("POST", "/tokens", {"role": "owner"}).status == 422


def integration_secrets(cloud) -> list[dict]:
    """The integrations' secrets (the stack's own, the signing key, is not one of them)."""
    listed = cloud.session.client("secretsmanager").list_secrets()["SecretList"]
    return [s for s in listed if s["Name"].startswith("quaywatch/integrations/")]
