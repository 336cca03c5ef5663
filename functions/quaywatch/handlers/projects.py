"""ProjectsFunction: ``/projects`` grouped by repository, details, settings, tests."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths

from quaywatch.baseimages.dockerfile import MAX_SIZE
from quaywatch.handlers.api import MEMBER, caller, create_app, json_response, resolve
from quaywatch.handlers.wiring import services
from quaywatch.metrics import flushed
from quaywatch.observability import logger, traced
from quaywatch.projects.models import ProjectUpdate
from quaywatch.usecases import baseimages, exports, triage, vex
from quaywatch.usecases import projects as use
from quaywatch.usecases.freshness import advisory_status
from quaywatch.usecases.retests import request_retest

app = create_app()


@app.get("/projects", middlewares=MEMBER)
def list_projects(origin: Annotated[str | None, Query(pattern="^quay$")] = None,
                  repository: Annotated[str | None, Query(max_length=255)] = None,
                  integration_id: Annotated[str | None, Query(max_length=64)] = None,
                  limit: Annotated[int, Query(ge=1, le=use.MAX_PAGE)] = use.DEFAULT_PAGE,
                  cursor: Annotated[str | None, Query(max_length=1000)] = None):
    groups, next_cursor = use.list_projects(services(), caller(app), repository, integration_id, limit, cursor)
    return {"repositories": groups, "next_cursor": next_cursor}


@app.get("/severity-levels", middlewares=MEMBER)
def get_severity_levels():
    """The severity levels, most severe first, as every count and filter uses them (the console
    reads them here; it declares none of its own)."""
    return use.severity_levels()


@app.get("/advisories/status", middlewares=MEMBER)
def get_advisory_status():
    return advisory_status(services())


@app.get("/projects/<project_id>", middlewares=MEMBER)
def get_project(project_id: str, status: Annotated[str | None, Query(max_length=200)] = None):
    """The project and its latest findings; ``status=fixed`` or ``status=affected,will_not_fix``
    keeps the findings with those fix statuses."""
    return use.project_detail(services(), caller(app), project_id, use.statuses(status))


@app.patch("/projects/<project_id>", middlewares=MEMBER)
def update_project(project_id: str, request: Annotated[ProjectUpdate, Body()]):
    return use.update_project(services(), caller(app), project_id, request)


@app.delete("/projects/<project_id>", middlewares=MEMBER)
def delete_project(project_id: str):
    use.delete_project(services(), caller(app), project_id)
    return {"deleted": project_id}


@app.post("/projects/<project_id>/test", middlewares=MEMBER)
def test_project(project_id: str):
    request_retest(services(), caller(app), project_id)
    return json_response(202, {"project_id": project_id, "status": "queued"})


@app.get("/projects/<project_id>/ignores", middlewares=MEMBER)
def list_project_ignores(project_id: str):
    return {"ignores": triage.list_ignores(services(), caller(app), project_id)}


@app.post("/projects/<project_id>/ignores", middlewares=MEMBER)
def add_project_ignore(project_id: str, request: Annotated[triage.IgnoreCreate, Body()]):
    return json_response(201, triage.add_ignore(services(), caller(app), request, project_id))


@app.delete("/projects/<project_id>/ignores/<ignore_id>", middlewares=MEMBER)
def remove_project_ignore(project_id: str, ignore_id: str):
    triage.remove_ignore(services(), caller(app), ignore_id, project_id)
    return {"deleted": ignore_id}


@app.get("/projects/<project_id>/export", middlewares=MEMBER)
def export_project(project_id: str, format: Annotated[str, Query(pattern="^(cyclonedx|sarif|json|csv)$")] = "json"):
    """The latest test as CycloneDX 1.6, SARIF 2.1.0, JSON or CSV (one finding a line)."""
    content_type, name, body = exports.export_project(services(), caller(app), project_id, format)
    return Response(200, content_type, body, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@app.get("/projects/<project_id>/vex", middlewares=MEMBER)
def export_project_vex(project_id: str):
    """The latest test's ignores and fix statuses as an OpenVEX document."""
    return vex.export_vex(services(), caller(app), project_id)


@app.post("/projects/<project_id>/vex", middlewares=MEMBER)
def import_project_vex(project_id: str):
    """An OpenVEX document: its not_affected statements on this image become the project's ignores."""
    return vex.import_vex(services(), caller(app), app.current_event.body or "", project_id)


@app.put("/projects/<project_id>/dockerfile", middlewares=MEMBER)
def link_dockerfile(project_id: str, request: Annotated[baseimages.DockerfileLink, Body()]):
    """Link the Dockerfile the image is built from: its final stage's base is the project's
    base image (a Dockerfile that does not read is refused with the line at fault)."""
    return baseimages.link_dockerfile(services(), caller(app), project_id, request)


@app.delete("/projects/<project_id>/dockerfile", middlewares=MEMBER)
def unlink_dockerfile(project_id: str):
    baseimages.unlink_dockerfile(services(), caller(app), project_id)
    return {"project_id": project_id, "dockerfile": None}


@app.get("/projects/<project_id>/base-image", middlewares=MEMBER)
def get_base_image(project_id: str):
    """The detected base, its counts, and better tags with theirs (404 when no base is known)."""
    return baseimages.base_image_view(services(), caller(app), project_id)


@traced  # X-Ray on Lambda (quaywatch.observability)
@flushed  # CloudWatch metrics (quaywatch.metrics), flushed per invocation
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
def handler(event: dict, context: Any) -> dict:
    return resolve(app, event, context, max_body_bytes=MAX_DOCKERFILE_BODY)


# A Dockerfile of the largest size taken (256 KiB) is up to six times that as a JSON string
# (each control character a \u escape); the reader bounds its own work.
MAX_DOCKERFILE_BODY = 6 * MAX_SIZE + 1024
