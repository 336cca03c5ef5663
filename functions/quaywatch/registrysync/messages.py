"""The sync queue's messages: list the catalog (and fan out), refresh one repository, plan."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Literal

from quaywatch.projects.imports import MalformedMessage

Step = Literal["catalog", "repository", "plan"]


@dataclass(frozen=True)
class SyncMessage:
    """``run_id`` None: a repository refreshed outside a run (a Quay push)."""

    step: Step
    integration_id: str
    run_id: str | None = None
    repository: str | None = None

    def to_json(self) -> str:
        return json.dumps({"sync": self.step, **{k: v for k, v in asdict(self).items() if k != "step" and v is not None}})

    @classmethod
    def from_json(cls, body: str) -> SyncMessage:
        try:
            data = json.loads(body)
            step = data["sync"]
            if step not in ("catalog", "repository", "plan"):
                raise ValueError(f"unknown step {step!r}")
            message = cls(step, str(data["integration_id"]), _text(data.get("run_id")), _text(data.get("repository")))
        except (ValueError, KeyError, TypeError) as exc:
            raise MalformedMessage(f"not a sync message: {exc}") from None
        if (message.step != "repository" and message.run_id is None) or (
                message.step == "repository" and message.repository is None):
            raise MalformedMessage(f"not a sync message: {step} without its run or repository")
        return message


def _text(value: object) -> str | None:
    return None if value is None else str(value)
