"""An organisation ignore answers at once and recounts the organisation's projects through the
re-test queue in batches (issue 18): idempotent (a duplicated or redelivered message changes
nothing), resumable (what was not acknowledged is delivered again), and never another
organisation's projects."""

from __future__ import annotations

from quaywatch.advisories.models import FixStatus
from quaywatch.inventory.models import ImageSummary, Inventory, OperatingSystem, Package
from quaywatch.matching.models import Finding
from quaywatch.projects.retests import RECOUNT_BATCH
from quaywatch.tenancy.access import Principal
from quaywatch.usecases.retests import process_retest_queue_message
from quaywatch.usecases.triage import IgnoreCreate, add_ignore

from tests.support.records import record_test

PROJECTS = 2 * RECOUNT_BATCH + 50


def seed(services, org_id: str, project_id: str) -> None:
    """A project whose latest test found one critical finding, CVE-1."""
    finding = Finding(id="CVE-1", package="musl", package_type="apk", installed_version="1.1", matched_as="musl",
                      matched_version="1.1", ecosystem="Alpine", status=FixStatus.FIXED, fixed_version="1.2",
                      severity="critical", severity_source="alpine", origin="os", path="lib/apk/db/installed")
    inventory = Inventory(image=ImageSummary(reference=f"q/acme/{project_id}:1", registry="q", repository="acme/web",
                                             tag=project_id, digest="sha256:aa", platform="linux/amd64"),
                          os=OperatingSystem(id="alpine", version_id="3.10.2"),
                          packages=[Package(type="apk", name="musl", version="1.1", path="lib/apk/db/installed")])
    record_test(services.projects, services.findings, project_id=project_id, org_id=org_id, image=inventory,
                found=[finding])


def drain(services) -> int:
    """Deliver the re-test queue's messages until it is empty, as the worker does."""
    delivered = 0
    while batch := services.retest_queue.receive(10, visibility_timeout=30):
        for message in batch:
            process_retest_queue_message(services, message.body, message.receive_count)
            services.retest_queue.ack(message)
            delivered += 1
    return delivered


def test_an_organisation_ignore_answers_at_once_and_the_queue_recounts_every_project(services, admin) -> None:
    for number in range(PROJECTS):
        seed(services, admin.org_id, f"p{number:03d}")
    other_org = services.access.create_organisation("other")
    seed(services, other_org, "theirs")
    add_ignore(services, admin, IgnoreCreate(vulnerability_id="CVE-1", reason="not reachable"), None)
    assert services.projects.get("p000").ignored_count == 0  # answered before any recount
    delivered = drain(services)
    assert delivered == 1 + 3  # the fan-out, then batches of RECOUNT_BATCH
    counted = [services.projects.get(f"p{number:03d}") for number in range(PROJECTS)]
    assert all(p.ignored_count == 1 and p.issue_counts["critical"] == 0 for p in counted)
    assert services.projects.get("theirs").ignored_count == 0  # another organisation's rules


def test_a_recount_delivered_twice_changes_nothing(services, admin) -> None:
    seed(services, admin.org_id, "p1")
    add_ignore(services, admin, IgnoreCreate(vulnerability_id="CVE-1", reason="not reachable"), None)
    (fan_out,) = services.retest_queue.receive(10, visibility_timeout=30)
    process_retest_queue_message(services, fan_out.body, 1)  # a worker fans out, then dies before acknowledging
    services.retest_queue.release_in_flight()
    assert drain(services) == 3  # the fan-out again (its batch again) and the first batch: all harmless
    assert services.projects.get("p1").ignored_count == 1


def test_a_member_cannot_reach_another_organisations_projects_through_a_message(services, admin) -> None:
    other = Principal(user_id="u2", org_id=services.access.create_organisation("other"), role="admin")
    seed(services, admin.org_id, "mine")
    add_ignore(services, other, IgnoreCreate(vulnerability_id="CVE-1", reason="theirs"), None)
    drain(services)
    assert services.projects.get("mine").ignored_count == 0
