"""IntegrationsFunction: ``/integrations`` (admins only)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel, ConfigDict

from quaywatch.handlers import wiring
from quaywatch.handlers.api import api_base_url, create_app, json_response, principal
from quaywatch.integrations.models import ChannelsUpdate, IntegrationCreate, IntegrationUpdate
from quaywatch.integrations.url_policy import check_notification_url
from quaywatch.observability import logger

app = create_app()


def _dump(view: Any) -> dict:
    return view.model_dump(exclude_none=True)


@app.post("/integrations")
def create_integration(request: Annotated[IntegrationCreate, Body()]):
    view = wiring.integrations().create(principal(app), request, api_base_url(app))
    return json_response(201, _dump(view))


@app.get("/integrations")
def list_integrations():
    return {"integrations": [_dump(v) for v in wiring.integrations().list(principal(app))]}


@app.get("/integrations/<integration_id>")
def get_integration(integration_id: str):
    return _dump(wiring.integrations().get(principal(app), integration_id))


@app.patch("/integrations/<integration_id>")
def update_integration(integration_id: str, request: Annotated[IntegrationUpdate, Body()]):
    return _dump(wiring.integrations().update(principal(app), integration_id, request))


@app.delete("/integrations/<integration_id>")
def delete_integration(integration_id: str):
    wiring.integrations().delete(principal(app), integration_id)
    return json_response(200, {"deleted": integration_id})


@app.post("/integrations/<integration_id>/test")
def test_integration(integration_id: str):
    return _dump(wiring.integrations().test(principal(app), integration_id))


@app.post("/integrations/<integration_id>/webhook-token")
def rotate_webhook_token(integration_id: str):
    return _dump(wiring.integrations().rotate_webhook(principal(app), integration_id, api_base_url(app)))


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["admin", "member"] = "member"


@app.post("/tokens")
def create_token(request: Annotated[TokenRequest, Body()]):
    """A new API token for a new user of the caller's organisation (admins; shown once)."""
    caller = principal(app)
    caller.require_admin()
    user_id = uuid.uuid4().hex
    token = wiring.access().issue_token(caller.org_id, request.role, user_id=user_id)
    logger.info("api token issued", extra={"org_id": caller.org_id, "user_id": user_id, "role": request.role})
    return json_response(201, {"token": token, "role": request.role, "user_id": user_id})


@app.get("/organisation/channels")
def get_channels():
    caller = principal(app)
    caller.require_admin()
    organisation = wiring.access().organisation(caller.org_id) or {}
    return {"channels": list(organisation.get("channels", []))}


@app.put("/organisation/channels")
def put_channels(request: Annotated[ChannelsUpdate, Body()]):
    caller = principal(app)
    caller.require_admin()
    allow_private = wiring.settings().allow_private_registries
    for channel in request.channels:
        check_notification_url(channel.url, allow_private)
    channels = [channel.model_dump() for channel in request.channels]
    wiring.access().set_channels(caller.org_id, channels)
    return {"channels": channels}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
def handler(event: dict, context: Any) -> dict:
    return app.resolve(event, context)
