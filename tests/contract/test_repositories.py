"""Contract: the repositories (access, integrations, projects, imports, findings)."""

from __future__ import annotations

import threading

import pytest
from quaywatch.integrations.records import Integration
from quaywatch.ports import AlreadyExists, StoredTest
from quaywatch.projects.records import ImageOutcome, ImportedImage, ImportJob, Project


def _project(project_id: str, repository: str, tag: str, **extra) -> Project:
    return Project(id=project_id, org_id=extra.pop("org_id", "org-1"),
                   integration_id=extra.pop("integration_id", "int-1"), repository=repository, tag=tag,
                   platform="linux/amd64", **extra)


def _integration(integration_id: str, org_id: str, created_at: str, url: str = "https://q", **extra) -> Integration:
    return Integration(id=integration_id, org_id=org_id, created_at=created_at, url=url, username="acme+robot",
                       secret_arn=f"vault/{integration_id}", **extra)


def test_integrations_create_once_list_by_org_oldest_first(adapters) -> None:
    repository = adapters.integrations_repository
    for number, created in ((2, "2026-01-02"), (1, "2026-01-01")):
        repository.create(_integration(f"i{number}", "org-1", created, repository_count=3))
    repository.create(_integration("other", "org-2", "2026-01-01"))
    with pytest.raises(AlreadyExists):
        repository.create(_integration("i1", "org-1", "2026-02-01", url="https://evil"))
    assert [i.id for i in repository.list_by_org("org-1")] == ["i1", "i2"]
    assert repository.get("i1") == _integration("i1", "org-1", "2026-01-01", repository_count=3)
    repository.put(repository.get("i1").changed(status="error"))
    assert repository.get("i1").status == "error"
    repository.delete("i1")
    assert repository.get("i1") is None and [i.id for i in repository.list_by_org("org-1")] == ["i2"]


def test_projects_listing_due_and_tags_by_repository(adapters) -> None:
    repository = adapters.projects_repository
    repository.put(_project("p1", "acme/web", "2.0", next_test_at="2026-01-02T00:00:00+00:00"))
    repository.put(_project("p2", "acme/web", "1.0", next_test_at="2026-01-05T00:00:00+00:00"))
    repository.put(_project("p3", "acme/api", "1", test_frequency="weekly", next_test_at="2026-01-01T00:00:00+00:00"))
    repository.put(_project("p4", "acme/web-old", "1", integration_id="int-2", test_frequency="never"))
    repository.put(_project("p5", "acme/web", "1.0", org_id="org-2", integration_id="int-9"))
    assert [p.id for p in repository.list_by_org("org-1")] == ["p3", "p2", "p1", "p4"]
    assert [p.id for p in repository.list_by_org("org-1", repository="acme/web")] == ["p2", "p1"]
    assert [p.id for p in repository.list_by_org("org-1", integration_id="int-2")] == ["p4"]
    assert sorted(repository.due("daily", "2026-01-03T00:00:00+00:00")) == ["p1"]
    assert repository.due("weekly", "2026-01-03T00:00:00+00:00") == ["p3"]
    assert sorted(repository.tags_of("int-1", "acme/web")) == [("1.0", "p2"), ("2.0", "p1")]
    repository.mark_viewed("p1")
    assert repository.get("p1").is_new is False
    repository.put(repository.get("p1").changed({"next_test_at": None}))  # no longer due once its schedule is gone
    assert repository.due("daily", "2026-01-03T00:00:00+00:00") == []
    repository.delete("p1")
    assert repository.get("p1") is None


def test_import_progress_counts_each_image_exactly_once(adapters) -> None:
    repository = adapters.imports_repository
    images = [f"acme/web:{n}" for n in range(6)]
    repository.create(ImportJob(import_id="imp", org_id="org-1", integration_id="int-1", total=6, source="api",
                                created_at="2026-01-01T00:00:00+00:00"), images)
    job = repository.get_job("imp")
    assert (job.total, job.succeeded, job.failed, job.org_id) == (6, 0, 0, "org-1")
    assert repository.image_status("imp", "acme/web:0") == "pending"
    results: list[bool] = []

    def complete(image: str, status: str) -> None:
        results.append(repository.complete("imp", image, ImageOutcome(status=status, at="2026-01-01T00:01:00+00:00",
                                                                      project_id="p-" + image[-1])))

    # every image completed three times: a redelivery storm. Concurrently on the local
    # adapter; in turn on moto, whose transactions are not isolated between threads (real
    # DynamoDB's are: TransactWriteItems is serializable).
    threads = [threading.Thread(target=complete, args=(image, "failed" if image.endswith("5") else "succeeded"))
               for image in images for _ in range(3)]
    for thread in threads:
        thread.start()
        if adapters.kind == "aws":
            thread.join()
    for thread in threads:
        thread.join()
    assert results.count(True) == 6 and results.count(False) == 12
    job = repository.get_job("imp")
    assert (job.succeeded, job.failed, job.completed) == (5, 1, True)
    log = repository.images("imp")
    assert [e.image for e in log] == images and log[0].project_id == "p-0"
    assert repository.complete("imp", "acme/web:0", ImageOutcome(status="failed", at="x", error="late")) is False
    assert repository.images("imp")[0].status == "succeeded" and repository.images("imp")[0].error is None
    repository.complete("imp2", "none", ImageOutcome(status="failed", at="x"))  # unknown import: nothing written
    assert repository.get_job("imp2") is None


