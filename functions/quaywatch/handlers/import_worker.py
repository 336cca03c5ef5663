"""ImportWorkerFunction: one image per SQS message, partial batch failures (see
``usecases/imports.py`` for what is retried and what fails at once)."""

from __future__ import annotations

from quaywatch.handlers.queue_worker import queue_worker
from quaywatch.image.allocator import tune_for_layer_streaming
from quaywatch.usecases.imports import process_import_message

tune_for_layer_streaming()  # once per cold start: this function streams layers
handler = queue_worker(process_import_message)
