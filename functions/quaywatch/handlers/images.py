"""ImagesFunction: an integration's images (from the registry index once a sync has run,
else browsed live) and its registry sync: ``GET /integrations/{id}/images``,
``GET|PUT /integrations/{id}/sync-policy`` (admins), ``POST|GET /integrations/{id}/sync``."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel, ConfigDict

from quaywatch.handlers.api import ADMIN, MEMBER, caller, create_app, json_response, resolve
from quaywatch.handlers.wiring import services
from quaywatch.metrics import flushed
from quaywatch.observability import logger, traced
from quaywatch.registrysync.records import SyncPolicy
from quaywatch.usecases import sync
from quaywatch.usecases.integrations import browse_images

app = create_app()


class SyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dry_run: bool = False


@app.get("/integrations/<integration_id>/images", middlewares=MEMBER)
def images(integration_id: str, search: Annotated[str | None, Query(max_length=200)] = None,
           cursor: Annotated[str | None, Query(max_length=500)] = None):
    page = browse_images(services(), caller(app), integration_id, search, cursor)
    return {"repositories": [{"name": r.name, "tags": r.tags} for r in page.repositories],
            "next_cursor": page.next_cursor, "synced_at": page.synced_at}


@app.get("/integrations/<integration_id>/sync-policy", middlewares=ADMIN)
def get_sync_policy(integration_id: str):
    return sync.get_sync_policy(services(), caller(app), integration_id).model_dump(mode="json", exclude_none=True)


@app.put("/integrations/<integration_id>/sync-policy", middlewares=ADMIN)
def put_sync_policy(integration_id: str, request: Annotated[SyncPolicy, Body()]):
    return sync.put_sync_policy(services(), caller(app), integration_id, request).model_dump(mode="json", exclude_none=True)


@app.post("/integrations/<integration_id>/sync", middlewares=MEMBER)
def start_sync(integration_id: str, request: Annotated[SyncRequest, Body()] = None):  # type: ignore[assignment]
    run = sync.start_sync(services(), caller(app), integration_id, bool(request and request.dry_run))
    return json_response(202, {"id": run.id, "status": run.status, "dry_run": run.dry_run,
                               "started_at": run.started_at})


@app.get("/integrations/<integration_id>/sync", middlewares=MEMBER)
def last_sync(integration_id: str):
    return sync.sync_view(services(), caller(app), integration_id)


@traced  # X-Ray on Lambda (quaywatch.observability)
@flushed  # CloudWatch metrics (quaywatch.metrics), flushed per invocation
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
def handler(event: dict, context: Any) -> dict:
    return resolve(app, event, context)
