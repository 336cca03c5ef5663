"""IntegrationsFunction: ``/integrations``, ``/tokens``, ``/organisation/channels``, ``/organisation/notification-policy``
and ``/organisation/ignores`` (admins only)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel, ConfigDict, Field

from quaywatch.handlers.api import ADMIN, api_base_url, caller, create_app, json_response, resolve
from quaywatch.handlers.wiring import services
from quaywatch.integrations.models import ChannelsUpdate, IntegrationCreate, IntegrationUpdate
from quaywatch.metrics import flushed
from quaywatch.notifications.policy import NotificationPolicy
from quaywatch.observability import logger, traced
from quaywatch.tenancy.members import EmailAddress
from quaywatch.usecases import baseimages, organisation, triage, vex
from quaywatch.usecases import integrations as use

app = create_app()


def _dump(view: Any) -> dict:
    return view.model_dump(exclude_none=True)


@app.post("/integrations", middlewares=ADMIN)
def create_integration(request: Annotated[IntegrationCreate, Body()]):
    view = use.create_integration(services(), caller(app), request, api_base_url(app))
    return json_response(201, _dump(view))


@app.get("/integrations", middlewares=ADMIN)
def list_integrations():
    return {"integrations": [_dump(v) for v in use.list_integrations(services(), caller(app))]}


@app.get("/integrations/<integration_id>", middlewares=ADMIN)
def get_integration(integration_id: str):
    return _dump(use.get_integration(services(), caller(app), integration_id))


@app.patch("/integrations/<integration_id>", middlewares=ADMIN)
def update_integration(integration_id: str, request: Annotated[IntegrationUpdate, Body()]):
    return _dump(use.update_integration(services(), caller(app), integration_id, request))


@app.delete("/integrations/<integration_id>", middlewares=ADMIN)
def delete_integration(integration_id: str):
    use.delete_integration(services(), caller(app), integration_id)
    return json_response(200, {"deleted": integration_id})


@app.post("/integrations/<integration_id>/test", middlewares=ADMIN)
def test_integration(integration_id: str):
    return _dump(use.recheck_integration(services(), caller(app), integration_id))


@app.post("/integrations/<integration_id>/webhook-token", middlewares=ADMIN)
def rotate_webhook_token(integration_id: str):
    return _dump(use.rotate_webhook(services(), caller(app), integration_id, api_base_url(app)))


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["admin", "member"] = "member"
    email: EmailAddress | None = Field(None, description="the member's address for their mail (they may change it)")


@app.post("/tokens", middlewares=ADMIN)
def create_token(request: Annotated[TokenRequest, Body()]):
    """A new API token for a new user of the caller's organisation (admins; shown once)."""
    return json_response(201, organisation.issue_member_token(services(), caller(app), request.role, request.email))


@app.get("/organisation/channels", middlewares=ADMIN)
def get_channels():
    return {"channels": organisation.get_channels(services(), caller(app))}


@app.put("/organisation/channels", middlewares=ADMIN)
def put_channels(request: Annotated[ChannelsUpdate, Body()]):
    return {"channels": organisation.set_channels(services(), caller(app), request)}


@app.get("/organisation/notification-policy", middlewares=ADMIN)
def get_notification_policy():
    return organisation.get_notification_policy(services(), caller(app))


@app.put("/organisation/notification-policy", middlewares=ADMIN)
def put_notification_policy(request: Annotated[NotificationPolicy, Body()]):
    """Which new findings are notified: minimum severity, known-exploited only, fixable only."""
    return organisation.set_notification_policy(services(), caller(app), request)


@app.get("/organisation/base-images", middlewares=ADMIN)
def get_base_sources():
    return baseimages.get_base_sources(services(), caller(app))


@app.put("/organisation/base-images", middlewares=ADMIN)
def put_base_sources(request: Annotated[baseimages.BaseSources, Body()]):
    """The repositories the organisation builds its images on: base images and candidates."""
    return baseimages.set_base_sources(services(), caller(app), request)


@app.get("/organisation/ignores", middlewares=ADMIN)
def list_organisation_ignores():
    return {"ignores": triage.list_ignores(services(), caller(app), None)}


@app.post("/organisation/ignores", middlewares=ADMIN)
def add_organisation_ignore(request: Annotated[triage.IgnoreCreate, Body()]):
    return json_response(201, triage.add_ignore(services(), caller(app), request, None))


@app.delete("/organisation/ignores/<ignore_id>", middlewares=ADMIN)
def remove_organisation_ignore(ignore_id: str):
    triage.remove_ignore(services(), caller(app), ignore_id, None)
    return {"deleted": ignore_id}


@app.post("/organisation/vex", middlewares=ADMIN)
def import_organisation_vex():
    """An OpenVEX document: its not_affected statements become the organisation's ignores."""
    return vex.import_vex(services(), caller(app), app.current_event.body or "", None)


@app.get("/openapi.json", include_in_schema=False)
def openapi():
    """The whole API's document (this function owns the route in template.yaml)."""
    from quaywatch.handlers.openapi_doc import openapi_document

    return json_response(200, openapi_document(app))


@traced  # X-Ray on Lambda (quaywatch.observability)
@flushed  # CloudWatch metrics (quaywatch.metrics), flushed per invocation
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
def handler(event: dict, context: Any) -> dict:
    return resolve(app, event, context)
