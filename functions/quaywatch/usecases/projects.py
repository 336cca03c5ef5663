"""The projects API's use cases: listing grouped by repository, details, settings, deletion."""

from __future__ import annotations

from typing import Any

from quaywatch.advisories.status import SHOWN_STATUSES, FixStatus
from quaywatch.baseimages.layers import mark_from_base
from quaywatch.errors import UsageError
from quaywatch.matching.levels import ISSUE_LEVELS, LEVELS, RATED_LEVELS
from quaywatch.projects.models import ProjectUpdate
from quaywatch.projects.records import Project
from quaywatch.projects.store import counts_lapsed, public_view
from quaywatch.runtime.services import Services
from quaywatch.tenancy.access import Principal


def severity_levels() -> dict[str, list[str]]:
    """``levels``: every level (``unknown``: no source rates the finding); ``rated``: those a
    policy or a filter may name; ``issues``: those badges show first."""
    return {"levels": list(LEVELS), "rated": list(RATED_LEVELS), "issues": list(ISSUE_LEVELS)}


DEFAULT_PAGE = 200
MAX_PAGE = 1000


def list_projects(services: Services, caller: Principal, repository: str | None, integration_id: str | None,
                  limit: int = DEFAULT_PAGE, cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the organisation's projects (by repository, tag, platform), grouped by
    repository (a repository may go on in the next page); the next page's cursor."""
    try:
        page, next_cursor = services.projects_repository.page_by_org(caller.org_id, limit, cursor, repository,
                                                                     integration_id)
    except ValueError:
        raise UsageError("invalid cursor; start again without it") from None
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in page:
        groups.setdefault(item.repository, []).append(public_view(_current(services, item)))
    return [{"name": name, "projects": projects} for name, projects in groups.items()], next_cursor


def _current(services: Services, item: Project) -> Project:
    """The record with counts under today's rules: an ignore that expired since the last count
    gives its findings back to the counts at the first read after (not at the next test)."""
    if not counts_lapsed(item):
        return item
    from quaywatch.usecases.triage import recount

    return recount(services, item)


def statuses(text: str | None) -> frozenset[FixStatus] | None:
    """The fix statuses a ``status=`` filter names (None: no filter); a wrong one is a 400."""
    if not text:
        return None
    named = set()
    for word in (w.strip().lower() for w in text.split(",") if w.strip()):
        if word not in {s.value for s in SHOWN_STATUSES}:
            raise UsageError(f"status: {word!r} is no fix status; use " + ", ".join(s.value for s in SHOWN_STATUSES))
        named.add(FixStatus(word))
    return frozenset(named) or None


def project_detail(services: Services, caller: Principal, project_id: str,
                   status: frozenset[FixStatus] | None = None) -> dict[str, Any]:
    from quaywatch.usecases.triage import recount, rules_for

    item = services.projects.for_principal(caller, project_id)
    latest = services.findings.latest(project_id)
    if latest is not None and counts_lapsed(item):
        item = recount(services, item, latest)  # stores today's counts and marks the findings
    elif latest is not None:  # the rules in force today: an expired ignore no longer marks its finding
        from quaywatch.matching.ignores import apply_ignores

        apply_ignores(latest.findings, rules_for(services, item))
    view = public_view(item)
    if item.is_new:
        services.projects.mark_viewed(project_id)  # NEW until first viewed
    base = (item.base_image or {}).get("base")
    if latest is not None and base and base.get("layers"):
        mark_from_base(latest.findings, latest.inventory.image, base["layers"])
    findings = [f.document() for f in latest.findings if status is None or f.status in status] if latest else []
    view |= {"os": item.os, "package_count": item.package_count,
             "base_image": f"{base['repository']}:{base['tag']}" if base else None,
             "dockerfile_base": item.dockerfile.base if item.dockerfile else None, "findings": findings}
    return view


def update_project(services: Services, caller: Principal, project_id: str, request: ProjectUpdate) -> dict[str, Any]:
    item = services.projects.for_principal(caller, project_id)
    return public_view(services.projects.update_settings(item, request.test_frequency, request.active))


def delete_project(services: Services, caller: Principal, project_id: str) -> None:
    """The project and everything kept for it: latest test, history, package index entries.
    A project a registry sync imported is not imported again by the next sync."""
    project = services.projects.for_principal(caller, project_id)
    if project.imported_by == "sync":
        services.registry_index.decline(project.integration_id, project.repository, project.tag)
    services.projects.delete(project_id)
    services.findings.delete_project(project_id)
