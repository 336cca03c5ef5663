"""The embedded scheduler reads the template's schedules and computes their fire times as
EventBridge Scheduler would (AWS's six-field cron with `?`, and rate expressions)."""

from __future__ import annotations

from datetime import UTC, datetime

from quaywatch.runtime.embedded.scheduler import Schedule, Scheduler, schedules
from quaywatch.runtime.template import Template


def test_schedules_come_from_the_template() -> None:
    found = {s.name: s for s in schedules(Template.load())}
    assert set(found) == {"RetestSchedulerFunction.Daily", "RetestSchedulerFunction.Weekly",
                          "AdvisorySyncFunction.Every6Hours", "SyncSchedulerFunction.Every15Minutes",
                          "DigestFunction.Weekly"}
    assert found["RetestSchedulerFunction.Daily"].payload == {"frequency": "daily"}
    assert found["AdvisorySyncFunction.Every6Hours"].payload == {}


def test_fire_times() -> None:
    moment = datetime(2026, 11, 28, 14, 30, tzinfo=UTC)  # a Saturday
    daily = Schedule("d", "f", "cron(0 3 * * ? *)", {})
    weekly = Schedule("w", "f", "cron(0 4 ? * MON *)", {})
    rate = Schedule("r", "f", "rate(6 hours)", {})
    assert daily.next_after(moment) == datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    assert weekly.next_after(moment) == datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
    assert rate.next_after(moment) == datetime(2026, 11, 28, 20, 30, tzinfo=UTC)


def test_find_by_event_name_or_full_name() -> None:
    scheduler = Scheduler(schedules(Template.load()), lambda entry: None)
    assert scheduler.find("daily").name == "RetestSchedulerFunction.Daily"
    assert scheduler.find("AdvisorySyncFunction.Every6Hours").function == "AdvisorySyncFunction"
