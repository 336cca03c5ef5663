"""Feed freshness: one run's results merged into the status kept beside the store (on the
local object store, a directory of files)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from quaywatch.adapters.local.objects import FileObjectStore
from quaywatch.advisories.freshness import FeedResult, describe, read_status, record_run
from quaywatch.advisories.importer import import_feed
from quaywatch.advisories.store import SqliteAdvisoryStore

KEY = "advisories/advisories.db"
SECDB = Path(__file__).resolve().parents[1] / "fixtures" / "shared" / "advisories" / "alpine-secdb" / "v3.10"
START = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def test_a_failing_feed_keeps_when_it_last_succeeded_and_turns_stale_after_two_days(tmp_path: Path) -> None:
    objects = FileObjectStore(tmp_path / "objects")
    assert read_status(objects, KEY) is None
    assert describe(None)["stale"] is True and describe(None)["feeds"] == []

    with SqliteAdvisoryStore(tmp_path / "advisories.db") as store:
        import_feed(store, SECDB)
        record_run(objects, KEY, {"osv:Alpine": FeedResult("downloaded"), "rating:known.json": FeedResult("failed", "HTTP 503")},
                   store, now=START)
    later = START + timedelta(hours=6)
    record_run(objects, KEY, {"osv:Alpine": FeedResult("failed", "ConnectError: refused")}, None, now=later)

    status = read_status(objects, KEY)
    alpine, kev = status["feeds"]
    assert (alpine["name"], alpine["last_result"], alpine["error"]) == ("osv:Alpine", "failed", "ConnectError: refused")
    assert (alpine["ok_at"], alpine["changed_at"], alpine["checked_at"]) == (
        START.isoformat(), START.isoformat(), later.isoformat())
    assert kev["last_result"] == "failed" and "ok_at" not in kev  # never succeeded
    assert status["published_at"] == START.isoformat()  # the failed run published nothing
    assert {row["name"] for row in status["contents"]} >= {"Alpine"}

    fresh = describe(status, now=later)
    assert [f["stale"] for f in fresh["feeds"]] == [False, True] and fresh["stale"] is True
    two_days_on = describe(status, now=START + timedelta(days=2, minutes=1))
    assert two_days_on["feeds"][0]["stale"] is True

    record_run(objects, KEY, {"osv:Alpine": FeedResult("unchanged")}, None, now=later + timedelta(hours=6))
    alpine = read_status(objects, KEY)["feeds"][0]
    assert "error" not in alpine and alpine["changed_at"] == START.isoformat()  # a 304 is fresh, not a change
    assert alpine["ok_at"] == (later + timedelta(hours=6)).isoformat()


def test_a_broken_status_document_counts_as_none(tmp_path: Path) -> None:
    objects = FileObjectStore(tmp_path / "objects")
    objects.put_bytes(f"{KEY}.status.json", b"{not json")
    assert read_status(objects, KEY) is None
    assert record_run(objects, KEY, {"x": FeedResult("unchanged")}, None, now=START)["feeds"][0]["ok_at"] == START.isoformat()


def test_a_file_feed_changed_when_its_file_did(tmp_path: Path) -> None:
    objects = FileObjectStore(tmp_path / "objects")
    written = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    status = record_run(objects, KEY, {"file:/feeds/kev": FeedResult("imported", changed_at=written)}, None, now=START)
    assert (status["feeds"][0]["changed_at"], status["feeds"][0]["checked_at"]) == (written.isoformat(), START.isoformat())
    a_month_on = describe(status, now=START + timedelta(days=30))
    assert a_month_on["feeds"][0]["stale"] is False and a_month_on["stale"] is False  # its age shows in changed_at
