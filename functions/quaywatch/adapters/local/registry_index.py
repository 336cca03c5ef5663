"""The registry index, sync policies and sync runs on the local SQLite database."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from quaywatch.adapters.cursors import decode_cursor, encode_cursor
from quaywatch.adapters.local.database import Database
from quaywatch.registrysync.records import IndexedRepository, IndexedTag, SyncPolicy, SyncRun

_COUNTERS = ("repositories_done", "throttled")  # columns beside the run's JSON, changed atomically


def _like(text: str) -> str:
    """``text`` as a LIKE substring, its wildcards taken literally (ESCAPE '\\')."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class SqliteRegistryIndex:
    def __init__(self, db: Database) -> None:
        self._db = db

    def put_repository(self, integration_id: str, repository: IndexedRepository, tags: list[IndexedTag]) -> None:
        with self._db.write() as tx:
            tx.execute("INSERT OR REPLACE INTO registry_repositories VALUES (?, ?, ?, ?, ?)",
                       (integration_id, repository.name, repository.name.lower(), repository.tag_count,
                        repository.synced_at))
            tx.execute("DELETE FROM registry_tags WHERE integration_id = ? AND repository = ?",
                       (integration_id, repository.name))
            tx.executemany("INSERT INTO registry_tags VALUES (?, ?, ?, ?, ?)",
                           [(integration_id, repository.name, t.tag, t.digest, t.created) for t in tags])

    def delete_repository(self, integration_id: str, repository: str) -> None:
        with self._db.write() as tx:
            tx.execute("DELETE FROM registry_repositories WHERE integration_id = ? AND name = ?",
                       (integration_id, repository))
            tx.execute("DELETE FROM registry_tags WHERE integration_id = ? AND repository = ?",
                       (integration_id, repository))

    def repositories(self, integration_id: str, search: str | None, limit: int,
                     cursor: str | None = None) -> tuple[list[IndexedRepository], str | None]:
        sql = "SELECT name, tag_count, synced_at FROM registry_repositories WHERE integration_id = ?"
        parameters: list[Any] = [integration_id]
        if search:
            sql += " AND name_lower LIKE ? ESCAPE '\\'"
            parameters.append(_like(search.lower()))
        if cursor:
            (after,) = decode_cursor(cursor, 1)
            sql += " AND name > ?"
            parameters.append(after)
        rows = self._db.read(sql + " ORDER BY name LIMIT ?", (*parameters, limit + 1))
        found = [IndexedRepository(name=r["name"], tag_count=r["tag_count"], synced_at=r["synced_at"])
                 for r in rows[:limit]]
        return found, (encode_cursor(found[-1].name) if len(rows) > limit else None)

    def repository_names(self, integration_id: str) -> list[str]:
        rows = self._db.read("SELECT name FROM registry_repositories WHERE integration_id = ? ORDER BY name",
                             (integration_id,))
        return [row["name"] for row in rows]

    def tags(self, integration_id: str, repository: str) -> list[IndexedTag]:
        rows = self._db.read("SELECT repository, tag, digest, created FROM registry_tags "
                             "WHERE integration_id = ? AND repository = ? ORDER BY tag", (integration_id, repository))
        return [IndexedTag.model_validate(dict(row)) for row in rows]

    def all_tags(self, integration_id: str) -> Iterator[IndexedTag]:
        after = ("", "")
        while True:  # pages by key: no read holds a connection for the whole walk
            rows = self._db.read("SELECT repository, tag, digest, created FROM registry_tags WHERE integration_id = ? "
                                 "AND (repository, tag) > (?, ?) ORDER BY repository, tag LIMIT 5000",
                                 (integration_id, *after))
            yield from (IndexedTag.model_validate(dict(row)) for row in rows)
            if len(rows) < 5000:
                return
            after = (rows[-1]["repository"], rows[-1]["tag"])

    def decline(self, integration_id: str, repository: str, tag: str) -> None:
        with self._db.write() as tx:
            tx.execute("INSERT OR REPLACE INTO registry_declined VALUES (?, ?, ?, ?)",
                       (integration_id, repository, tag, datetime.now(UTC).isoformat(timespec="seconds")))

    def declined(self, integration_id: str) -> set[tuple[str, str]]:
        rows = self._db.read("SELECT repository, tag FROM registry_declined WHERE integration_id = ?", (integration_id,))
        return {(row["repository"], row["tag"]) for row in rows}

    def delete_integration(self, integration_id: str) -> None:
        with self._db.write() as tx:
            for table in ("registry_repositories", "registry_tags", "registry_declined", "sync_policies", "sync_runs",
                          "sync_run_repositories"):
                tx.execute(f"DELETE FROM {table} WHERE integration_id = ?", (integration_id,))

    # --- policies and runs (SyncRepository) -------------------------------------------------

    def get_policy(self, integration_id: str) -> SyncPolicy | None:
        row = self._db.read_one("SELECT data FROM sync_policies WHERE integration_id = ?", (integration_id,))
        return SyncPolicy.model_validate_json(row["data"]) if row else None

    def put_policy(self, integration_id: str, policy: SyncPolicy, next_sync_at: str | None) -> None:
        with self._db.write() as tx:
            tx.execute("INSERT OR REPLACE INTO sync_policies VALUES (?, ?, ?)",
                       (integration_id, next_sync_at, policy.model_dump_json()))

    def due_policies(self, until: str) -> list[str]:
        rows = self._db.read("SELECT integration_id FROM sync_policies WHERE next_sync_at IS NOT NULL "
                             "AND next_sync_at <= ? ORDER BY next_sync_at", (until,))
        return [row["integration_id"] for row in rows]

    def create_run(self, run: SyncRun) -> None:
        with self._db.write() as tx:
            tx.execute("INSERT INTO sync_runs (integration_id, id, started_at, data) VALUES (?, ?, ?, ?)",
                       (run.integration_id, run.id, run.started_at, _run_data(run)))

    def add_repositories(self, integration_id: str, run_id: str, repositories: list[str]) -> None:
        with self._db.write() as tx:
            tx.executemany("INSERT OR IGNORE INTO sync_run_repositories (integration_id, run_id, repository) "
                           "VALUES (?, ?, ?)", [(integration_id, run_id, name) for name in repositories])

    def complete_repository(self, integration_id: str, run_id: str, repository: str, throttled: int = 0) -> int | None:
        with self._db.write() as tx:
            changed = tx.execute("UPDATE sync_run_repositories SET done = 1 WHERE integration_id = ? AND run_id = ? "
                                 "AND repository = ? AND done = 0", (integration_id, run_id, repository)).rowcount
            if not changed:
                return None
            tx.execute("UPDATE sync_runs SET done = done + 1, throttled = throttled + ? WHERE integration_id = ? "
                       "AND id = ?", (throttled, integration_id, run_id))
            return tx.execute("SELECT done FROM sync_runs WHERE integration_id = ? AND id = ?",
                              (integration_id, run_id)).fetchone()["done"]

    def get_run(self, integration_id: str, run_id: str) -> SyncRun | None:
        row = self._db.read_one("SELECT * FROM sync_runs WHERE integration_id = ? AND id = ?", (integration_id, run_id))
        return _run(row) if row else None

    def latest_run(self, integration_id: str) -> SyncRun | None:
        row = self._db.read_one("SELECT * FROM sync_runs WHERE integration_id = ? ORDER BY started_at DESC, id DESC "
                                "LIMIT 1", (integration_id,))
        return _run(row) if row else None

    def latest_completed_run(self, integration_id: str) -> SyncRun | None:
        row = self._db.read_one("SELECT * FROM sync_runs WHERE integration_id = ? AND json_extract(data, '$.status') "
                                "= 'completed' ORDER BY started_at DESC, id DESC LIMIT 1", (integration_id,))
        return _run(row) if row else None

    def update_run(self, integration_id: str, run_id: str, changes: Mapping[str, Any],
                   expect_status: str | None = None) -> bool:
        with self._db.write() as tx:
            row = tx.execute("SELECT * FROM sync_runs WHERE integration_id = ? AND id = ?",
                             (integration_id, run_id)).fetchone()
            if row is None:
                return False
            current = _run(row)
            if expect_status is not None and current.status != expect_status:
                return False
            updated = SyncRun.model_validate({**current.model_dump(), **changes})
            tx.execute("UPDATE sync_runs SET data = ? WHERE integration_id = ? AND id = ?",
                       (_run_data(updated), integration_id, run_id))
            return True


def _run_data(run: SyncRun) -> str:
    return json.dumps(run.model_dump(mode="json", exclude=set(_COUNTERS)), separators=(",", ":"))


def _run(row: Any) -> SyncRun:
    return SyncRun.model_validate({**json.loads(row["data"]), "repositories_done": row["done"],
                                   "throttled": row["throttled"]})
