"""Registry sync (issue 19): an integration's policy, starting a sync, the worker's three
steps, and the scheduler's due syncs.

A sync never walks a registry inside one call: the API records the run and answers; the
``catalog`` step lists the repositories and sends one ``repository`` message each; each
refreshes its repository in the index and counts itself done once; the last one in sends
``plan``, which decides from the index what to import and to remove, and does it (unless a
dry run). Every step may be delivered twice and is safe to repeat.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

from quaywatch.api_errors import NotFound
from quaywatch.integrations.records import Integration
from quaywatch.observability import logger
from quaywatch.projects.imports import new_import_id
from quaywatch.registry.client import RegistryClient
from quaywatch.registry.errors import NotFoundError
from quaywatch.registrysync.crawl import list_tags
from quaywatch.registrysync.messages import SyncMessage
from quaywatch.registrysync.planner import plan_sync
from quaywatch.registrysync.policy import compile_policy, needs_creation_times
from quaywatch.registrysync.records import IndexedRepository, SyncPlan, SyncPolicy, SyncRun
from quaywatch.runtime.services import Services
from quaywatch.tenancy.access import Principal
from quaywatch.usecases.failures import describe, is_transient

STALE_AFTER = timedelta(hours=6)  # a run still "running" after this is taken for lost
CHUNK = 1000  # repositories recorded and sent per step of the catalog


def plan_key(integration_id: str, run_id: str) -> str:
    return f"sync-plans/{integration_id}/{run_id}.json"


# --- the policy (admins) -------------------------------------------------------------------


def get_sync_policy(services: Services, caller: Principal, integration_id: str) -> SyncPolicy:
    caller.require_admin()
    services.integrations.record(caller, integration_id)
    return services.sync_repository.get_policy(integration_id) or SyncPolicy()


def put_sync_policy(services: Services, caller: Principal, integration_id: str, policy: SyncPolicy) -> SyncPolicy:
    """Store the policy once its expressions compile (InvalidPolicy names the field). An
    enabled policy is due at once if no sync has completed since a frequency ago."""
    caller.require_admin()
    services.integrations.record(caller, integration_id)
    compile_policy(policy)
    services.sync_repository.put_policy(integration_id, policy, _next_sync(services, integration_id, policy))
    return policy


def _next_sync(services: Services, integration_id: str, policy: SyncPolicy) -> str | None:
    if not policy.enabled:
        return None
    last = services.sync_repository.latest_completed_run(integration_id)
    due = _now()
    if last is not None and last.finished_at:
        due = max(due, datetime.fromisoformat(last.finished_at) + timedelta(hours=policy.frequency_hours))
    return _iso(due)


# --- starting and reading a sync -----------------------------------------------------------


def start_sync(services: Services, caller: Principal, integration_id: str, dry_run: bool) -> SyncRun:
    """Admins run syncs; a member may ask for a dry run (the console's "Refresh": it brings
    the index up to date and changes no project)."""
    if not dry_run:
        caller.require_admin()
    integration = services.integrations.record(caller, integration_id)
    return begin_sync(services, integration, dry_run, "manual")


def begin_sync(services: Services, integration: Integration, dry_run: bool, trigger: str) -> SyncRun:
    """A new run, or the one already running (a second click starts nothing)."""
    syncs = services.sync_repository
    latest = syncs.latest_run(integration.id)
    if latest is not None and latest.status == "running":
        if datetime.fromisoformat(latest.started_at) > _now() - STALE_AFTER:
            return latest
        syncs.update_run(integration.id, latest.id, {"status": "failed", "finished_at": _iso(_now()),
                                                     "error": f"did not finish within {STALE_AFTER}"},
                         expect_status="running")
    run = SyncRun(id=new_import_id(), integration_id=integration.id, org_id=integration.org_id, dry_run=dry_run,
                  trigger=trigger, started_at=_iso(_now()))
    syncs.create_run(run)
    services.sync_queue.send(SyncMessage("catalog", integration.id, run.id).to_json())
    logger.info("sync started", extra={"integration_id": integration.id, "sync_id": run.id, "dry_run": dry_run})
    return run


def sync_view(services: Services, caller: Principal, integration_id: str) -> dict[str, Any]:
    """The integration's last sync and, once planned, its plan."""
    services.integrations.record(caller, integration_id)
    run = services.sync_repository.latest_run(integration_id)
    if run is None:
        raise NotFound(f"no sync has run for integration {integration_id}")
    plan = _load_plan(services, run) or SyncPlan()
    return {
        "id": run.id, "status": run.status, "dry_run": run.dry_run, "trigger": run.trigger,
        "started_at": run.started_at, "finished_at": run.finished_at, "repositories": run.repositories,
        "repositories_done": run.repositories_done, "tags": run.tags,
        "to_import": [entry.model_dump() for entry in plan.to_import],
        "to_remove": [entry.model_dump() for entry in plan.to_remove],
        "left_out": [entry.model_dump() for entry in plan.left_out],
        "import_id": run.import_id, "removed": run.removed, "throttled": run.throttled, "capped": run.capped,
        "error": run.error,
    }


