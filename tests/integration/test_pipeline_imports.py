"""Browse -> import -> projects, end to end: the API functions and the import worker driven
by API Gateway and SQS events as Lambda would get them, the real local registry behind a
Quay-like token service, DynamoDB/SQS/S3/Secrets Manager on moto (from template.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest
from quaywatch.adapters.aws.s3 import S3ObjectStore
from quaywatch.advisories.importer import import_feed
from quaywatch.advisories.published import PublishedAdvisoryStore
from quaywatch.advisories.store import SqliteAdvisoryStore

from tests.conftest import ROBOT
from tests.support import fixtures
from tests.support.cloud import running_cloud
from tests.support.records import severity_total
from tests.support.shared_data import ADVISORIES

pytestmark = pytest.mark.registry
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "advisories"
SIGNATURE_TAG = "sha256-" + "ab" * 32 + ".sig"


def publish_advisories(cloud, tmp_path: Path, *feeds: Path) -> None:
    """What the advisory-sync function does: import feeds, publish the store to S3."""
    local = tmp_path / "sync" / "advisories.db"
    with SqliteAdvisoryStore(local) as store:
        for feed in feeds:
            import_feed(store, feed)
    objects = S3ObjectStore(cloud.session.client("s3"), cloud.physical.refs["AdvisoryBucket"])
    PublishedAdvisoryStore(objects, "advisories/advisories.db", tmp_path / "publisher").publish(local)


@pytest.fixture
def cloud(tmp_path):
    with running_cloud({}) as running:
        publish_advisories(running, tmp_path, ADVISORIES / "alpine-secdb", ADVISORIES / "pypa-osv" / "vulns")
        yield running


@pytest.fixture
def images(stack):
    stack.pusher.push_image("acme/web", "1.0", [fixtures.alpine_310_base()])
    stack.pusher.push_image("acme/web", "2.0", [fixtures.alpine_310_base(), {"srv/index.html": "<h1>2.0</h1>"}])
    stack.pusher.push_image("acme/web", SIGNATURE_TAG, [{"signature": "not an image, a cosign signature"}])
    stack.pusher.push_image("acme/py", "1", [fixtures.debian_base(), fixtures.python_layer()])
    return stack


@pytest.fixture
def integration(cloud, images, tmp_path, monkeypatch):
    monkeypatch.setenv("QUAYWATCH_WORK_DIR", str(tmp_path / "work"))
    reply = cloud.api("POST", "/integrations", {"kind": "quay", "url": f"http://{images.host}",
                                               "username": ROBOT.username, "token": ROBOT.secret})
    assert reply.status == 201, reply
    return reply.body["id"]


def test_browse_images_grouped_searchable_without_signature_tags(cloud, integration):
    """Every page of the images (the session's registry holds what other tests pushed too)."""
    repositories: dict[str, list[str]] = {}
    cursor = None
    for _ in range(50):
        reply = cloud.api("GET", f"/integrations/{integration}/images", token="member",
                          query={"cursor": cursor} if cursor else None)
        assert reply.status == 200, reply
        repositories |= {r["name"]: [t["name"] for t in r["tags"]] for r in reply.body["repositories"]}
        cursor = reply.body["next_cursor"]
        if cursor is None:
            break
    assert cursor is None  # the pages end
    assert repositories["acme/web"] == ["1.0", "2.0"]  # the cosign signature tag is hidden
    assert repositories["acme/py"] == ["1"]
    searched = cloud.api("GET", f"/integrations/{integration}/images", token="member", query={"search": "PY"})
    names = [r["name"] for r in searched.body["repositories"]]
    assert "acme/py" in names and all("py" in name for name in names)  # case-insensitive substring
    bad = cloud.api("GET", f"/integrations/{integration}/images", query={"cursor": "garbage!"})
    assert bad.status == 400


def test_import_repository_and_single_tags_then_projects(cloud, integration):
    started = cloud.api("POST", "/imports", token="member", body={"integration_id": integration, "images": [
        {"repository": "acme/web"}, {"repository": "acme/py", "tag": "1"}, {"repository": "acme/gone", "tag": "x"}]})
    assert started.status == 202, started
    import_id = started.body["id"]
    assert cloud.queue_depth("ImportQueue") == 3  # the whole repository is one message: its worker lists the tags
    status = cloud.api("GET", f"/imports/{import_id}").body
    assert (status["status"], status["total"], status["succeeded"], status["failed"]) == ("running", 2, 0, 0)

    drained = cloud.drain("ImportQueue", "ImportWorkerFunction")
    assert drained.delivered == 5 and drained.failed == 0  # 3, then the repository's 2 tags
    history = cloud.api("GET", "/imports", token="member").body
    (entry,) = history["imports"]
    assert (entry["id"], entry["total"], entry["succeeded"], entry["failed"], entry["status"]) == (
        import_id, 4, 3, 1, "completed")
    assert entry["created_by"] and entry["images"] == ["acme/py:1", "acme/gone:x", "acme/web"]
    assert history["next_cursor"] is None
    assert cloud.api("GET", "/imports", token="other").body["imports"] == []
    assert cloud.api("GET", "/imports", query={"cursor": "garbage"}).status == 400
    status = cloud.api("GET", f"/imports/{import_id}").body
    assert (status["status"], status["total"], status["succeeded"], status["failed"]) == ("completed", 4, 3, 1)
    log = {e["image"]: e for e in cloud.api("GET", f"/imports/{import_id}/log").body["entries"]}
    assert set(log) == {"acme/web:1.0", "acme/web:2.0", "acme/py:1", "acme/gone:x"}
    assert log["acme/gone:x"]["status"] == "failed" and "acme/gone" in log["acme/gone:x"]["error"]
    assert all(log[i]["status"] == "succeeded" and log[i]["project_id"] for i in ("acme/web:1.0", "acme/py:1"))

    listed = cloud.api("GET", "/projects", query={"origin": "quay"}).body["repositories"]
    assert [g["name"] for g in listed] == ["acme/py", "acme/web"]
    web = {p["tag"]: p for p in listed[1]["projects"]}
    assert set(web) == {"1.0", "2.0"}
    one = web["1.0"]
    assert one["is_new"] is True and one["origin"] == "quay" and one["platform"] == "linux/amd64"
    assert one["test_frequency"] == "daily" and one["digest"].startswith("sha256:")
    assert set(one["issue_counts"]) == {"critical", "high", "medium", "low", "negligible", "unknown", "fixable"}
    assert severity_total(one) == one["finding_count"] > 0  # unrated findings counted, not lost

    detail = cloud.api("GET", f"/projects/{one['id']}").body
    assert detail["os"].startswith("Alpine") and detail["package_count"] == 4
    ids = {(f["id"], f["package"]) for f in detail["findings"]}
    assert ("CVE-2019-14697", "musl") in ids and ("CVE-2019-1547", "libssl1.1") in ids
    assert cloud.api("GET", f"/projects/{one['id']}").body["is_new"] is False  # NEW until first viewed
    assert cloud.api("GET", f"/projects/{one['id']}", token="other").status == 404
    assert cloud.api("GET", "/projects", token="other").body["repositories"] == []
    filtered = cloud.api("GET", "/projects", query={"repository": "acme/py", "integration_id": integration}).body
    assert [g["name"] for g in filtered["repositories"]] == ["acme/py"]


def test_redelivery_and_reimport_never_duplicate(cloud, integration):
    body = {"integration_id": integration, "images": [{"repository": "acme/web", "tag": "1.0"}]}
    import_id = cloud.api("POST", "/imports", body).body["id"]
    sqs = cloud.session.client("sqs")
    message = sqs.receive_message(QueueUrl=cloud.physical.refs["ImportQueue"])["Messages"][0]
    sqs.change_message_visibility(QueueUrl=cloud.physical.refs["ImportQueue"], ReceiptHandle=message["ReceiptHandle"],
                                  VisibilityTimeout=0)
    sqs.send_message(QueueUrl=cloud.physical.refs["ImportQueue"], MessageBody=message["Body"])  # a duplicate delivery
    cloud.drain("ImportQueue", "ImportWorkerFunction")
    status = cloud.api("GET", f"/imports/{import_id}").body
    assert (status["total"], status["succeeded"], status["failed"]) == (1, 1, 0)
    again = cloud.api("POST", "/imports", body).body["id"]  # importing it again refreshes the project
    cloud.drain("ImportQueue", "ImportWorkerFunction")
    assert cloud.api("GET", f"/imports/{again}").body["succeeded"] == 1
    projects = cloud.api("GET", "/projects").body["repositories"]
    assert [(g["name"], len(g["projects"])) for g in projects] == [("acme/web", 1)]


def test_project_settings_and_deletion(cloud, integration):
    cloud.api("POST", "/imports", {"integration_id": integration, "images": [{"repository": "acme/py", "tag": "1"}]})
    cloud.drain("ImportQueue", "ImportWorkerFunction")
    (project,) = cloud.api("GET", "/projects").body["repositories"][0]["projects"]
    path = f"/projects/{project['id']}"
    assert cloud.api("PATCH", path, {"test_frequency": "weekly"}).body["test_frequency"] == "weekly"
    assert cloud.api("PATCH", path, {"test_frequency": "hourly"}).status == 422
    assert cloud.api("PATCH", path, {"active": False}).body["active"] is False
    assert cloud.api("POST", f"{path}/test").status == 202
    assert cloud.queue_depth("RetestQueue") == 1
    assert cloud.api("DELETE", path).status == 200
    assert cloud.api("GET", path).status == 404


def test_import_requests_are_validated(cloud, integration):
    assert cloud.api("POST", "/imports", {"integration_id": integration, "images": []}).status == 422
    assert cloud.api("POST", "/imports", {"integration_id": integration, "images": [{"repository": "UPPER/case"}]}).status == 422
    assert cloud.api("POST", "/imports", {"integration_id": "nope", "images": [{"repository": "acme/web"}]}).status == 404
    assert cloud.api("POST", "/imports", {"integration_id": integration, "images": [{"repository": "acme/web"}]},
                     token="other").status == 404
    assert cloud.api("GET", "/imports/unknown").status == 404


def test_unavailable_registry_retries_then_logs_the_failure_and_dead_letters(cloud, integration, images, monkeypatch):
    """503s on one image's manifest: retried in the delivery, redelivered by SQS, logged as
    failed on the last delivery, then dead-lettered; the other image of the batch succeeds."""
    monkeypatch.setenv("QUAYWATCH_REGISTRY_RETRY", "fast")
    images.front.inject(r"/v2/acme/py/manifests/", 503, times=10_000)
    import_id = cloud.api("POST", "/imports", {"integration_id": integration, "images": [
        {"repository": "acme/py", "tag": "1"}, {"repository": "acme/web", "tag": "1.0"}]}).body["id"]
    drained = cloud.drain("ImportQueue", "ImportWorkerFunction")
    assert drained.failed == 5 and drained.delivered == 1  # 5 deliveries of the failing image
    status = cloud.api("GET", f"/imports/{import_id}").body
    assert (status["status"], status["succeeded"], status["failed"]) == ("completed", 1, 1)
    log = {e["image"]: e for e in cloud.api("GET", f"/imports/{import_id}/log").body["entries"]}
    assert log["acme/py:1"]["status"] == "failed" and "gave up after 5 attempts" in log["acme/py:1"]["error"]
    assert cloud.queue_depth("ImportQueue") == 0 and cloud.queue_depth("ImportDeadLetterQueue") == 1
    assert [g["name"] for g in cloud.api("GET", "/projects").body["repositories"]] == ["acme/web"]  # nothing half-written


def test_multi_platform_image_becomes_one_project_per_platform(cloud, integration, images):
    amd64 = images.pusher.push_image("acme/multi", None, [fixtures.alpine_310_base()])
    arm64 = images.pusher.push_image("acme/multi", None, [fixtures.alpine_310_base(), {"arch": "arm64"}],
                                     platform=("linux", "arm64"))
    attestation = images.pusher.push_image("acme/multi", None, [{"in-toto.json": "{}"}], platform=("unknown", "unknown"))
    images.pusher.push_index("acme/multi", "2.0", [
        (amd64, {"platform": {"os": "linux", "architecture": "amd64"}}),
        (arm64, {"platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}}),
        (attestation, {"platform": {"os": "unknown", "architecture": "unknown"},
                       "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                                       "vnd.docker.reference.digest": amd64.digest}}),
    ])
    import_id = cloud.api("POST", "/imports", {"integration_id": integration,
                                               "images": [{"repository": "acme/multi", "tag": "2.0"}]}).body["id"]
    cloud.drain("ImportQueue", "ImportWorkerFunction")
    (entry,) = cloud.api("GET", f"/imports/{import_id}/log").body["entries"]
    assert entry["status"] == "succeeded" and len(entry["project_ids"]) == 2
    (group,) = [g for g in cloud.api("GET", "/projects").body["repositories"] if g["name"] == "acme/multi"]
    assert sorted(p["platform"] for p in group["projects"]) == ["linux/amd64", "linux/arm64/v8"]
    assert {p["tag"] for p in group["projects"]} == {"2.0"}


def test_with_an_oauth_token_images_carry_digests_and_push_times(cloud, images):
    images.front.oauth_tokens["oauth-app-token-123"] = ROBOT.username
    created = cloud.api("POST", "/integrations", {"kind": "quay", "url": f"http://{images.host}", "username": ROBOT.username,
                                                 "token": ROBOT.secret, "oauth_token": "oauth-app-token-123"}).body
    reply = cloud.api("GET", f"/integrations/{created['id']}/images", query={"search": "acme/web"})
    assert reply.status == 200, reply
    (web,) = [r for r in reply.body["repositories"] if r["name"] == "acme/web"]
    tags = {t["name"]: t for t in web["tags"]}
    assert set(tags) == {"1.0", "2.0"}  # the signature tag is hidden here too
    assert tags["1.0"]["digest"].startswith("sha256:") and tags["1.0"]["last_modified"].endswith("-0000")
    assert "oauth-app-token-123" not in str(reply.raw) and "oauth-app-token-123" not in str(created)
