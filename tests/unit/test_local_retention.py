"""The local store forgets what the deployed stack's TTLs forget, and nothing younger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from quaywatch.adapters.local.retention import prune_expired
from quaywatch.ports import StoredTest
from quaywatch.projects.records import ImportJob
from quaywatch.registrysync.records import SyncRun
from quaywatch.runtime.embedded.root import LocalServices
from quaywatch.runtime.settings import RuntimeSettings


def test_expired_logs_history_claims_and_dead_letters_go(tmp_path) -> None:
    services = LocalServices(tmp_path / "data", RuntimeSettings(work_dir=tmp_path / "work"))
    now = datetime(2026, 12, 1, tzinfo=UTC)
    for import_id, age in (("old", 91), ("recent", 89)):
        created = (now - timedelta(days=age)).isoformat(timespec="seconds")
        services.imports_repository.create(ImportJob(import_id=import_id, org_id="o", integration_id="i", total=1,
                                                     created_at=created), ["a/b:1"])
    for tested, age in (("t-old", 181), ("t-new", 10)):
        moment = (now - timedelta(days=age)).isoformat(timespec="seconds")
        services.findings_repository.save_test("p", StoredTest(moment, "sha256:1", b"i", b"f", [], []), {"n": tested})
    for run_id, age, status in (("s-old", 91, "completed"), ("s-new", 10, "completed"), ("s-running", 91, "running")):
        started = (now - timedelta(days=age)).isoformat(timespec="seconds")
        services.sync_repository.create_run(SyncRun(id=run_id, integration_id="i", org_id="o", started_at=started,
                                                     status=status))
        services.sync_repository.add_repositories("i", run_id, ["a/b"])
    services.retest_queue.send("poison")
    for _ in range(6):
        services.retest_queue.receive(1, visibility_timeout=0)
    assert services.retest_queue.dead_letters() == ["poison"]

    removed = prune_expired(services.db, now)
    assert removed["imports"] == 1 and removed["history"] == 1 and removed["dead_letters"] == 0
    assert removed["sync_runs"] == 1 and services.sync_repository.get_run("i", "s-old") is None
    assert services.sync_repository.get_run("i", "s-new") and services.sync_repository.get_run("i", "s-running")
    assert services.db.read("SELECT COUNT(*) AS n FROM sync_run_repositories")[0]["n"] == 2
    assert services.imports_repository.get_job("old") is None and services.imports_repository.images("old") == []
    assert services.imports_repository.get_job("recent") is not None
    assert [h["n"] for h in services.findings_repository.history("p")] == ["t-new"]
    assert services.findings_repository.get_latest("p") is not None  # the latest test is never pruned
    assert prune_expired(services.db, datetime.now(UTC) + timedelta(days=15))["dead_letters"] == 1
    services.close()


def test_base_image_scans_older_than_thirty_days_go_at_start(tmp_path) -> None:
    import os

    services = LocalServices(tmp_path / "data", RuntimeSettings(work_dir=tmp_path / "work"))
    services.objects.put_bytes("base-images/sha256:old/inventory.json.gz", b"old")
    services.objects.put_bytes("base-images/sha256:new/diff-ids.json", b"[]")
    services.objects.put_bytes("advisories.db", b"the store is never pruned")
    old = (datetime.now(UTC) - timedelta(days=31)).timestamp()
    for key in ("base-images/sha256:old/inventory.json.gz", "advisories.db"):
        os.utime(tmp_path / "data" / "objects" / key, (old, old))
    assert services.prune_expired()["base_scans"] == 1
    assert services.objects.get_bytes("base-images/sha256:old/inventory.json.gz") is None
    assert services.objects.get_bytes("base-images/sha256:new/diff-ids.json") == b"[]"
    assert services.objects.get_bytes("advisories.db") == b"the store is never pruned"
    services.close()
