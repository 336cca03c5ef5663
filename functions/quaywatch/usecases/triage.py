"""Ignores through the API: per project (members) and per organisation (admins). An ignored
finding stays visible, marked, and leaves the issue counts and the notifications until its
rule expires. Rules live on the project's and the organisation's records; adding or removing
one recounts the projects it touches from their latest test: a project's at once, an
organisation's through the re-test queue in batches (``recount_projects``), so the API
answers at once whatever the number of projects."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from quaywatch.api_errors import NotFound
from quaywatch.errors import UsageError
from quaywatch.matching.ignores import IgnoreRule, RecordedIgnore
from quaywatch.outcome import evaluate
from quaywatch.projects.findings_store import LatestTest
from quaywatch.projects.records import Project
from quaywatch.projects.retests import enqueue_recount
from quaywatch.projects.rules import ignores_of
from quaywatch.projects.store import counts_fields
from quaywatch.runtime.services import Services
from quaywatch.tenancy.access import Principal

MAX_IGNORES = 500  # per project and per organisation


class IgnoreCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vulnerability_id: str = Field(min_length=1, max_length=200, description="the finding's id or any alias")
    package: str | None = Field(None, min_length=1, max_length=500, description="only this package")
    reason: str = Field(min_length=1, max_length=2000)
    expires_at: date | None = Field(None, description="the day after which the ignore no longer applies")


def rules_for(services: Services, project: Project) -> list[IgnoreRule]:
    """The organisation's rules, then the project's."""
    return ignores_of(services.access.organisation(project.org_id) or {}, project)


def add_ignore(services: Services, caller: Principal, request: IgnoreCreate, project_id: str | None) -> dict[str, Any]:
    rule = RecordedIgnore(id=request.vulnerability_id, package=request.package, reason=request.reason,
                          expires=request.expires_at, ignore_id=uuid.uuid4().hex, created_by=caller.user_id,
                          created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                          scope="project" if project_id else "organisation")
    if project_id:
        services.projects.for_principal(caller, project_id)
        recount(services, services.projects.change_field(project_id, "ignores",
                                                         lambda rules: _appended(rules, rule)))
    else:
        caller.require_admin()
        services.access.set_ignores(caller.org_id, as_documents(_appended(organisation_ignores(services, caller), rule)))
        enqueue_recount(services.retest_queue, caller.org_id)  # the counts follow within seconds
    return rule.model_dump(mode="json")


def remove_ignore(services: Services, caller: Principal, ignore_id: str, project_id: str | None) -> None:
    if project_id:
        services.projects.for_principal(caller, project_id)
        recount(services, services.projects.change_field(project_id, "ignores",
                                                         lambda rules: _without(rules, ignore_id) or None))
        return
    caller.require_admin()
    services.access.set_ignores(caller.org_id, as_documents(_without(organisation_ignores(services, caller), ignore_id)))
    enqueue_recount(services.retest_queue, caller.org_id)


def list_ignores(services: Services, caller: Principal, project_id: str | None) -> list[dict[str, Any]]:
    if project_id:
        return as_documents(services.projects.for_principal(caller, project_id).ignores)
    return list((services.access.organisation(caller.org_id) or {}).get("ignores", []))


def recount(services: Services, project: Project, latest: LatestTest | None = None,
            organisation: dict[str, Any] | None = None) -> Project:
    """The project's counts from its latest test under the rules in force today (the record
    as stored after); ``latest``: the test when the caller has read it already (its findings
    are marked in place); ``organisation``: its record, when the caller has read it."""
    latest = latest or services.findings.latest(project.id)
    if latest is None:
        return project
    if organisation is None:
        organisation = services.access.organisation(project.org_id) or {}
    outcome = evaluate(latest.findings, ignores_of(organisation, project))
    counts = counts_fields(outcome.counts, outcome.counts_valid_until)
    if not services.projects_repository.update(project.id, counts):
        return project  # deleted meanwhile
    return project.changed(counts)


def organisation_ignores(services: Services, caller: Principal) -> list[RecordedIgnore]:
    organisation = services.access.organisation(caller.org_id) or {}
    return [RecordedIgnore.model_validate(r) for r in organisation.get("ignores", [])]


def as_documents(rules: list[RecordedIgnore]) -> list[dict[str, Any]]:
    return [rule.model_dump(mode="json") for rule in rules]


def _appended(rules: list[RecordedIgnore], rule: RecordedIgnore) -> list[RecordedIgnore]:
    if len(rules) >= MAX_IGNORES:
        raise UsageError(f"at most {MAX_IGNORES} ignores; remove some first")
    return [*rules, rule]


def _without(rules: list[RecordedIgnore], ignore_id: str) -> list[RecordedIgnore]:
    kept = [r for r in rules if r.ignore_id != ignore_id]
    if len(kept) == len(rules):
        raise NotFound(f"no ignore {ignore_id}")
    return kept


def recount_projects(services: Services, org_id: str, project_ids: list[str]) -> int:
    """Recount these projects of the organisation (one read of its rules); how many were."""
    organisation = services.access.organisation(org_id) or {}
    done = 0
    for project_id in project_ids:
        project = services.projects.get(project_id)
        if project is None or project.org_id != org_id:
            continue  # deleted since, or not this organisation's
        recount(services, project, organisation=organisation)
        done += 1
    return done
