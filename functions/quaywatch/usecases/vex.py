"""OpenVEX through the API: a project's (or the organisation's) statements in, the project's
ignores and fix statuses out.

In: ``not_affected`` statements, and ``fixed`` ones naming the project's image itself, become
ignores (with the statement's justification and reason), per vulnerability and per package
the statement names (every package when it names the image without subcomponents). Rules
from one document carry its ``@id``: importing it again replaces them, so a supplier's
updated VEX is posted as is. A project takes statements about its own image (by digest) or
about packages (by purl); the organisation's apply to every image. ``affected``,
``under_investigation`` and ``fixed`` statements about another version change no stored
test: ``quaywatch scan --vex`` applies those to its scan.

Out: the latest test's findings, ignores applied, as an OpenVEX document (``vex.openvex``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from quaywatch.api_errors import NotFound
from quaywatch.errors import UsageError
from quaywatch.matching.ignores import RecordedIgnore
from quaywatch.projects.retests import enqueue_recount
from quaywatch.runtime.services import Services
from quaywatch.tenancy.access import Principal
from quaywatch.usecases.triage import (
    MAX_IGNORES,
    as_documents,
    organisation_ignores,
    recount,
    rules_for,
)
from quaywatch.vex.openvex import VexStatement, read_openvex, statement_packages, to_openvex


def import_vex(services: Services, caller: Principal, body: str | bytes, project_id: str | None) -> dict[str, Any]:
    statements = read_openvex(body or b"", "the VEX document")
    digest = None
    if project_id:
        digest = services.projects.for_principal(caller, project_id).digest or ""
    else:
        caller.require_admin()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    rules: list[RecordedIgnore] = []
    skipped: list[dict[str, Any]] = []
    for index, statement in enumerate(statements):
        packages = statement_packages(statement, digest)
        reason = _skip_reason(statement, packages)
        if reason:
            skipped.append({"statement": index, "vulnerability": statement.vulnerability, "reason": reason})
            continue
        rules += [_rule(statement, package, caller, now, "project" if project_id else "organisation")
                  for package in packages or [None]]
    documents = {s.document for s in statements}
    if project_id:
        project = services.projects.change_field(project_id, "ignores", lambda old: _merged(old, documents, rules))
        recount(services, project)
    else:
        merged = _merged(organisation_ignores(services, caller), documents, rules)
        services.access.set_ignores(caller.org_id, as_documents(merged or []))
        enqueue_recount(services.retest_queue, caller.org_id)
    return {"documents": sorted(documents), "statements": len(statements), "ignores": len(rules), "skipped": skipped}


def _skip_reason(statement: VexStatement, packages: list[str | None] | None) -> str | None:
    if packages is None:
        return "it names no product of this image (its digest) and no package"
    if statement.status == "fixed" and packages != [None]:
        return "a fixed statement about packages sets their status in `quaywatch scan --vex` only"
    if statement.status not in ("not_affected", "fixed"):
        return f"an {statement.status} statement changes no stored test; `quaywatch scan --vex` applies it"
    return None


def _rule(statement: VexStatement, package: str | None, caller: Principal, now: str, scope: str) -> RecordedIgnore:
    reason = statement.reason() if statement.status == "not_affected" else "VEX fixed: fixed in this image"
    return RecordedIgnore(id=statement.vulnerability, package=package, reason=reason[:2000],
                          justification=statement.justification, ignore_id=uuid.uuid4().hex,
                          created_by=caller.user_id, created_at=now, scope=scope, vex_document=statement.document)


def _merged(rules: list[RecordedIgnore], documents: set[str], added: list[RecordedIgnore]) -> list[RecordedIgnore] | None:
    kept = [rule for rule in rules if rule.vex_document not in documents] + added
    if len(kept) > MAX_IGNORES:
        raise UsageError(f"at most {MAX_IGNORES} ignores; this document would make {len(kept)}")
    return kept or None


def export_vex(services: Services, caller: Principal, project_id: str) -> dict[str, Any]:
    project = services.projects.for_principal(caller, project_id)
    latest = services.findings.latest(project_id)
    if latest is None:
        raise NotFound(f"project {project_id} has not been tested yet: there is nothing to state")
    from quaywatch.matching.ignores import apply_ignores

    apply_ignores(latest.findings, rules_for(services, project))
    return to_openvex(latest.inventory.image, latest.findings, author=f"quaywatch ({caller.org_id})")
