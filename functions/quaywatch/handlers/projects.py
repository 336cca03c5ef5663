"""ProjectsFunction: ``/projects`` grouped by repository, details, settings, tests."""

from __future__ import annotations

import json
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths

from quaywatch.handlers import wiring
from quaywatch.handlers.api import create_app, json_response, principal
from quaywatch.observability import logger
from quaywatch.projects.models import ProjectUpdate
from quaywatch.projects.store import public_view

app = create_app()


@app.get("/projects")
def list_projects(origin: Annotated[str | None, Query(pattern="^quay$")] = None,
                  repository: Annotated[str | None, Query(max_length=255)] = None,
                  integration_id: Annotated[str | None, Query(max_length=64)] = None):
    items = wiring.projects().list(principal(app), repository, integration_id)
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        groups.setdefault(item["repository"], []).append(public_view(item))
    return {"repositories": [{"name": name, "projects": projects} for name, projects in sorted(groups.items())]}


@app.get("/projects/<project_id>")
def get_project(project_id: str):
    store = wiring.projects()
    item = store.for_principal(principal(app), project_id)
    latest = wiring.findings().latest(project_id)
    view = public_view(item)
    if item.get("is_new"):
        store.mark_viewed(project_id)  # NEW until first viewed
    view |= {"os": item.get("os"), "package_count": int(item.get("package_count", 0)),
             "findings": [f.model_dump(mode="json") for f in latest.findings] if latest else []}
    return view


@app.patch("/projects/<project_id>")
def update_project(project_id: str, request: Annotated[ProjectUpdate, Body()]):
    store = wiring.projects()
    item = store.for_principal(principal(app), project_id)
    return public_view(store.update_settings(item, request.test_frequency, request.active))


@app.delete("/projects/<project_id>")
def delete_project(project_id: str):
    store = wiring.projects()
    store.for_principal(principal(app), project_id)
    store.delete(project_id)
    wiring.findings().delete_project(project_id)
    return {"deleted": project_id}


@app.post("/projects/<project_id>/test")
def test_project(project_id: str):
    wiring.projects().for_principal(principal(app), project_id)
    wiring.retest_queue().send_message(QueueUrl=wiring.settings().retest_queue_url,
                                       MessageBody=json.dumps({"project_id": project_id, "reason": "on_demand"}))
    return json_response(202, {"project_id": project_id, "status": "queued"})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
def handler(event: dict, context: Any) -> dict:
    return app.resolve(event, context)
