"""EventPublisher on EventBridge (the event, for rules) and SNS (the summary, for people)."""

from __future__ import annotations

import json
from typing import Any

from quaywatch.ports import DomainEvent

SOURCE = "quaywatch"


class EventBridgeSnsPublisher:
    def __init__(self, events: Any, bus: str, sns: Any, topic_arn: str) -> None:
        self._events = events
        self._bus = bus
        self._sns = sns
        self._topic = topic_arn

    def publish(self, event: DomainEvent) -> None:
        response = self._events.put_events(Entries=[{"Source": SOURCE, "DetailType": event.detail_type,
                                                     "Detail": json.dumps(event.detail), "EventBusName": self._bus}])
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"EventBridge refused the event: {response['Entries'][0].get('ErrorMessage')}")
        self._sns.publish(TopicArn=self._topic, Subject=event.summary[:100], Message=json.dumps(event.detail, indent=1),
                          MessageAttributes={"org_id": {"DataType": "String", "StringValue": event.org_id}})
