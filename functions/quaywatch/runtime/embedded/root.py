"""The composition root of ``serve``: the local adapters on one database in the data directory."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from quaywatch.adapters.local.database import Database
from quaywatch.adapters.local.events import SqliteEventPublisher
from quaywatch.adapters.local.legacy_snapshot import (
    has_legacy_snapshot,
    import_legacy_snapshot,
    retire_snapshot,
)
from quaywatch.adapters.local.objects import FileObjectStore
from quaywatch.adapters.local.queue import SqliteWorkQueue
from quaywatch.adapters.local.registry_index import SqliteRegistryIndex
from quaywatch.adapters.local.repositories import (
    SqliteAccessRepository,
    SqliteFindingsRepository,
    SqliteImportsRepository,
    SqliteIntegrationsRepository,
    SqliteProjectsRepository,
)
from quaywatch.adapters.local.retention import BASE_SCAN_DAYS, IMPORT_LOG_DAYS, prune_expired
from quaywatch.adapters.local.vault import FernetVault, load_or_create_key
from quaywatch.observability import logger
from quaywatch.ports import Mailer
from quaywatch.runtime.services import Services
from quaywatch.runtime.settings import RuntimeSettings

DATABASE_FILE = "quaywatch.db"
KEY_FILE = "state.key"


class LocalServices(Services):
    """``queues`` maps the template's queue names to their maxReceiveCount."""

    def __init__(self, data_dir: Path, settings: RuntimeSettings, queues: dict[str, int] | None = None,
                 database_file: str = DATABASE_FILE, mailer: Mailer | None = None) -> None:
        queues = queues or {"ImportQueue": 5, "RetestQueue": 5, "SyncQueue": 5, "MailQueue": 5}
        self.settings = settings
        self.db = Database(data_dir / database_file)
        self.access_repository = SqliteAccessRepository(self.db)
        self.integrations_repository = SqliteIntegrationsRepository(self.db)
        self.projects_repository = SqliteProjectsRepository(self.db)
        self.imports_repository = SqliteImportsRepository(self.db)
        self.findings_repository = SqliteFindingsRepository(self.db)
        self.registry_index = SqliteRegistryIndex(self.db)
        self.sync_repository = self.registry_index  # one database holds the index, the policies and the runs
        self._key = load_or_create_key(data_dir / KEY_FILE)
        self.secrets_vault = FernetVault(self.db, self._key)
        self.mailer = mailer
        self.queues = {name: SqliteWorkQueue(self.db, name, max_receives) for name, max_receives in queues.items()}
        self.import_queue = self.queues["ImportQueue"]
        self.retest_queue = self.queues["RetestQueue"]
        self.sync_queue = self.queues["SyncQueue"]
        self.mail_queue = self.queues["MailQueue"]
        self.events = SqliteEventPublisher(self.db)
        self.objects = FileObjectStore(data_dir / "objects")

    @property
    def signing_key(self) -> bytes:
        """The data directory's key file (each use derives its own key from it)."""
        return self._key

    def prune_expired(self) -> dict[str, int]:
        """Drop what has outlived its retention (as DynamoDB TTL and SQS do when deployed)."""
        removed = prune_expired(self.db)
        cutoff = (datetime.now(UTC) - timedelta(days=BASE_SCAN_DAYS)).timestamp()
        removed["base_scans"] = self.objects.prune("base-images/", cutoff)  # scanned again when next needed
        plans_cutoff = (datetime.now(UTC) - timedelta(days=IMPORT_LOG_DAYS)).timestamp()
        removed["sync_plans"] = self.objects.prune("sync-plans/", plans_cutoff)  # as long as their runs
        logger.info("expired records removed", extra=removed)
        return removed

    def close(self) -> None:
        self.db.close()


def upgrade_legacy_data_dir(data_dir: Path, settings: RuntimeSettings, queues: dict[str, int]) -> dict[str, int]:
    """A data directory of the moto-based serve: its snapshot becomes the database, built
    under another name and renamed into place only when complete (an interrupted upgrade is
    done again at the next start)."""
    if not has_legacy_snapshot(data_dir) or (data_dir / DATABASE_FILE).exists():
        return {}
    partial = data_dir / f"{DATABASE_FILE}.upgrading"
    for leftover in data_dir.glob(f"{partial.name}*"):
        leftover.unlink()
    upgrading = LocalServices(data_dir, settings, queues, database_file=partial.name)
    try:
        counts = import_legacy_snapshot(data_dir, upgrading)
        upgrading.db.checkpoint()
    finally:
        upgrading.close()
    os.replace(partial, data_dir / DATABASE_FILE)
    kept = retire_snapshot(data_dir)
    logger.info("old snapshot imported", extra={"counts": counts, "kept_in": str(kept)})
    return {"upgraded_items": counts["items"]}