def _load_plan(services: Services, run: SyncRun) -> SyncPlan | None:
    stored = services.objects.get_bytes(plan_key(run.integration_id, run.id))
    return SyncPlan.model_validate_json(stored) if stored else None


# --- the worker ----------------------------------------------------------------------------


def process_sync_message(services: Services, body: str, receive_count: int) -> None:
    message = SyncMessage.from_json(body)
    logger.thread_safe_clear_keys()
    logger.thread_safe_append_keys(integration_id=message.integration_id, sync_id=message.run_id,
                                   repository=message.repository)
    integration = services.integrations.by_id(message.integration_id)
    run = services.sync_repository.get_run(message.integration_id, message.run_id) if message.run_id else None
    if integration is None:
        if run is not None:
            _fail(services, run, "the integration was deleted")
        return
    if message.run_id is not None and (run is None or run.status != "running"):
        logger.info("sync no longer running; message ignored")
        return
    last_try = receive_count >= services.settings.max_receives
    if message.step == "catalog":
        _list_catalog(services, integration, run, last_try)
    elif message.step == "repository":
        _refresh_repository(services, integration, message.repository or "", run, last_try)
    else:
        _plan(services, integration, run)


def _client(services: Services, integration: Integration) -> AbstractContextManager[RegistryClient]:
    return services.integrations.client_for(integration, retry=services.registry_retry)


def _list_catalog(services: Services, integration: Integration, run: SyncRun | None, last_try: bool) -> None:
    assert run is not None
    try:
        with _client(services, integration) as client:
            names = sorted(set(client.catalog()))
            throttled = client.throttled
    except Exception as exc:
        if is_transient(exc) and not last_try:
            raise
        _fail(services, run, f"the catalog could not be listed: {describe(exc)}")
        return
    index = services.registry_index
    listed = set(names)
    for gone in sorted(set(index.repository_names(integration.id)) - listed):
        index.delete_repository(integration.id, gone)  # deleted from the registry
    # The catalog's 429s are set before any repository message exists: from then on only the
    # repositories' atomic additions change the count.
    services.sync_repository.update_run(integration.id, run.id, {"throttled": run.throttled + throttled},
                                        expect_status="running")
    for start in range(0, len(names), CHUNK):
        chunk = names[start : start + CHUNK]
        services.sync_repository.add_repositories(integration.id, run.id, chunk)
        services.sync_queue.send_many([SyncMessage("repository", integration.id, run.id, name).to_json()
                                       for name in chunk])
    services.sync_repository.update_run(integration.id, run.id, {"repositories": len(names), "listed": True},
                                        expect_status="running")
    logger.info("catalog listed", extra={"repositories": len(names)})
    _plan_when_complete(services, integration.id, run.id)