def test_import_outcome_fields_round_trip(adapters) -> None:
    repository = adapters.imports_repository
    job = ImportJob(import_id="i", org_id="o", integration_id="n", total=1, source="webhook", created_by="u1",
                    created_at="2026-01-01T00:00:00+00:00", images_preview=["a/b:1"])
    repository.create(job, ["a/b:1"])
    assert repository.get_job("i") == job
    assert repository.complete("i", "a/b:1", ImageOutcome(status="succeeded", at="t", project_id="p1",
                                                          project_ids=["p1", "p2"], error="linux/s390x: gone"))
    (entry,) = repository.images("i")
    assert entry == ImportedImage(image="a/b:1", status="succeeded", at="t", project_id="p1", project_ids=["p1", "p2"],
                                  error="linux/s390x: gone")
    assert repository.list_by_org("o", 10) == ([job.model_copy(update={"succeeded": 1})], None)


def _test(packages: list[str], tested_at: str, digest: str = "sha256:1") -> StoredTest:
    return StoredTest(tested_at=tested_at, digest=digest, inventory=b"\x1f\x8binventory", findings=b"findings",
                      keys=["CVE-1|musl|1|lib/apk/db/installed"], packages=packages)


def test_findings_latest_history_and_package_index(adapters) -> None:
    repository = adapters.findings_repository
    assert repository.get_latest("p1") is None
    repository.save_test("p1", _test(["Alpine#v3.10#musl", "PyPI##django"], "2026-01-01T00:00:00+00:00"),
                         {"digest": "sha256:1", "findings": 1, "new": []})
    repository.save_test("p2", _test(["Alpine#v3.10#musl"], "2026-01-01T00:00:00+00:00"),
                         {"digest": "sha256:1", "findings": 1, "new": []})
    latest = repository.get_latest("p1")
    assert latest.inventory == b"\x1f\x8binventory" and latest.keys == ["CVE-1|musl|1|lib/apk/db/installed"]
    assert repository.projects_with(["Alpine#v3.10#musl"]) == {"p1", "p2"}
    assert repository.projects_with(["PyPI##django", "npm##x"]) == {"p1"}
    repository.save_test("p1", _test(["Alpine#v3.10#busybox"], "2026-01-02T00:00:00+00:00", "sha256:2"),
                         {"digest": "sha256:2", "findings": 0, "new": ["k"]})
    assert repository.projects_with(["PyPI##django"]) == set()  # the package left the image
    assert repository.projects_with(["Alpine#v3.10#busybox"]) == {"p1"}
    assert repository.get_latest("p1").digest == "sha256:2"
    history = repository.history("p1")
    assert [h["tested_at"] for h in sorted(history, key=lambda h: h["tested_at"])] == [
        "2026-01-01T00:00:00+00:00", "2026-01-02T00:00:00+00:00"]
    repository.delete_project("p1")
    assert repository.get_latest("p1") is None and repository.history("p1") == []
    assert repository.projects_with(["Alpine#v3.10#busybox", "Alpine#v3.10#musl"]) == {"p2"}


def test_an_empty_test_keeps_its_shape(adapters) -> None:
    repository = adapters.findings_repository
    repository.save_test("p", StoredTest("2026-01-01T00:00:00+00:00", "sha256:0", b"i", b"f", [], []),
                         {"findings": 0, "new": []})
    latest = repository.get_latest("p")
    assert (latest.keys, latest.packages) == ([], [])


def test_notification_claimed_once_until_released(adapters) -> None:
    repository = adapters.findings_repository
    assert repository.claim_notification("p1", "abc") is True
    assert repository.claim_notification("p1", "abc") is False
    assert repository.claim_notification("p2", "abc") is True
    repository.release_notification("p1", "abc")
    assert repository.claim_notification("p1", "abc") is True


