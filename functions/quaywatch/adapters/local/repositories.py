"""The repositories on the local SQLite database (see migrations.py for the tables)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from quaywatch.adapters.cursors import decode_cursor, encode_cursor
from quaywatch.adapters.local.database import Database
from quaywatch.integrations.records import Integration
from quaywatch.ports import AlreadyExists, ProjectWrite, Record, StoredTest
from quaywatch.projects.records import (
    ImageOutcome,
    ImportedImage,
    ImportJob,
    Project,
    absent_means,
    stored_fields,
)


def _dumps(record: Any) -> str:
    return json.dumps(record, separators=(",", ":"), sort_keys=True)


def _without_none(record: Record) -> Record:
    return {k: v for k, v in record.items() if v is not None}


class SqliteAccessRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def put_organisation(self, org_id: str, record: Record) -> None:
        with self._db.write() as tx:
            tx.execute("INSERT OR REPLACE INTO organisations VALUES (?, ?)", (org_id, _dumps(record)))

    def get_organisation(self, org_id: str) -> Record | None:
        row = self._db.read_one("SELECT data FROM organisations WHERE org_id = ?", (org_id,))
        return json.loads(row["data"]) if row else None

    def set_channels(self, org_id: str, channels: list[Record]) -> None:
        with self._db.write() as tx:
            row = tx.execute("SELECT data FROM organisations WHERE org_id = ?", (org_id,)).fetchone()
            record = json.loads(row["data"]) if row else {}
            record["channels"] = channels
            tx.execute("INSERT OR REPLACE INTO organisations VALUES (?, ?)", (org_id, _dumps(record)))

    def put_token(self, token_hash: str, record: Record) -> None:
        with self._db.write() as tx:
            tx.execute("INSERT OR REPLACE INTO tokens VALUES (?, ?)", (token_hash, _dumps(record)))

    def get_token(self, token_hash: str) -> Record | None:
        row = self._db.read_one("SELECT data FROM tokens WHERE token_hash = ?", (token_hash,))
        return json.loads(row["data"]) if row else None

    def get_member(self, org_id: str, user_id: str) -> Record | None:
        row = self._db.read_one("SELECT data FROM members WHERE org_id = ? AND user_id = ?", (org_id, user_id))
        return json.loads(row["data"]) if row else None

    def update_member(self, org_id: str, user_id: str, changes: Mapping[str, Any]) -> None:
        with self._db.write() as tx:
            row = tx.execute("SELECT data FROM members WHERE org_id = ? AND user_id = ?", (org_id, user_id)).fetchone()
            record = {**(json.loads(row["data"]) if row else {}), **changes, "user_id": user_id}
            tx.execute("INSERT OR REPLACE INTO members VALUES (?, ?, ?)", (org_id, user_id, _dumps(record)))

    def members(self, org_id: str) -> Iterator[Record]:
        after = ""
        while True:
            rows = self._db.read("SELECT user_id, data FROM members WHERE org_id = ? AND user_id > ? "
                                     "ORDER BY user_id LIMIT 500", (org_id, after))
            yield from (json.loads(row["data"]) for row in rows)
            if len(rows) < 500:
                return
            after = rows[-1]["user_id"]

    def organisation_ids(self) -> Iterator[str]:
        yield from (row["org_id"] for row in self._db.read("SELECT org_id FROM organisations ORDER BY org_id"))


class SqliteIntegrationsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, record: Integration) -> None:
        with self._db.write() as tx:
            if tx.execute("SELECT 1 FROM integrations WHERE id = ?", (record.id,)).fetchone():
                raise AlreadyExists(f"integration {record.id} exists")
            self._insert(tx, record)

    def put(self, record: Integration) -> None:
        with self._db.write() as tx:
            self._insert(tx, record)

    @staticmethod
    def _insert(tx: Any, record: Integration) -> None:
        tx.execute("INSERT OR REPLACE INTO integrations VALUES (?, ?, ?, ?)",
                   (record.id, record.org_id, record.created_at, _dumps(record.as_stored())))

    def get(self, integration_id: str) -> Integration | None:
        row = self._db.read_one("SELECT data FROM integrations WHERE id = ?", (integration_id,))
        return Integration.from_stored(json.loads(row["data"])) if row else None

    def list_by_org(self, org_id: str) -> list[Integration]:
        rows = self._db.read("SELECT data FROM integrations WHERE org_id = ? ORDER BY created_at, id", (org_id,))
        return [Integration.from_stored(json.loads(row["data"])) for row in rows]

    def delete(self, integration_id: str) -> None:
        with self._db.write() as tx:
            tx.execute("DELETE FROM integrations WHERE id = ?", (integration_id,))


class SqliteProjectsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, project_id: str) -> Project | None:
        row = self._db.read_one("SELECT data FROM projects WHERE id = ?", (project_id,))
        return Project.from_stored(json.loads(row["data"])) if row else None

    def put(self, record: Project) -> None:
        with self._db.write() as tx:
            _insert_project(tx, record, replace=True)

    def update(self, project_id: str, changes: Mapping[str, Any], expect: Mapping[str, Any] | None = None) -> bool:
        with self._db.write() as tx:  # read and write in one transaction: nobody writes between
            return _update_project(tx, project_id, changes, expect or {})

    def delete(self, project_id: str) -> None:
        with self._db.write() as tx:
            tx.execute("DELETE FROM projects WHERE id = ?", (project_id,))

    def mark_viewed(self, project_id: str) -> None:
        with self._db.write() as tx:
            tx.execute("UPDATE projects SET data = json_set(data, '$.is_new', json('false')) WHERE id = ?",
                       (project_id,))

    def list_by_org(self, org_id: str, repository: str | None = None,
                    integration_id: str | None = None) -> list[Project]:
        sql, parameters = _org_projects(org_id, repository, integration_id)
        rows = self._db.read(sql + " ORDER BY repository, tag, platform", tuple(parameters))
        return [Project.from_stored(json.loads(row["data"])) for row in rows]

    def page_by_org(self, org_id: str, limit: int, cursor: str | None = None, repository: str | None = None,
                    integration_id: str | None = None) -> tuple[list[Project], str | None]:
        sql, parameters = _org_projects(org_id, repository, integration_id)
        if cursor:
            sql += " AND (repository, tag, platform, id) > (?, ?, ?, ?)"
            parameters += decode_cursor(cursor, 4)
        rows = self._db.read(sql + " ORDER BY repository, tag, platform, id LIMIT ?", (*parameters, limit + 1))
        found = [Project.from_stored(json.loads(row["data"])) for row in rows[:limit]]
        if len(rows) <= limit:
            return found, None
        last = found[-1]
        return found, encode_cursor(last.repository, last.tag, last.platform, last.id)

    def project_ids_by_org(self, org_id: str) -> list[str]:
        return [row["id"] for row in self._db.read("SELECT id FROM projects WHERE org_id = ? ORDER BY id", (org_id,))]

    def due(self, frequency: str, until: str) -> list[str]:
        rows = self._db.read("SELECT id FROM projects WHERE test_frequency = ? AND next_test_at IS NOT NULL "
                             "AND next_test_at <= ? ORDER BY next_test_at", (frequency, until))
        return [row["id"] for row in rows]

    def tags_of(self, integration_id: str, repository: str) -> list[tuple[str, str]]:
        rows = self._db.read("SELECT tag, id FROM projects WHERE integration_id = ? AND repository = ? ORDER BY tag, id",
                             (integration_id, repository))
        return [(row["tag"], row["id"]) for row in rows]


def _org_projects(org_id: str, repository: str | None, integration_id: str | None) -> tuple[str, list[Any]]:
    """The query of an organisation's projects, narrowed to a repository or an integration."""
    sql = "SELECT data FROM projects WHERE org_id = ?"
    parameters: list[Any] = [org_id]
    if repository:
        sql += " AND repository = ?"
        parameters.append(repository)
    if integration_id:
        sql += " AND integration_id = ?"
        parameters.append(integration_id)
    return sql, parameters


