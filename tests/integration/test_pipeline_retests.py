"""Re-tests, advisory sync, notifications and Quay webhooks, end to end (see
test_pipeline_imports.py for the set-up: real registry, moto from template.yaml)."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest
import yaml

from tests.conftest import ROBOT
from tests.integration.test_pipeline_imports import publish_advisories
from tests.support import fixtures
from tests.support.cloud import running_cloud
from tests.support.feed_server import FeedServer
from tests.support.openvex import SCHEMA as OPENVEX_SCHEMA
from tests.support.records import severity_total
from tests.support.shared_data import ADVISORIES

pytestmark = pytest.mark.registry

# A new advisory, as OSV's Alpine feed would publish it: busybox in Alpine 3.10 (invented
# for the test: the image's busybox 1.30.1-r2 is fixed for every real secdb entry).
NEW_ADVISORY = {
    "id": "ALPINE-CVE-2099-0001", "upstream": ["CVE-2099-0001"], "modified": "2099-01-01T00:00:00Z",
    "summary": "busybox: test advisory published after the import",
    "affected": [{"package": {"ecosystem": "Alpine:v3.10", "name": "busybox"},
                  "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.30.1-r9"}]}]}],
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
}


def osv_zip(*records: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for record in records:
            archive.writestr(f"{record['id']}.json", json.dumps(record))
    return buffer.getvalue()


@pytest.fixture
def feeds():
    server = FeedServer()
    secdb = yaml.load((ADVISORIES / "alpine-secdb" / "v3.10" / "main.yaml").read_text(), Loader=yaml.BaseLoader)
    server.files["/v3.10/main.json"] = json.dumps(secdb).encode()
    community = yaml.load((ADVISORIES / "alpine-secdb" / "v3.10" / "community.yaml").read_text(), Loader=yaml.BaseLoader)
    server.files["/v3.10/community.json"] = json.dumps(community).encode()
    server.files["/Alpine/all.zip"] = osv_zip()
    with server.running():
        yield server


@pytest.fixture
def cloud(tmp_path, feeds, monkeypatch):
    monkeypatch.setenv("QUAYWATCH_WORK_DIR", str(tmp_path / "work"))
    parameters = {"OsvBaseUrl": feeds.url, "OsvEcosystems": "Alpine", "AlpineSecdbUrl": feeds.url,
                  "AlpineReleases": "v3.10", "RedHatVexUrl": "", "RedHatRepositoryCpeUrl": "",
                  "RatingFeedUrls": f"{feeds.url}/nvd/nvdcve-2.0-modified.json.gz,{feeds.url}/kev/known.json"}
    feeds.files["/nvd/nvdcve-2.0-modified.json.gz"] = gzip.compress(json.dumps(
        {"format": "NVD_CVE", "version": "2.0", "vulnerabilities": []}).encode())  # nothing modified yet
    feeds.files["/kev/known.json"] = json.dumps({"catalogVersion": "0", "vulnerabilities": []}).encode()
    with running_cloud(parameters) as running:
        publish_advisories(running, tmp_path, ADVISORIES / "alpine-secdb")
        yield running


@pytest.fixture
def listener(cloud):
    """An SQS queue subscribed to the notification topic, and one receiving the bus's events."""
    sqs = cloud.session.client("sqs")
    topic_queue = sqs.create_queue(QueueName="topic-listener")["QueueUrl"]
    topic_arn = sqs.get_queue_attributes(QueueUrl=topic_queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    cloud.session.client("sns").subscribe(TopicArn=cloud.physical.refs["NotificationTopic"], Protocol="sqs",
                                          Endpoint=topic_arn)
    bus_queue = sqs.create_queue(QueueName="bus-listener")["QueueUrl"]
    bus_arn = sqs.get_queue_attributes(QueueUrl=bus_queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = cloud.session.client("events")
    bus = cloud.physical.refs["NotificationBus"]
    events.put_rule(Name="new-issues", EventBusName=bus, EventPattern=json.dumps({"detail-type": ["quaywatch.NewIssuesFound"]}))
    events.put_targets(Rule="new-issues", EventBusName=bus, Targets=[{"Id": "q", "Arn": bus_arn}])

    def received() -> dict[str, list[dict]]:
        result = {}
        for name, url in (("bus", bus_queue), ("topic", topic_queue)):
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            result[name] = [json.loads(m["Body"]) for m in messages]
            for message in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return result

    return received


@pytest.fixture
def imported(cloud, stack):
    stack.pusher.push_image("acme/web", "1.0", [fixtures.alpine_310_base()])
    created = cloud.api("POST", "/integrations", {"kind": "quay", "url": f"http://{stack.host}",
                                                 "username": ROBOT.username, "token": ROBOT.secret}).body
    cloud.api("POST", "/imports", {"integration_id": created["id"], "images": [{"repository": "acme/web", "tag": "1.0"}]})
    cloud.drain("ImportQueue", "ImportWorkerFunction")
    (project,) = cloud.api("GET", "/projects").body["repositories"][0]["projects"]
    return created, project


def test_new_advisory_retests_the_project_and_notifies_once(cloud, feeds, listener, imported):
    _, project = imported
    baseline = cloud.api("GET", f"/projects/{project['id']}").body["findings"]
    assert len(baseline) == 7 and listener() == {"bus": [], "topic": []}  # an import sets the baseline

    first = cloud.schedule("AdvisorySyncFunction", "Every6Hours")
    assert first["failed"] == {} and set(first["downloaded"]) == {
        "osv:Alpine", "alpine:v3.10/main", "alpine:v3.10/community", "rating:nvdcve-2.0-modified.json.gz", "rating:known.json"}
    # The live secdb JSON carries what the published store already had: no key changed.
    assert first["changed_keys"] == 0 and first["retests"] == 0

    receiver = FeedServer()  # also records POSTs: the organisation's webhook channel
    channel = {"channels": [{"type": "webhook", "url": f"{receiver.url}/hook"}]}
    assert cloud.api("PUT", "/organisation/channels", channel).status == 200
    feeds.files["/Alpine/all.zip"] = osv_zip(NEW_ADVISORY)
    second = cloud.schedule("AdvisorySyncFunction", "Every6Hours")
    assert second["downloaded"] == ["osv:Alpine"]
    assert second["unchanged"] == ["alpine:v3.10/main", "alpine:v3.10/community", "rating:nvdcve-2.0-modified.json.gz",
                                   "rating:known.json"]
    assert second["retests"] == 1
    message = cloud.session.client("sqs").receive_message(QueueUrl=cloud.physical.refs["RetestQueue"])["Messages"][0]
    cloud.session.client("sqs").send_message(QueueUrl=cloud.physical.refs["RetestQueue"], MessageBody=message["Body"])
    cloud.session.client("sqs").change_message_visibility(QueueUrl=cloud.physical.refs["RetestQueue"],
                                                          ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    with receiver.running():
        drained = cloud.drain("RetestQueue", "RetestWorkerFunction")
    assert drained.delivered == 2  # the re-test and a duplicate delivery of it
    assert [(path, body["detail-type"]) for path, body in receiver.posted] == [("/hook", "quaywatch.NewIssuesFound")]

    notified = listener()
    assert len(notified["bus"]) == 1 and len(notified["topic"]) == 1
    event = notified["bus"][0]
    assert event["detail-type"] == "quaywatch.NewIssuesFound" and event["source"] == "quaywatch"
    assert event["detail"]["project_id"] == project["id"] and event["detail"]["count"] == 1
    assert event["detail"]["new_findings"][0] | {"package": "busybox", "id": "CVE-2099-0001"} == event["detail"]["new_findings"][0]
    assert "1 new issue(s) in acme/web:1.0" in notified["topic"][0]["Subject"]
    detail = cloud.api("GET", f"/projects/{project['id']}").body
    assert len(detail["findings"]) == 8 and detail["issue_counts"]["critical"] == 1

    third = cloud.schedule("AdvisorySyncFunction", "Every6Hours")  # everything answers 304 now
    assert third["downloaded"] == [] and third["retests"] == 0

    feeds.files.pop("/Alpine/all.zip")  # OSV fails now: the others are still checked
    cloud.schedule("AdvisorySyncFunction", "Every6Hours")
    status = cloud.api("GET", "/advisories/status").body  # feed freshness, from S3 beside the store
    by_name = {feed["name"]: feed for feed in status["feeds"]}
    assert set(by_name) == set(first["downloaded"]) and status["published_at"]
    alpine = by_name["osv:Alpine"]
    assert alpine["last_result"] == "failed" and "404" in alpine["error"] and alpine["ok_at"] and not alpine["stale"]
    assert by_name["alpine:v3.10/main"]["last_result"] == "unchanged" and "error" not in by_name["alpine:v3.10/main"]
    assert alpine["changed_at"] <= alpine["checked_at"]  # it last changed in the second sync
    contents = {row["name"]: row["records"] for row in status["contents"]}
    assert contents["Alpine"] > 0  # the NVD file of this test is empty: no ratings row
    assert cloud.api("GET", "/advisories/status", token="other").status == 200  # every organisation's feeds are the same


def test_scheduler_enqueues_due_projects_only(cloud, listener, imported):
    _, project = imported
    assert cloud.schedule("RetestSchedulerFunction", "Daily")["enqueued"] == 0  # tested a moment ago
    table = cloud.session.resource("dynamodb").Table(cloud.physical.refs["ProjectsTable"])
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")
    table.update_item(Key={"id": project["id"]}, UpdateExpression="SET next_test_at = :t",
                      ExpressionAttributeValues={":t": past})
    assert cloud.schedule("RetestSchedulerFunction", "Weekly")["enqueued"] == 0
    assert cloud.schedule("RetestSchedulerFunction", "Daily")["enqueued"] == 1
    cloud.drain("RetestQueue", "RetestWorkerFunction")
    after = cloud.api("GET", "/projects").body["repositories"][0]["projects"][0]
    assert after["last_tested_at"] >= project["last_tested_at"]
    assert listener() == {"bus": [], "topic": []}
    cloud.api("PATCH", f"/projects/{project['id']}", {"test_frequency": "never"})
    table.update_item(Key={"id": project["id"]}, UpdateExpression="SET next_test_at = :t",
                      ExpressionAttributeValues={":t": past})
    assert cloud.schedule("RetestSchedulerFunction", "Daily")["enqueued"] == 0


def test_quay_repo_push_reimports_monitored_tags(cloud, stack, imported):
    integration, project = imported
    webhook_path = integration["webhook_url"].split("/v1", 1)[1]
    pushed = stack.pusher.push_image("acme/web", "1.0", [fixtures.alpine_310_base(), {"srv/new.html": "v2"}])
    payload = {"repository": "acme/web", "namespace": "acme", "name": "web",
               "docker_url": f"{stack.host}/acme/web", "homepage": f"http://{stack.host}/repository/acme/web",
               "updated_tags": ["1.0", "9.9"]}
    reply = cloud.api("POST", webhook_path, payload, token=None)
    assert reply.status == 202 and reply.body["imports"] == 1, reply  # 9.9 is not monitored, auto_import is off
    cloud.drain("ImportQueue", "ImportWorkerFunction")
    log = cloud.api("GET", f"/imports/{reply.body['import_id']}/log").body["entries"]
    assert [(e["image"], e["status"]) for e in log] == [("acme/web:1.0", "succeeded")]
    refreshed = cloud.api("GET", f"/projects/{project['id']}").body
    assert refreshed["digest"] == pushed.digest != project["digest"]

    wrong = cloud.api("POST", webhook_path.rsplit("/", 1)[0] + "/not-the-token", payload, token=None)
    unknown = cloud.api("POST", "/webhooks/quay/0000/whatever", payload, token=None)
    assert (wrong.status, unknown.status) == (404, 404) and wrong.body == unknown.body
    other_event = cloud.api("POST", webhook_path, {"repository": "acme/web", "build_id": "x", "trigger_kind": "github"},
                            token=None)
    assert other_event.status == 202 and other_event.body["imports"] == 0

    replays = [cloud.api("POST", webhook_path, payload, token=None) for _ in range(5)]
    assert all(r.status == 202 and r.body["imports"] == 0 and r.body["import_id"] == reply.body["import_id"]
               for r in replays)  # the same push again within the window: the first import answers
    assert cloud.queue_depth("ImportQueue") == 0
    cloud.api("PATCH", f"/integrations/{integration['id']}", {"auto_import": True})
    auto = cloud.api("POST", webhook_path, payload, token=None)
    assert auto.body["imports"] == 1  # 9.9 is new now; 1.0 is still held by the first import
    hostile = cloud.api("POST", webhook_path, {"repository": "heldout/web/../../v2/_catalog",
                                               "updated_tags": ["1"]}, token=None)
    assert hostile.status == 422
    huge = cloud.api("POST", webhook_path, raw_body=json.dumps({**payload, "padding": "x" * (70 << 10)}), token=None)
    assert huge.status == 413


def test_ignores_leave_the_counts_and_the_notifications(cloud, feeds, listener, imported):
    """Ignores through the API (project: members; organisation: admins): the finding stays,
    marked, the counts drop, a new advisory that an ignore covers notifies nobody, an expired
    ignore marks nothing, and deleting an ignore brings the counts back."""
    _, project = imported
    path = f"/projects/{project['id']}"
    before = cloud.api("GET", path).body
    total = severity_total(before)
    musl = next(f for f in before["findings"] if f["id"] == "CVE-2019-14697")
    added = cloud.api("POST", f"{path}/ignores", {"vulnerability_id": "CVE-2019-14697", "package": "musl",
                                                 "reason": "static binaries only", "expires_at": "2999-01-01"},
                      token="member")
    assert added.status == 201 and added.body["created_by"] and added.body["scope"] == "project"
    lapsed = cloud.api("POST", f"{path}/ignores", {"vulnerability_id": "CVE-2019-1547", "reason": "old",
                                                  "expires_at": "2001-01-01"}, token="member")
    assert lapsed.status == 201
    after = cloud.api("GET", path).body
    marked = {f["id"]: f.get("ignored") for f in after["findings"]}
    assert marked["CVE-2019-14697"] == {"reason": "static binaries only", "expires": "2999-01-01"}
    assert marked["CVE-2019-1547"] is None  # expired: it no longer applies
    assert severity_total(after) == total - 1 and after["ignored_count"] == 1
    assert len(after["findings"]) == len(before["findings"]) and musl["package"] == "musl"  # still visible

    assert cloud.api("POST", "/organisation/ignores", {"vulnerability_id": "CVE-2099-0001", "reason": "test"},
                     token="member").status == 403
    org_rule = cloud.api("POST", "/organisation/ignores", {"vulnerability_id": "CVE-2099-0001",
                                                          "reason": "a drill advisory"})
    assert org_rule.status == 201 and org_rule.body["scope"] == "organisation"
    feeds.files["/Alpine/all.zip"] = osv_zip(NEW_ADVISORY)
    assert cloud.schedule("AdvisorySyncFunction", "Every6Hours")["retests"] == 1
    cloud.drain("RetestQueue", "RetestWorkerFunction")
    assert listener() == {"bus": [], "topic": []}  # the only new finding is ignored: nobody is told
    retested = cloud.api("GET", path).body
    assert next(f for f in retested["findings"] if f["id"] == "CVE-2099-0001")["ignored"]["reason"] == "a drill advisory"
    assert retested["issue_counts"]["critical"] == 0 and retested["ignored_count"] == 2

    assert cloud.api("DELETE", f"/organisation/ignores/{org_rule.body['ignore_id']}").status == 200
    assert cloud.api("GET", path).body["ignored_count"] == 2  # answered at once; the recount is queued ...
    recounted = cloud.drain("RetestQueue", "RetestWorkerFunction")  # ... fanned out in batches, then done
    assert cloud.api("GET", path).body["ignored_count"] == 1 and recounted.delivered >= 2
    assert cloud.api("DELETE", f"{path}/ignores/{added.body['ignore_id']}", token="member").status == 200
    restored = cloud.api("GET", path).body
    assert restored["ignored_count"] == 0 and restored["issue_counts"]["critical"] == 1
    assert cloud.api("DELETE", f"{path}/ignores/nope", token="member").status == 404
    assert cloud.api("GET", f"{path}/ignores", token="other").status == 404
    bad = cloud.api("POST", f"{path}/ignores", {"vulnerability_id": "", "reason": "x"}, token="member")
    assert bad.status == 422


def test_nvd_modified_feed_rates_findings_and_retests_their_projects(cloud, feeds, imported):
    """The sync fetches NVD's modified file like any feed (conditional GET); a CVE it rates
    re-tests the projects with that vulnerability, whose severity now comes from NVD. With a
    notification policy of "critical only", the finding that rose to critical is notified
    (once), the one rated medium is not."""
    _, project = imported
    musl = next(f for f in cloud.api("GET", f"/projects/{project['id']}").body["findings"] if f["id"] == "CVE-2019-14697")
    assert musl["severity"] == "unknown"
    assert cloud.api("GET", "/organisation/notification-policy").body == {
        "min_severity": None, "known_exploited_only": False, "fixable_only": False}
    refused = cloud.api("PUT", "/organisation/notification-policy", {"min_severity": "urgent"})
    assert refused.status == 422 and "min_severity" in json.dumps(refused.body)
    policy = cloud.api("PUT", "/organisation/notification-policy", {"min_severity": "critical"})
    assert policy.status == 200 and policy.body["min_severity"] == "critical"
    receiver = FeedServer()
    assert cloud.api("PUT", "/organisation/channels", {"channels": [{"type": "webhook", "url": f"{receiver.url}/hook"}]}).status == 200
    cloud.schedule("AdvisorySyncFunction", "Every6Hours")  # the baseline: nothing rated yet
    nvd = fixtures.FIXTURES / "advisories" / "enrichment" / "nvd" / "nvdcve-2.0-demo.json"
    feeds.files["/nvd/nvdcve-2.0-modified.json.gz"] = gzip.compress(nvd.read_bytes())  # six real NVD records
    synced = cloud.schedule("AdvisorySyncFunction", "Every6Hours")
    assert synced["downloaded"] == ["rating:nvdcve-2.0-modified.json.gz"] and synced["retests"] == 1
    with receiver.running():
        cloud.drain("RetestQueue", "RetestWorkerFunction")
    findings = cloud.api("GET", f"/projects/{project['id']}").body["findings"]
    musl = next(f for f in findings if f["id"] == "CVE-2019-14697")
    assert (musl["severity"], musl["severity_source"], musl["cvss_score"]) == ("critical", "nvd", 9.8)
    assert {f["severity"] for f in findings if f["id"] == "CVE-2019-1547"} == {"medium"}
    ((path, event),) = receiver.posted
    assert path == "/hook" and event["detail"]["count"] == 1
    assert [f["id"] for f in event["detail"]["new_findings"]] == ["CVE-2019-14697"]


def test_an_expired_ignore_gives_its_finding_back_to_the_counts_at_the_next_read(cloud, imported):
    """Counts are stored at each test; an ignore that lapses between tests must not keep its
    finding out of them until the next test. Time passing is simulated by moving the rule's
    expiry (and the day the stored counts were valid until) into the past in the table."""
    _, project = imported
    path = f"/projects/{project['id']}"
    total = cloud.api("GET", path).body["finding_count"]
    added = cloud.api("POST", f"{path}/ignores", {"vulnerability_id": "CVE-2019-14697", "reason": "for now",
                                                 "expires_at": "2999-01-01"}, token="member")
    assert added.status == 201
    counted = cloud.api("GET", "/projects").body["repositories"][0]["projects"][0]
    assert counted["ignored_count"] == 1 and severity_total(counted) == total - 1
    table = cloud.session.resource("dynamodb").Table(cloud.physical.refs["ProjectsTable"])
    record = table.get_item(Key={"id": project["id"]})["Item"]
    assert record["counts_valid_until"] == "2999-01-01"
    record["ignores"][0]["expires"] = "2020-01-01"  # ... and now it is 2020-01-02 or later
    record["counts_valid_until"] = "2020-01-01"
    table.put_item(Item=record)
    listed = cloud.api("GET", "/projects").body["repositories"][0]["projects"][0]
    assert listed["ignored_count"] == 0 and severity_total(listed) == total
    assert "counts_valid_until" not in table.get_item(Key={"id": project["id"]})["Item"]  # recounted once, stored


def test_fix_statuses_and_openvex_through_the_api(cloud, imported):
    """``status=`` filters the findings; ``issue_counts`` says how many are fixable; an OpenVEX
    document posted to the project ignores what it says is not affected (posted again, it
    replaces its own rules), statements about other images are skipped with the reason, and
    the project's VEX comes back out valid against the OpenVEX schema."""
    _, project = imported
    path = f"/projects/{project['id']}"
    detail = cloud.api("GET", path).body
    assert detail["issue_counts"]["fixable"] == detail["fixable_count"] == sum(
        1 for f in detail["findings"] if f["status"] == "fixed" and "ignored" not in f)
    fixed = cloud.api("GET", path, query={"status": "fixed"}).body["findings"]
    assert fixed and {f["status"] for f in fixed} == {"fixed"}
    assert cloud.api("GET", path, query={"status": "affected,will_not_fix"}).body["findings"] == [
        f for f in detail["findings"] if f["status"] in ("affected", "will_not_fix")]
    wrong = cloud.api("GET", path, query={"status": "wontfix"})
    assert wrong.status == 400 and "'wontfix' is no fix status" in wrong.body["error"]["message"]

    document = {
        "@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/musl", "author": "Acme",
        "timestamp": "2026-11-01T10:00:00Z", "version": 1,
        "statements": [
            {"vulnerability": {"name": "CVE-2019-14697"}, "status": "not_affected",
             "justification": "vulnerable_code_not_in_execute_path",
             "products": [{"@id": f"pkg:oci/alpine310@{detail['digest']}",
                           "subcomponents": [{"@id": "pkg:apk/alpine/musl"}]}]},
            {"vulnerability": {"name": "CVE-2019-1547"}, "status": "not_affected",
             "justification": "component_not_present", "products": [{"@id": "pkg:oci/other@sha256:" + "0" * 64}]},
            {"vulnerability": {"name": "CVE-2019-1549"}, "status": "affected", "action_statement": "update",
             "products": [{"@id": "pkg:apk/alpine/libssl1.1"}]},
        ],
    }
    for _ in range(2):
        posted = cloud.api("POST", f"{path}/vex", raw_body=json.dumps(document), token="member")
        assert posted.status == 200 and posted.body["ignores"] == 1
    assert [s["statement"] for s in posted.body["skipped"]] == [1, 2]
    rules = cloud.api("GET", f"{path}/ignores").body["ignores"]
    assert [(r["id"], r["package"], r["vex_document"]) for r in rules] == [
        ("CVE-2019-14697", "musl", "https://example.com/vex/musl")]
    musl = next(f for f in cloud.api("GET", path).body["findings"] if f["id"] == "CVE-2019-14697")
    assert musl["ignored"]["justification"] == "vulnerable_code_not_in_execute_path"

    exported = cloud.api("GET", f"{path}/vex")
    assert exported.status == 200
    jsonschema.validate(exported.body, OPENVEX_SCHEMA)
    stated = {(s["vulnerability"]["name"], s["status"]) for s in exported.body["statements"]}
    assert ("CVE-2019-14697", "not_affected") in stated and ("CVE-2019-1547", "affected") in stated

    broken = cloud.api("POST", f"{path}/vex", raw_body=json.dumps({**document, "statements": [{"status": "x"}]}),
                       token="member")
    assert broken.status == 400 and broken.body["error"]["message"].startswith("the VEX document: statements[0].vulnerability")
    assert cloud.api("POST", "/organisation/vex", raw_body=json.dumps(document), token="member").status == 403
    organisation = cloud.api("POST", "/organisation/vex", raw_body=json.dumps(document))
    assert organisation.status == 200 and organisation.body["ignores"] == 2  # every image: the other's too


def test_three_failed_tests_in_a_row_tell_the_channels_once(cloud, listener, imported, stack):
    """A failed re-test marks the project at once; the third failure in a row is told on the
    organisation's channels and the topic, once; the fourth tells nobody."""
    _, project = imported
    receiver = FeedServer()
    assert cloud.api("PUT", "/organisation/channels",
                     {"channels": [{"type": "webhook", "url": f"{receiver.url}/hook"}]}).status == 200
    listener()  # what the import said
    stack.pusher.delete_manifest("acme/web", "1.0")  # the tag is gone: every re-test fails
    with receiver.running():
        for attempt in range(1, 5):
            assert cloud.api("POST", f"/projects/{project['id']}/test").status == 202
            cloud.drain("RetestQueue", "RetestWorkerFunction")
            detail = cloud.api("GET", f"/projects/{project['id']}").body
            assert detail["last_test"]["status"] == "failed" and detail["failed_tests"] == attempt
            told = [body for path, body in receiver.posted]
            assert len(told) == (0 if attempt < 3 else 1), attempt
    ((path, event),) = receiver.posted
    assert path == "/hook" and event["detail-type"] == "quaywatch.TestsFailing"
    assert event["detail"]["failed_tests"] == 3 and event["detail"]["image"] == "acme/web:1.0"
    (topic,) = [m for m in listener()["topic"] if "tests failed in a row" in m.get("Subject", "")]
    assert topic["Subject"].startswith("acme/web:1.0 (linux/amd64): 3 tests failed in a row")
    assert json.loads(topic["Message"])["failed_tests"] == 3