def test_push_claims_hold_for_their_window_then_lapse(adapters) -> None:
    repository = adapters.imports_repository
    assert repository.claim_push("int-1", "acme/web:1.0", "imp-a", now=1000.0, hold_seconds=300) == "imp-a"
    assert repository.claim_push("int-1", "acme/web:1.0", "imp-b", now=1100.0, hold_seconds=300) == "imp-a"
    assert repository.claim_push("int-2", "acme/web:1.0", "imp-c", now=1100.0, hold_seconds=300) == "imp-c"
    assert repository.claim_push("int-1", "acme/web:1.0", "imp-d", now=1301.0, hold_seconds=300) == "imp-d"
    repository.release_push("int-1", "acme/web:1.0", "imp-a")  # not the holder any more: nothing changes
    assert repository.claim_push("int-1", "acme/web:1.0", "imp-e", now=1302.0, hold_seconds=300) == "imp-d"
    repository.release_push("int-1", "acme/web:1.0", "imp-d")
    assert repository.claim_push("int-1", "acme/web:1.0", "imp-f", now=1303.0, hold_seconds=300) == "imp-f"


def test_push_counts_per_integration_and_window(adapters) -> None:
    repository = adapters.imports_repository
    assert [repository.count_push("int-1", 600) for _ in range(3)] == [1, 2, 3]
    assert repository.count_push("int-1", 660) == 1 and repository.count_push("int-2", 600) == 1


def test_import_history_newest_first_in_pages(adapters) -> None:
    repository = adapters.imports_repository
    for n in range(5):
        repository.create(ImportJob(import_id=f"imp-{n}", org_id="org-1", integration_id="int-1", total=1,
                                    created_at=f"2026-01-0{n + 1}T00:00:00+00:00", images_preview=[f"a/b:{n}"]),
                          [f"a/b:{n}"])
    repository.create(ImportJob(import_id="other", org_id="org-2", integration_id="int-9", total=1,
                                created_at="2026-01-09T00:00:00+00:00"), ["x/y:1"])
    repository.complete("imp-4", "a/b:4", ImageOutcome(status="succeeded", at="t"))
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        jobs, cursor = repository.list_by_org("org-1", 2, cursor)
        seen += [job.import_id for job in jobs]
        if cursor is None:
            break
    assert seen == ["imp-4", "imp-3", "imp-2", "imp-1", "imp-0"]
    newest, _ = repository.list_by_org("org-1", 1)
    assert (newest[0].succeeded, newest[0].images_preview) == (1, ["a/b:4"])
    with pytest.raises(ValueError):
        repository.list_by_org("org-1", 2, "not-a-cursor")


def test_two_tests_within_one_second_keep_two_history_entries(adapters) -> None:
    """"Test now" and a webhook push can test a project twice in a second; neither entry is lost."""
    from datetime import UTC, datetime, timedelta

    from quaywatch.inventory.models import ImageSummary, Inventory
    from quaywatch.projects.findings_store import FindingsStore

    store = FindingsStore(adapters.findings_repository)
    image = ImageSummary(reference="q/a/b:1", registry="q", repository="a/b", digest="sha256:1", platform="linux/amd64")
    first = datetime(2026, 12, 2, 10, 0, 0, 100_000, tzinfo=UTC)
    for moment in (first, first + timedelta(milliseconds=400)):
        store.save("p1", Inventory(image=image), [], set(), moment)
    assert len(adapters.findings_repository.history("p1")) == 2


def test_a_whole_repository_is_expanded_once(adapters) -> None:
    """An import naming a whole repository counts it in ``expanding`` until a worker adds its
    tags; a redelivered expansion adds nothing and counts nothing twice."""
    repository = adapters.imports_repository
    repository.create(ImportJob(import_id="imp", org_id="org-1", integration_id="int-1", total=1,
                                created_at="2026-01-01T00:00:00+00:00"), ["acme/api:1"], ["acme/web", "acme/db"])
    job = repository.get_job("imp")
    assert (job.total, job.expanding, job.completed) == (1, 2, False)
    assert repository.expand("imp", "acme/web", ["acme/web:1", "acme/web:2", "acme/web:1"]) is True
    assert repository.expand("imp", "acme/web", ["acme/web:1", "acme/web:2"]) is False
    assert repository.expand("imp", "acme/nope", ["acme/nope:1"]) is False  # not a repository of this job
    job = repository.get_job("imp")
    assert (job.total, job.expanding) == (3, 1)
    assert [e.image for e in repository.images("imp")] == ["acme/api:1", "acme/web:1", "acme/web:2"]
    for image in ("acme/api:1", "acme/web:1", "acme/web:2"):
        repository.complete("imp", image, ImageOutcome(status="succeeded", at="t"))
    assert repository.get_job("imp").completed is False  # acme/db is still to be listed
    assert repository.expand("imp", "acme/db", ["acme/db"]) is True  # could not be listed: one entry, failed
    repository.complete("imp", "acme/db", ImageOutcome(status="failed", at="t", error="not found"))
    job = repository.get_job("imp")
    assert (job.total, job.succeeded, job.failed, job.expanding, job.completed) == (4, 3, 1, 0, True)
