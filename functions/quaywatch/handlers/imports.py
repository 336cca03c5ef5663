"""ImportsFunction: ``POST /imports`` (one message per image), ``GET /imports/{id}`` and its log."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths

from quaywatch.errors import UsageError
from quaywatch.handlers import wiring
from quaywatch.handlers.api import create_app, json_response, principal
from quaywatch.integrations.catalog import visible_tags
from quaywatch.observability import logger
from quaywatch.projects.models import ImportRequest

app = create_app()
MAX_IMAGES = 2000


@app.post("/imports")
def start_import(request: Annotated[ImportRequest, Body()]):
    caller = principal(app)
    service = wiring.integrations()
    integration = service.record(caller, request.integration_id)
    images: list[tuple[str, str]] = []
    whole = [s.repository for s in request.images if s.tag is None]
    if whole:  # "no tag" = every tag of the repository, as the registry lists them now
        with service.client_for(integration) as client:
            for repository in whole:
                images += [(repository, tag) for tag in visible_tags(client, repository)]
    images += [(s.repository, s.tag) for s in request.images if s.tag is not None]
    if not images:
        raise UsageError("the selected repositories have no tags to import")
    if len(images) > MAX_IMAGES:
        raise UsageError(f"an import may hold at most {MAX_IMAGES} images; select fewer")
    import_id = wiring.imports().start(caller.org_id, integration["id"], images)
    return json_response(202, {"id": import_id})


@app.get("/imports/<import_id>")
def import_status(import_id: str):
    return wiring.imports().status(principal(app), import_id)


@app.get("/imports/<import_id>/log")
def import_log(import_id: str):
    return {"entries": wiring.imports().log(principal(app), import_id)}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
def handler(event: dict, context: Any) -> dict:
    return app.resolve(event, context)
