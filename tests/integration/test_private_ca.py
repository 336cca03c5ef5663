"""A self-hosted Quay behind a private CA, through the deployed stack's functions: the
integration's CA bundle is what the connection test, the import worker and the re-test
worker trust (real registry, moto for AWS, a TLS front with a certificate from a CA made
for the test)."""

from __future__ import annotations

import pytest

from tests.conftest import ROBOT
from tests.integration.test_pipeline_imports import publish_advisories
from tests.support import fixtures
from tests.support.cloud import running_cloud
from tests.support.shared_data import ADVISORIES
from tests.support.tls_front import TlsFront

pytestmark = pytest.mark.registry


@pytest.fixture
def private_quay(stack):
    stack.pusher.push_image("acme/internal", "1.0", [fixtures.alpine_310_base()])
    with TlsFront(stack.host) as front:
        yield front


def test_the_ca_bundle_is_trusted_by_the_connection_test_and_both_workers(private_quay, tmp_path):
    with running_cloud({"RedHatVexUrl": "", "RedHatRepositoryCpeUrl": ""}) as cloud:
        publish_advisories(cloud, tmp_path, ADVISORIES / "alpine-secdb")
        url = f"https://{private_quay.host}"
        untrusted = cloud.api("POST", "/integrations", {"kind": "quay", "url": url, "username": ROBOT.username,
                                                        "token": ROBOT.secret})
        assert untrusted.status in (400, 422) and "certificate" in untrusted.body["error"]["message"].lower()

        created = cloud.api("POST", "/integrations", {"kind": "quay", "url": url, "username": ROBOT.username,
                                                      "token": ROBOT.secret, "ca_bundle": private_quay.ca_pem.decode()})
        assert created.status == 201 and created.body["status"] == "connected"
        assert "ca_bundle" not in created.body  # kept with the secret, never shown
        before_import = private_quay.handshakes
        cloud.api("POST", "/imports", {"integration_id": created.body["id"],
                                       "images": [{"repository": "acme/internal", "tag": "1.0"}]})
        imported = cloud.drain("ImportQueue", "ImportWorkerFunction")
        assert imported.failed == 0 and private_quay.handshakes > before_import  # the worker came over TLS
        (project,) = cloud.api("GET", "/projects").body["repositories"][0]["projects"]
        first = cloud.api("GET", f"/projects/{project['id']}").body
        assert len(first["findings"]) == 7 and first["last_tested_at"]

        assert cloud.api("POST", f"/projects/{project['id']}/test").status == 202
        before_retest = private_quay.handshakes
        retested = cloud.drain("RetestQueue", "RetestWorkerFunction")
        assert retested.delivered == 1 and retested.failed == 0 and private_quay.handshakes > before_retest
        again = cloud.api("GET", f"/projects/{project['id']}").body
        assert len(again["findings"]) == 7 and again["last_tested_at"] >= first["last_tested_at"]
