"""A work queue as a table, with SQS's semantics (see ``ports.WorkQueue``).

Receiving is one transaction: messages already delivered ``max_receives`` times move to
``dead_letters``, then the oldest visible ones get ``visible_at`` pushed past the visibility
timeout and their receive count raised (``UPDATE ... RETURNING``). Acknowledging deletes
the row with that receipt. A process killed with messages in flight leaves them invisible
only until their timeout, or until ``release_in_flight`` at the next start (``serve`` is the
database's only consumer, so whatever was in flight at start-up belonged to a dead process).
"""

from __future__ import annotations

import threading
import time

from quaywatch import metrics
from quaywatch.adapters.local.database import Database
from quaywatch.ports import QueueMessage


class SqliteWorkQueue:
    def __init__(self, db: Database, name: str, max_receives: int) -> None:
        self._db = db
        self.name = name
        self.max_receives = max_receives
        self._arrived = threading.Condition()

    def send(self, body: str) -> None:
        self.send_many([body])

    def send_many(self, bodies: list[str]) -> None:
        now = time.time()
        with self._db.write() as tx:
            tx.executemany("INSERT INTO queue_messages (queue, body, visible_at, created_at) VALUES (?, ?, ?, ?)",
                           [(self.name, body, now, now) for body in bodies])
        with self._arrived:
            self._arrived.notify_all()

    def receive(self, max_messages: int, visibility_timeout: int, wait_seconds: float = 0) -> list[QueueMessage]:
        deadline = time.monotonic() + wait_seconds
        while True:
            messages = self._receive_now(max_messages, visibility_timeout)
            remaining = deadline - time.monotonic()
            if messages or remaining <= 0:
                return messages
            with self._arrived:
                self._arrived.wait(min(remaining, 0.5))  # woken by a send; the timeout catches retries

    def _receive_now(self, max_messages: int, visibility_timeout: int) -> list[QueueMessage]:
        now = time.time()
        with self._db.write() as tx:
            tx.execute("INSERT INTO dead_letters (id, queue, body, receive_count, created_at, dead_at) "
                       "SELECT id, queue, body, receive_count, created_at, ? FROM queue_messages "
                       "WHERE queue = ? AND visible_at <= ? AND receive_count >= ?",
                       (now, self.name, now, self.max_receives))
            dead = tx.execute("DELETE FROM queue_messages WHERE queue = ? AND visible_at <= ? AND receive_count >= ?",
                              (self.name, now, self.max_receives)).rowcount
            metrics.count("quaywatch_dead_letters_total", dead, queue=self.name)
            rows = tx.execute(
                "UPDATE queue_messages SET visible_at = ?, receive_count = receive_count + 1 "
                "WHERE id IN (SELECT id FROM queue_messages WHERE queue = ? AND visible_at <= ? ORDER BY id LIMIT ?) "
                "RETURNING id, body, receive_count, created_at",
                (now + visibility_timeout, self.name, now, max_messages)).fetchall()
        return sorted((QueueMessage(id=str(row["id"]), body=row["body"], receive_count=row["receive_count"],
                                    receipt=f"{row['id']}:{row['receive_count']}", sent_at=row["created_at"])
                       for row in rows), key=lambda m: int(m.id))

    def ack(self, message: QueueMessage) -> None:
        identifier, count = message.receipt.split(":")
        with self._db.write() as tx:
            tx.execute("DELETE FROM queue_messages WHERE id = ? AND queue = ? AND receive_count = ?",
                       (int(identifier), self.name, int(count)))

    def retry_later(self, message: QueueMessage, delay_seconds: int) -> None:
        identifier, count = message.receipt.split(":")
        with self._db.write() as tx:
            tx.execute("UPDATE queue_messages SET visible_at = ? WHERE id = ? AND queue = ? AND receive_count = ?",
                       (time.time() + delay_seconds, int(identifier), self.name, int(count)))

    def depth(self) -> int:
        return self._db.read_one("SELECT COUNT(*) AS n FROM queue_messages WHERE queue = ?", (self.name,))["n"]

    def dead_letters(self) -> list[str]:
        rows = self._db.read("SELECT body FROM dead_letters WHERE queue = ? ORDER BY id", (self.name,))
        return [row["body"] for row in rows]

    def release_in_flight(self) -> int:
        """Make every invisible message visible now (start-up after a crash); returns how many."""
        now = time.time()
        with self._db.write() as tx:
            return tx.execute("UPDATE queue_messages SET visible_at = ? WHERE queue = ? AND visible_at > ?",
                              (now, self.name, now)).rowcount
