"""RetestWorkerFunction: one project per SQS message, partial batch failures (see
``usecases/retests.py``)."""

from __future__ import annotations

from quaywatch.handlers.queue_worker import queue_worker
from quaywatch.image.allocator import tune_for_layer_streaming
from quaywatch.usecases.retests import process_retest_queue_message

tune_for_layer_streaming()  # once per cold start: this function streams layers
handler = queue_worker(process_retest_queue_message)
