"""EventPublisher for one machine: events are kept in the database (the local bus, readable
by tests and tools) and logged; webhook and Slack channels are posted by the notifier."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from quaywatch.adapters.local.database import Database
from quaywatch.observability import logger
from quaywatch.ports import DomainEvent


class SqliteEventPublisher:
    def __init__(self, db: Database) -> None:
        self._db = db

    def publish(self, event: DomainEvent) -> None:
        with self._db.write() as tx:
            tx.execute("INSERT INTO events (detail_type, org_id, summary, detail, published_at) VALUES (?, ?, ?, ?, ?)",
                       (event.detail_type, event.org_id, event.summary, json.dumps(event.detail),
                        datetime.now(UTC).isoformat(timespec="seconds")))
        logger.info("event published", extra={"detail_type": event.detail_type, "summary": event.summary})

    def published(self, limit: int = 100) -> list[DomainEvent]:
        rows = self._db.read("SELECT * FROM events ORDER BY id DESC LIMIT ?", (limit,))
        return [DomainEvent(row["detail_type"], json.loads(row["detail"]), row["summary"], row["org_id"])
                for row in reversed(rows)]
