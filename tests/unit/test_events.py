"""Every sample event in events/ parses with the parser its handler uses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent, SQSEvent
from quaywatch.handlers.retest_scheduler import ScheduleInput
from quaywatch.integrations.models import IntegrationCreate
from quaywatch.projects.imports import ImportMessage
from quaywatch.projects.models import ImportRequest
from quaywatch.usecases.webhooks import RepoPush

EVENTS = Path(__file__).resolve().parents[2] / "events"
ALL = sorted(EVENTS.glob("*.json"))


def test_there_are_events() -> None:
    assert len(ALL) >= 10


@pytest.mark.parametrize("path", ALL, ids=[p.stem for p in ALL])
def test_event_parses(path: Path) -> None:
    event = json.loads(path.read_text())
    kind = path.stem.split("-", 1)[0]
    if kind in ("api", "quay"):
        request = APIGatewayProxyEvent(event)
        assert request.http_method in ("GET", "POST", "PATCH", "DELETE") and request.path.startswith("/")
        if path.stem == "api-create-integration":
            IntegrationCreate.model_validate_json(request.body)
        if path.stem == "api-start-import":
            ImportRequest.model_validate_json(request.body)
        if kind == "quay":
            assert RepoPush.model_validate_json(request.body).updated_tags
    elif kind == "sqs":
        records = list(SQSEvent(event).records)
        assert records
        for record in records:
            if path.stem == "sqs-import":
                ImportMessage.from_json(record.body)
            else:
                assert json.loads(record.body)["project_id"]
    elif path.stem in ("schedule-advisory-sync", "schedule-weekly-digest"):  # inputless schedules
        assert event == {}
    else:
        ScheduleInput.model_validate(event)
