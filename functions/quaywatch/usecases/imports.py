"""Importing images as projects: starting an import and processing one image of it."""

from __future__ import annotations

from quaywatch import metrics
from quaywatch.errors import UsageError
from quaywatch.integrations.catalog import visible_tags
from quaywatch.integrations.records import Integration
from quaywatch.observability import logger
from quaywatch.projects.imports import ImportMessage
from quaywatch.projects.models import ImportRequest
from quaywatch.runtime.services import Services
from quaywatch.tenancy.access import Principal
from quaywatch.usecases.baseimages import refresh_base_image
from quaywatch.usecases.failures import describe, is_transient

MAX_IMAGES = 2000


def start_import(services: Services, caller: Principal, request: ImportRequest) -> str:
    """Record the job and queue one message per image; a whole repository (no tag) is one
    message whose worker lists its tags (from the registry index once a sync has run) and
    adds them to the job, so the request answers at once however many it names."""
    integration = services.integrations.record(caller, request.integration_id)
    whole = [s.repository for s in request.images if s.tag is None]
    images = [(s.repository, s.tag) for s in request.images if s.tag is not None]
    if len(images) > MAX_IMAGES:
        raise UsageError(f"an import may hold at most {MAX_IMAGES} images; select fewer")
    return services.imports.start(caller.org_id, integration.id, images, created_by=caller.user_id,
                                  repositories=whole)


def _expand_repository(services: Services, message: ImportMessage, integration: Integration | None,
                       receive_count: int) -> None:
    """A whole repository of an import: its tags (the index's when a sync has completed and
    knows the repository, else the registry's) added to the job. A repository that cannot be
    listed is recorded as one failed entry under its name."""
    try:
        if integration is None or integration.org_id != message.org_id:
            raise UsageError("the integration was deleted")
        tags = _repository_tags(services, integration, message.repository)
        if not tags:
            raise UsageError(f"{message.repository} has no tags to import")
    except Exception as exc:
        if is_transient(exc) and receive_count < services.settings.max_receives:
            logger.warning("listing a repository's tags failed, will retry", extra={"error": describe(exc)})
            raise
        services.imports_repository.expand(message.import_id, message.repository, [message.repository])
        services.imports.complete(message, "failed", error=describe(exc))
        return
    services.imports.expand(message, tags[:MAX_IMAGES])
    logger.info("repository expanded", extra={"tags": len(tags)})


def _repository_tags(services: Services, integration: Integration, repository: str) -> list[str]:
    if services.sync_repository.latest_completed_run(integration.id) is not None:
        indexed = [tag.tag for tag in services.registry_index.tags(integration.id, repository)]
        if indexed:
            return indexed
    with services.integrations.client_for(integration, retry=services.registry_retry) as client:
        return visible_tags(client, repository)


def import_history(services: Services, caller: Principal, limit: int,
                   cursor: str | None) -> tuple[list[dict], str | None]:
    """The organisation's imports, newest first, a page at a time."""
    return services.imports.history(caller, limit, cursor)


def import_status(services: Services, caller: Principal, import_id: str) -> dict:
    return services.imports.status(caller, import_id)


def import_log(services: Services, caller: Principal, import_id: str) -> list[dict]:
    """Each image of the import: its status, when, its project or the reason it failed."""
    return services.imports.log(caller, import_id)


def process_import_message(services: Services, body: str, receive_count: int) -> None:
    """Test one image of an import and record its outcome exactly once.

    A permanent failure is recorded at once and the message is done; a transient one is
    raised so the queue delivers it again, and recorded first on the last allowed delivery.
    """
    message = ImportMessage.from_json(body)
    imports = services.imports
    logger.thread_safe_clear_keys()  # this thread's keys only: serve runs workers side by side
    logger.thread_safe_append_keys(import_id=message.import_id, image=message.image)
    if message.tag is None:  # a whole repository: its tags become images of the import (once)
        _expand_repository(services, message, services.integrations.by_id(message.integration_id), receive_count)
        return
    if not imports.is_pending(message):  # a redelivery of an image already recorded
        logger.info("image already recorded; redelivery ignored")
        return
    integration = services.integrations.by_id(message.integration_id)
    if integration is None or integration.org_id != message.org_id:
        imports.complete(message, "failed", error="the integration was deleted")
        return
    try:
        with metrics.timed("quaywatch_import_image_seconds"):
            outcome = services.tester.test_image(integration, message.repository, message.tag, message.imported_by)
    except Exception as exc:
        if not is_transient(exc):
            imports.complete(message, "failed", error=describe(exc))
            logger.info("image failed", extra={"error": describe(exc)})
            return
        if receive_count >= services.settings.max_receives:
            imports.complete(message, "failed", error=f"{describe(exc)} (gave up after {receive_count} attempts)")
            metrics.count("quaywatch_gave_up_total", queue="ImportQueue")
        logger.warning("import attempt failed, will retry", extra={"error": describe(exc), "receives": receive_count})
        raise
    note = "; ".join(f"{platform}: {reason}" for platform, reason in outcome.failed_platforms.items()) or None
    imports.complete(message, "succeeded", project_id=outcome.project_ids[0], project_ids=outcome.project_ids,
                     error=note)
    for project_id in outcome.project_ids:  # after completing: the base never holds up an import
        refresh_base_image(services, project_id)