def _insert_project(tx: Any, record: Project, replace: bool) -> bool:
    """Write the whole record (``replace``: over any stored one; else only while absent)."""
    stored = record.as_stored()
    verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
    return tx.execute(f"{verb} INTO projects VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (
        record.id, record.org_id, record.integration_id, record.repository, record.tag, record.platform,
        record.test_frequency, record.next_test_at, _dumps(stored))).rowcount == 1


def _update_project(tx: Any, project_id: str, changes: Mapping[str, Any], expect: Mapping[str, Any]) -> bool:
    """``ProjectsRepository.update`` inside the caller's transaction."""
    row = tx.execute("SELECT data FROM projects WHERE id = ?", (project_id,)).fetchone()
    if row is None:
        return False
    record = json.loads(row["data"])
    if any(record.get(name) != value and not (name not in record and absent_means(name, value))
           for name, value in stored_fields(expect).items()):
        return False
    record = _without_none({**record, **stored_fields(changes)})
    tx.execute("UPDATE projects SET test_frequency = ?, next_test_at = ?, data = ? WHERE id = ?",
               (record.get("test_frequency"), record.get("next_test_at"), _dumps(record), project_id))
    return True


class SqliteImportsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, job: ImportJob, images: list[str], repositories: list[str] | None = None) -> None:
        with self._db.write() as tx:
            if tx.execute("SELECT 1 FROM import_jobs WHERE import_id = ?", (job.import_id,)).fetchone():
                raise AlreadyExists(f"import {job.import_id} exists")
            tx.execute("INSERT INTO import_jobs (import_id, org_id, total, created_at, data, expanding) "
                       "VALUES (?, ?, ?, ?, ?, ?)", (job.import_id, job.org_id, job.total, job.created_at,
                                                     _dumps(job.as_stored()), len(repositories or [])))
            tx.executemany("INSERT INTO import_images (import_id, image, status, at) VALUES (?, ?, 'pending', ?)",
                           [(job.import_id, image, job.created_at) for image in images])
            tx.executemany("INSERT INTO import_expansions (import_id, repository) VALUES (?, ?)",
                           [(job.import_id, repository) for repository in repositories or []])

    def expand(self, import_id: str, repository: str, images: list[str]) -> bool:
        with self._db.write() as tx:
            if not tx.execute("UPDATE import_expansions SET done = 1 WHERE import_id = ? AND repository = ? "
                              "AND done = 0", (import_id, repository)).rowcount:
                return False
            at = datetime.now(UTC).isoformat(timespec="milliseconds")
            added = sum(tx.execute("INSERT OR IGNORE INTO import_images (import_id, image, status, at) "
                                   "VALUES (?, ?, 'pending', ?)", (import_id, image, at)).rowcount for image in images)
            tx.execute("UPDATE import_jobs SET total = total + ?, expanding = expanding - 1 WHERE import_id = ?",
                       (added, import_id))
            return True

    def complete(self, import_id: str, image: str, outcome: ImageOutcome) -> bool:
        counter = "succeeded" if outcome.status == "succeeded" else "failed"
        extra = outcome.model_dump(mode="json", exclude_none=True, exclude_defaults=True, exclude={"status", "at"})
        with self._db.write() as tx:
            changed = tx.execute(
                "UPDATE import_images SET status = ?, at = ?, outcome = ? "
                "WHERE import_id = ? AND image = ? AND status = 'pending'",
                (outcome.status, outcome.at, _dumps(extra), import_id, image)).rowcount
            if changed:
                tx.execute(f"UPDATE import_jobs SET {counter} = {counter} + 1 WHERE import_id = ?", (import_id,))
        return bool(changed)

    def image_status(self, import_id: str, image: str) -> str | None:
        row = self._db.read_one("SELECT status FROM import_images WHERE import_id = ? AND image = ?",
                                (import_id, image))
        return row["status"] if row else None

    def get_job(self, import_id: str) -> ImportJob | None:
        row = self._db.read_one("SELECT * FROM import_jobs WHERE import_id = ?", (import_id,))
        return _job(row) if row else None

    def images(self, import_id: str) -> list[ImportedImage]:
        rows = self._db.read("SELECT image, status, at, outcome FROM import_images WHERE import_id = ? "
                             "ORDER BY image", (import_id,))
        return [ImportedImage.model_validate({**json.loads(row["outcome"]), "image": row["image"],
                                              "status": row["status"], "at": row["at"]}) for row in rows]


    def list_by_org(self, org_id: str, limit: int, cursor: str | None = None) -> tuple[list[ImportJob], str | None]:
        sql = "SELECT * FROM import_jobs WHERE org_id = ?"
        parameters: list[Any] = [org_id]
        if cursor:
            created_at, import_id = decode_cursor(cursor, 2)
            sql += " AND (created_at < ? OR (created_at = ? AND import_id < ?))"
            parameters += [created_at, created_at, import_id]
        rows = self._db.read(sql + " ORDER BY created_at DESC, import_id DESC LIMIT ?", (*parameters, limit + 1))
        jobs = [_job(row) for row in rows[:limit]]
        more = len(rows) > limit
        return jobs, (encode_cursor(jobs[-1].created_at, jobs[-1].import_id) if more else None)

    def claim_push(self, integration_id: str, image: str, import_id: str, now: float, hold_seconds: int) -> str:
        with self._db.write() as tx:
            tx.execute("INSERT INTO push_claims VALUES (?, ?, ?, ?) ON CONFLICT (integration_id, image) DO UPDATE "
                       "SET import_id = excluded.import_id, expires_at = excluded.expires_at "
                       "WHERE push_claims.expires_at <= ?",
                       (integration_id, image, import_id, now + hold_seconds, now))
            row = tx.execute("SELECT import_id FROM push_claims WHERE integration_id = ? AND image = ?",
                             (integration_id, image)).fetchone()
        return row["import_id"]

    def release_push(self, integration_id: str, image: str, import_id: str) -> None:
        with self._db.write() as tx:
            tx.execute("DELETE FROM push_claims WHERE integration_id = ? AND image = ? AND import_id = ?",
                       (integration_id, image, import_id))

    def count_push(self, integration_id: str, window_start: int) -> int:
        with self._db.write() as tx:
            tx.execute("INSERT INTO push_counts VALUES (?, ?, 1) ON CONFLICT (integration_id, window_start) "
                       "DO UPDATE SET hits = hits + 1", (integration_id, window_start))
            return tx.execute("SELECT hits FROM push_counts WHERE integration_id = ? AND window_start = ?",
                              (integration_id, window_start)).fetchone()["hits"]


