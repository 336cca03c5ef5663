"""ImagesFunction: ``GET /integrations/{id}/images?search=&cursor=``."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths

from quaywatch.handlers.api import MEMBER, caller, create_app, resolve
from quaywatch.handlers.wiring import services
from quaywatch.metrics import flushed
from quaywatch.observability import logger, traced
from quaywatch.usecases.integrations import browse_images

app = create_app()


@app.get("/integrations/<integration_id>/images", middlewares=MEMBER)
def images(integration_id: str, search: Annotated[str | None, Query(max_length=200)] = None,
           cursor: Annotated[str | None, Query(max_length=500)] = None):
    page = browse_images(services(), caller(app), integration_id, search, cursor)
    return {"repositories": [{"name": r.name, "tags": r.tags} for r in page.repositories],
            "next_cursor": page.next_cursor}


@traced  # X-Ray on Lambda (quaywatch.observability)
@flushed  # CloudWatch metrics (quaywatch.metrics), flushed per invocation
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
def handler(event: dict, context: Any) -> dict:
    return resolve(app, event, context)
