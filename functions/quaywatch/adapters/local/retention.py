"""What DynamoDB's TTL and SQS's retention do for the deployed stack, done at ``serve``'s
start: import logs and registry-sync runs go after 90 days, test history and notification
claims after 180, dead letters after 14 days (SQS's longest retention)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from quaywatch.adapters.local.database import Database

IMPORT_LOG_DAYS = 90
HISTORY_DAYS = 180
DEAD_LETTER_DAYS = 14
BASE_SCAN_DAYS = 30  # base image scans per digest (template.yaml's lifecycle rule on base-images/)


def prune_expired(db: Database, now: datetime | None = None) -> dict[str, int]:
    now = now or datetime.now(UTC)
    imports_before = (now - timedelta(days=IMPORT_LOG_DAYS)).isoformat(timespec="seconds")
    history_before = (now - timedelta(days=HISTORY_DAYS)).isoformat(timespec="seconds")
    dead_before = (now - timedelta(days=DEAD_LETTER_DAYS)).timestamp()
    with db.write() as tx:
        return {
            "imports": tx.execute("DELETE FROM import_jobs WHERE created_at < ?", (imports_before,)).rowcount,
            "history": tx.execute("DELETE FROM test_history WHERE tested_at < ?", (history_before,)).rowcount,
            "notifications": tx.execute("DELETE FROM notifications WHERE claimed_at < ?", (history_before,)).rowcount,
            "dead_letters": tx.execute("DELETE FROM dead_letters WHERE dead_at < ?", (dead_before,)).rowcount,
            "sync_runs": _prune_sync_runs(tx, imports_before),
        }


def _prune_sync_runs(tx: Any, before: str) -> int:
    """Runs started before ``before`` and their per-repository entries (never a running one)."""
    old = tx.execute("SELECT integration_id, id FROM sync_runs WHERE started_at < ? "
                     "AND json_extract(data, '$.status') != 'running'", (before,)).fetchall()
    for row in old:
        tx.execute("DELETE FROM sync_run_repositories WHERE integration_id = ? AND run_id = ?",
                   (row["integration_id"], row["id"]))
        tx.execute("DELETE FROM sync_runs WHERE integration_id = ? AND id = ?", (row["integration_id"], row["id"]))
    return len(old)
