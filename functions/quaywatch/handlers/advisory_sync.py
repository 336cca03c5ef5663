"""AdvisorySyncFunction (scheduled): refresh the advisory store and re-test what changed."""

from __future__ import annotations

from typing import Any

from quaywatch.handlers.wiring import services
from quaywatch.metrics import flushed
from quaywatch.observability import logger, traced
from quaywatch.runtime.settings import FeedSettings
from quaywatch.usecases.advisories import sync_advisories


@traced  # X-Ray on Lambda (quaywatch.observability)
@flushed  # CloudWatch metrics (quaywatch.metrics), flushed per invocation
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: Any) -> dict:
    return sync_advisories(services(), FeedSettings.from_environment())
