"""SyncWorkerFunction: one registry-sync step per SQS message (``usecases/sync.py``: list the
catalog and fan out, refresh a repository, plan); partial batch failures."""

from __future__ import annotations

from quaywatch.handlers.queue_worker import queue_worker
from quaywatch.usecases.sync import process_sync_message

handler = queue_worker(process_sync_message)