def _job(row: Any) -> ImportJob:
    return ImportJob.model_validate({**json.loads(row["data"]), "total": row["total"], "succeeded": row["succeeded"],
                                     "failed": row["failed"], "expanding": row["expanding"]})


def _write_project(tx: Any, write: ProjectWrite) -> bool:
    if write.create is not None:
        return _insert_project(tx, write.create, replace=False)
    return _update_project(tx, write.project_id, write.changes, write.expect)


class SqliteFindingsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get_latest(self, project_id: str) -> StoredTest | None:
        row = self._db.read_one("SELECT * FROM latest_tests WHERE project_id = ?", (project_id,))
        if row is None:
            return None
        return StoredTest(tested_at=row["tested_at"], digest=row["digest"], inventory=bytes(row["inventory"]),
                          findings=bytes(row["findings"]), keys=json.loads(row["keys"]),
                          packages=json.loads(row["packages"]))

    def save_test(self, project_id: str, test: StoredTest, history: Record,
                  project: ProjectWrite | None = None) -> bool:
        with self._db.write() as tx:  # the project, the latest test, its history and the index: all or nothing
            if project is not None and not _write_project(tx, project):
                return False
            row = tx.execute("SELECT packages FROM latest_tests WHERE project_id = ?", (project_id,)).fetchone()
            old = set(json.loads(row["packages"])) if row else set()
            tx.execute("INSERT OR REPLACE INTO latest_tests VALUES (?, ?, ?, ?, ?, ?, ?)", (
                project_id, test.tested_at, test.digest, test.inventory, test.findings, _dumps(test.keys),
                _dumps(test.packages)))
            tx.execute("INSERT OR REPLACE INTO test_history VALUES (?, ?, ?)",
                       (project_id, test.tested_at, _dumps(history)))
            tx.executemany("INSERT OR IGNORE INTO package_index VALUES (?, ?)",
                           [(package, project_id) for package in sorted(set(test.packages) - old)])
            tx.executemany("DELETE FROM package_index WHERE package = ? AND project_id = ?",
                           [(package, project_id) for package in sorted(old - set(test.packages))])
        return True

    def history(self, project_id: str) -> list[Record]:
        rows = self._db.read("SELECT tested_at, data FROM test_history WHERE project_id = ? ORDER BY tested_at",
                             (project_id,))
        return [{"tested_at": row["tested_at"], **json.loads(row["data"])} for row in rows]

    def claim_notification(self, project_id: str, fingerprint: str) -> bool:
        with self._db.write() as tx:
            return tx.execute("INSERT OR IGNORE INTO notifications VALUES (?, ?, ?)",
                              (project_id, fingerprint, datetime.now(UTC).isoformat())).rowcount == 1

    def release_notification(self, project_id: str, fingerprint: str) -> None:
        with self._db.write() as tx:
            tx.execute("DELETE FROM notifications WHERE project_id = ? AND fingerprint = ?", (project_id, fingerprint))

    def projects_with(self, packages: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(packages), 500):
            chunk = packages[start : start + 500]
            rows = self._db.read(f"SELECT DISTINCT project_id FROM package_index WHERE package IN "
                                 f"({','.join('?' * len(chunk))})", tuple(chunk))
            found.update(row["project_id"] for row in rows)
        return found

    def delete_project(self, project_id: str) -> None:
        with self._db.write() as tx:
            for table in ("latest_tests", "test_history", "notifications", "package_index"):
                tx.execute(f"DELETE FROM {table} WHERE project_id = ?", (project_id,))