def _refresh_repository(services: Services, integration: Integration, repository: str, run: SyncRun | None,
                        last_try: bool) -> None:
    index = services.registry_index
    policy = services.sync_repository.get_policy(integration.id) or SyncPolicy()
    known = {tag.tag: tag for tag in index.tags(integration.id, repository)}
    throttled = 0
    try:
        with services.integrations.registry_access(integration, retry=services.registry_retry) as (client, quay_api):
            try:
                tags, capped = list_tags(client, repository, known, needs_creation_times(policy), quay_api)
            finally:
                throttled = client.throttled
        index.put_repository(integration.id, IndexedRepository(name=repository, tag_count=len(tags),
                                                               synced_at=_iso(_now())), tags)
        if capped:
            logger.warning("repository has more tags than a sync indexes; the first ones kept")
    except NotFoundError:
        index.delete_repository(integration.id, repository)  # deleted since the catalog was listed
    except Exception as exc:
        if is_transient(exc) and not last_try:
            raise
        # The run goes on without it: the index keeps what it knew of the repository, so its
        # projects are neither imported twice nor removed for a failure to list.
        logger.warning("repository not refreshed", extra={"error": describe(exc)})
    if run is not None:
        services.sync_repository.complete_repository(integration.id, run.id, repository, throttled)
        _plan_when_complete(services, integration.id, run.id)


def _plan_when_complete(services: Services, integration_id: str, run_id: str) -> None:
    """Send the plan step once every repository is in (whoever sees it last sends it; the
    plan step is safe to run twice)."""
    run = services.sync_repository.get_run(integration_id, run_id)
    if run is not None and run.status == "running" and run.listed and run.repositories_done >= run.repositories:
        services.sync_queue.send(SyncMessage("plan", integration_id, run_id).to_json())


def _plan(services: Services, integration: Integration, run: SyncRun | None) -> None:
    assert run is not None
    policy = services.sync_repository.get_policy(integration.id) or SyncPolicy()
    tags = list(services.registry_index.all_tags(integration.id))
    projects = services.projects_repository.list_by_org(integration.org_id, integration_id=integration.id)
    plan = plan_sync(policy, compile_policy(policy), tags, projects, services.registry_index.declined(integration.id),
                     _now(), services.settings.sync_max_images)
    services.objects.put_bytes(plan_key(integration.id, run.id), plan.model_dump_json().encode())
    import_id, removed = None, 0
    if not run.dry_run:
        if plan.to_import:  # the run's id for its import: a repeated plan step starts no second import
            import_id = services.imports.start(integration.org_id, integration.id,
                                               [(entry.repository, entry.tag) for entry in plan.to_import],
                                               source="sync", import_id=run.id)
        for entry in plan.to_remove:
            services.projects.delete(entry.project_id)
            services.findings.delete_project(entry.project_id)
            removed += 1
    services.sync_repository.update_run(integration.id, run.id, {
        "status": "completed", "finished_at": _iso(_now()), "tags": len(tags), "to_import": len(plan.to_import),
        "to_remove": len(plan.to_remove), "import_id": import_id, "removed": removed, "capped": bool(plan.left_out),
    }, expect_status="running")
    logger.info("sync completed", extra={"tags": len(tags), "to_import": len(plan.to_import),
                                         "to_remove": len(plan.to_remove), "dry_run": run.dry_run})


def _fail(services: Services, run: SyncRun, error: str) -> None:
    services.sync_repository.update_run(run.integration_id, run.id, {"status": "failed", "error": error,
                                                                      "finished_at": _iso(_now())},
                                        expect_status="running")
    logger.warning("sync failed", extra={"error": error})


# --- the scheduler -------------------------------------------------------------------------


def start_due_syncs(services: Services) -> int:
    """Start every sync whose policy is due; how many were started."""
    now = _now()
    started = 0
    for integration_id in services.sync_repository.due_policies(_iso(now)):
        policy = services.sync_repository.get_policy(integration_id)
        integration = services.integrations.by_id(integration_id)
        if policy is None or integration is None or not policy.enabled:
            if policy is not None:
                services.sync_repository.put_policy(integration_id, policy, None)
            continue
        # The next time first: a crash after this starts the sync at the next turn, never twice.
        services.sync_repository.put_policy(integration_id, policy,
                                            _iso(now + timedelta(hours=policy.frequency_hours)))
        begin_sync(services, integration, dry_run=False, trigger="schedule")
        started += 1
    logger.info("due syncs started", extra={"count": started})
    return started


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")
