"""The template's EventBridge Scheduler schedules, fired locally at their times.

``cron(min hour day-of-month month day-of-week year)`` (AWS's six fields, ``?`` for "any")
is evaluated with croniter on the five standard fields; ``rate(N unit)`` is an interval.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from croniter import croniter

from quaywatch.observability import logger
from quaywatch.runtime.template import Template

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")


@dataclass
class Schedule:
    name: str  # "<Function>.<Event>", e.g. RetestSchedulerFunction.Daily
    function: str
    expression: str
    payload: dict[str, Any]

    def next_after(self, moment: datetime) -> datetime:
        rate = _RATE.match(self.expression)
        if rate:
            amount, unit = int(rate[1]), rate[2].rstrip("s")
            return moment + timedelta(**{f"{unit}s": amount})
        match = re.match(r"^cron\((.+)\)$", self.expression)
        if not match:
            raise ValueError(f"unsupported schedule expression {self.expression}")
        fields = match[1].split()
        standard = " ".join(field.replace("?", "*") for field in fields[:5])
        return croniter(standard, moment).get_next(datetime)


def schedules(template: Template) -> list[Schedule]:
    found = []
    for function, resource in template.functions().items():
        for event_name, event in resource["Properties"].get("Events", {}).items():
            if event["Type"] in ("ScheduleV2", "Schedule"):
                properties = event["Properties"]
                payload = json.loads(properties["Input"]) if "Input" in properties else {}
                found.append(Schedule(f"{function}.{event_name}", function, properties["ScheduleExpression"], payload))
    return found


class Scheduler:
    def __init__(self, entries: list[Schedule], fire: Callable[[Schedule], None]) -> None:
        self.entries = entries
        self._fire = fire
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def find(self, name: str) -> Schedule:
        wanted = name.lower()
        for entry in self.entries:
            if wanted in (entry.name.lower(), entry.name.split(".")[1].lower()):
                return entry
        raise KeyError(name)

    def _run(self) -> None:
        now = datetime.now(UTC)
        due = {entry.name: entry.next_after(now) for entry in self.entries}
        while not self._stop.wait(1.0):
            now = datetime.now(UTC)
            for entry in self.entries:
                if due[entry.name] <= now:
                    due[entry.name] = entry.next_after(now)
                    try:
                        self._fire(entry)
                    except Exception as exc:  # noqa: BLE001 - a failing schedule must not stop the others
                        logger.error("scheduled function failed", extra={"schedule": entry.name, "error": str(exc)})
