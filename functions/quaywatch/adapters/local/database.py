"""One SQLite database for everything ``serve`` keeps, with versioned migrations.

WAL mode lets the API threads read while a worker writes; writers take the lock at once
(``BEGIN IMMEDIATE``) so two writers never deadlock on an upgrade, and wait up to the busy
timeout for each other. ``synchronous=FULL``: a committed transaction survives a killed
process and a power cut (NORMAL survives only the former; the cost of FULL is one fsync of
the WAL per commit, measured in tests/bench/bench_local_store.py).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from quaywatch.adapters.local.migrations import MIGRATIONS
from quaywatch.errors import QuaywatchError

BUSY_TIMEOUT_SECONDS = 30
POOL_SIZE = 16  # the workers (4 per queue by default), the API's concurrent requests, the scheduler


class DatabaseError(QuaywatchError):
    """The database cannot be opened or is newer than this version of quaywatch."""


class DatabaseBusy(DatabaseError):
    """Every pooled connection stayed in use for the whole busy timeout."""


class Database:
    """A bounded pool of connections, each lent to one thread at a time.

    Connections are borrowed for a transaction (``write``) or one statement (``read``) and
    given back at once, so the number open never exceeds ``pool_size``, however many threads
    (the gateway makes one per client connection) come and go. A thread already holding a
    connection (inside ``write``) reads on it, so it sees its own uncommitted writes and never
    waits for a second connection."""

    def __init__(self, path: Path, synchronous: str = "FULL", pool_size: int = POOL_SIZE) -> None:
        self.path = path
        self._synchronous = synchronous
        self._pool_size = pool_size
        self._held = threading.local()
        self._idle: list[sqlite3.Connection] = []
        self._open = 0
        self._closed = False
        self._available = threading.Condition(threading.Lock())
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created 0600 before SQLite opens it: SQLite gives its WAL and shared-memory files the
        # database's mode, and the database holds what only its owner should read.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        self.schema_version = self._migrate()

    @property
    def open_connections(self) -> int:
        """How many connections are open (idle or lent)."""
        return self._open

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """A connection for this thread for the block: the one it holds already, or one
        borrowed from the pool (waiting up to the busy timeout when all are lent)."""
        held = getattr(self._held, "connection", None)
        if held is not None:
            yield held
            return
        connection = self._borrow()
        self._held.connection = connection
        try:
            yield connection
        finally:
            self._held.connection = None
            self._give_back(connection)

    def _borrow(self) -> sqlite3.Connection:
        deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
        with self._available:
            while True:
                if self._closed:
                    raise DatabaseError(f"the database {self.path} is closed")
                if self._idle:
                    return self._idle.pop()
                if self._open < self._pool_size:
                    self._open += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DatabaseBusy(f"all {self._pool_size} database connections stayed busy for "
                                       f"{BUSY_TIMEOUT_SECONDS} s")
                self._available.wait(remaining)
        try:
            return self._open_connection()
        except BaseException:
            with self._available:
                self._open -= 1
                self._available.notify()
            raise

    def _give_back(self, connection: sqlite3.Connection) -> None:
        with self._available:
            if self._closed:
                self._open -= 1
                connection.close()
                return
            if connection.in_transaction:  # never lend a connection in the middle of something
                connection.rollback()
            self._idle.append(connection)
            self._available.notify()

    def _open_connection(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None,
                                     check_same_thread=False)  # lent to one thread at a time
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(f"PRAGMA synchronous={self._synchronous}")
        connection.execute("PRAGMA foreign_keys=ON")
        return connection

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One transaction, committed (and so durable) when the block ends without error."""
        with self.connection() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def read(self, sql: str, parameters: tuple | dict = ()) -> list[sqlite3.Row]:
        with self.connection() as connection:
            return connection.execute(sql, parameters).fetchall()

    def read_one(self, sql: str, parameters: tuple | dict = ()) -> sqlite3.Row | None:
        with self.connection() as connection:
            return connection.execute(sql, parameters).fetchone()

    def close(self) -> None:
        """Close the idle connections now and each lent one when it comes back."""
        with self._available:
            self._closed = True
            for connection in self._idle:
                connection.close()
            self._open -= len(self._idle)
            self._idle.clear()
            self._available.notify_all()

    def _migrate(self) -> int:
        """Apply the migrations this database has not seen, each in its own transaction."""
        try:
            with self.connection() as connection:
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
        with self.connection() as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def counts(self) -> dict[str, int]:
        """What the database holds, for the start-up line of ``serve``."""
        tables = {"integrations": "integrations", "projects": "projects", "imports": "import_jobs",
                  "queued": "queue_messages"}
        return {name: self.read_one(f"SELECT COUNT(*) AS n FROM {table}")["n"] for name, table in tables.items()}
