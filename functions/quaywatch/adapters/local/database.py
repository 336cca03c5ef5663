"""One SQLite database for everything ``serve`` keeps, with versioned migrations.

WAL mode lets the API threads read while a worker writes; writers take the lock at once
(``BEGIN IMMEDIATE``) so two writers never deadlock on an upgrade, and wait up to the busy
timeout for each other. ``synchronous=FULL``: a committed transaction survives a killed
process and a power cut (NORMAL survives only the former; the cost of FULL is one fsync of
the WAL per commit, measured in tests/bench/bench_local_store.py).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from quaywatch.adapters.local.migrations import MIGRATIONS
from quaywatch.errors import QuaywatchError

BUSY_TIMEOUT_SECONDS = 30


class DatabaseError(QuaywatchError):
    """The database cannot be opened or is newer than this version of quaywatch."""


class Database:
    def __init__(self, path: Path, synchronous: str = "FULL") -> None:
        self.path = path
        self._synchronous = synchronous
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.schema_version = self._migrate()

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (sqlite3 connections are not shared between threads)."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None,
                                         check_same_thread=False)
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(f"PRAGMA synchronous={self._synchronous}")
            connection.execute("PRAGMA foreign_keys=ON")
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One transaction, committed (and so durable) when the block ends without error."""
        connection = self.connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def read(self, sql: str, parameters: tuple | dict = ()) -> list[sqlite3.Row]:
        return self.connection().execute(sql, parameters).fetchall()

    def read_one(self, sql: str, parameters: tuple | dict = ()) -> sqlite3.Row | None:
        return self.connection().execute(sql, parameters).fetchone()

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                try:
                    connection.close()
                except sqlite3.ProgrammingError:  # closed by its own thread already
                    pass
            self._connections.clear()
        self._local = threading.local()

    def _migrate(self) -> int:
        """Apply the migrations this database has not seen, each in its own transaction."""
        try:
            connection = self.connection()
            connection.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                               "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
            current = connection.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise DatabaseError(f"cannot open the database {self.path}: {exc}") from None
        if current > len(MIGRATIONS):
            raise DatabaseError(f"{self.path} has schema version {current}, newer than this quaywatch "
                                f"knows ({len(MIGRATIONS)}): upgrade quaywatch")
        for version, (name, script) in enumerate(MIGRATIONS, start=1):
            if version <= current:
                continue
            with self.write() as transaction:
                for statement in script.split(";\n"):
                    if statement.strip():
                        transaction.execute(statement)
                transaction.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)",
                                    (version, name, datetime.now(UTC).isoformat(timespec="seconds")))
        return len(MIGRATIONS)

    def checkpoint(self) -> None:
        """Fold the WAL into the main file (before the file is moved or copied alone)."""
        self.connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def counts(self) -> dict[str, int]:
        """What the database holds, for the start-up line of ``serve``."""
        tables = {"integrations": "integrations", "projects": "projects", "imports": "import_jobs",
                  "queued": "queue_messages"}
        return {name: self.read_one(f"SELECT COUNT(*) AS n FROM {table}")["n"] for name, table in tables.items()}
