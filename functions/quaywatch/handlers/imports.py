"""ImportsFunction: ``POST /imports`` (one message per image), ``GET /imports/{id}`` and its log."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths

from quaywatch.handlers.api import MEMBER, caller, create_app, json_response, resolve
from quaywatch.handlers.wiring import services
from quaywatch.metrics import flushed
from quaywatch.observability import logger, traced
from quaywatch.projects.models import ImportRequest
from quaywatch.usecases import imports as use

app = create_app()


@app.post("/imports", middlewares=MEMBER)
def post_import(request: Annotated[ImportRequest, Body()]):
    return json_response(202, {"id": use.start_import(services(), caller(app), request)})


@app.get("/imports", middlewares=MEMBER)
def import_history(limit: Annotated[int, Query(ge=1, le=100)] = 20,
                   cursor: Annotated[str | None, Query(max_length=500)] = None):
    entries, next_cursor = use.import_history(services(), caller(app), limit, cursor)
    return {"imports": entries, "next_cursor": next_cursor}


@app.get("/imports/<import_id>", middlewares=MEMBER)
def import_status(import_id: str):
    return use.import_status(services(), caller(app), import_id)


@app.get("/imports/<import_id>/log", middlewares=MEMBER)
def import_log(import_id: str):
    return {"entries": use.import_log(services(), caller(app), import_id)}


@traced  # X-Ray on Lambda (quaywatch.observability)
@flushed  # CloudWatch metrics (quaywatch.metrics), flushed per invocation
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
def handler(event: dict, context: Any) -> dict:
    return resolve(app, event, context)
