"""The integrations API's use cases: connect a Quay registry (the connection tested first),
list, read, change, test again, rotate its webhook URL, remove; and browse its images."""

from __future__ import annotations

from quaywatch.errors import UsageError
from quaywatch.integrations.catalog import PAGE_SIZE, ImagesPage, RepositoryView, list_images_page
from quaywatch.integrations.models import IntegrationCreate, IntegrationUpdate, IntegrationView
from quaywatch.registrysync.records import IndexedTag
from quaywatch.runtime.services import Services
from quaywatch.tenancy.access import Principal


def create_integration(services: Services, caller: Principal, request: IntegrationCreate,
                       api_base_url: str) -> IntegrationView:
    """Test the connection, store the robot's token encrypted, hand out the webhook URL once."""
    return services.integrations.create(caller, request, api_base_url)


def list_integrations(services: Services, caller: Principal) -> list[IntegrationView]:
    return services.integrations.list(caller)


def get_integration(services: Services, caller: Principal, integration_id: str) -> IntegrationView:
    return services.integrations.get(caller, integration_id)


def update_integration(services: Services, caller: Principal, integration_id: str,
                       request: IntegrationUpdate) -> IntegrationView:
    return services.integrations.update(caller, integration_id, request)


def delete_integration(services: Services, caller: Principal, integration_id: str) -> None:
    services.integrations.delete(caller, integration_id)
    services.registry_index.delete_integration(integration_id)


def recheck_integration(services: Services, caller: Principal, integration_id: str) -> IntegrationView:
    """Test the stored connection again (``POST /integrations/{id}/test``): its status follows."""
    return services.integrations.test(caller, integration_id)


def rotate_webhook(services: Services, caller: Principal, integration_id: str, api_base_url: str) -> IntegrationView:
    return services.integrations.rotate_webhook(caller, integration_id, api_base_url)


def browse_images(services: Services, caller: Principal, integration_id: str, search: str | None,
                  cursor: str | None) -> ImagesPage:
    """One page of an integration's repositories with their tags, for a member: from the
    registry index once a sync has completed (no registry request), else browsed live."""
    integration = services.integrations.record(caller, integration_id)
    synced = services.sync_repository.latest_completed_run(integration.id)
    if synced is None:
        return list_images_page(services.integrations, caller, integration_id, search, cursor)
    index = services.registry_index
    try:
        repositories, next_cursor = index.repositories(integration.id, search.strip() if search else None, PAGE_SIZE,
                                                       cursor)
    except ValueError:
        raise UsageError("invalid cursor (or one from before the first sync); start again without it") from None
    views = [RepositoryView(repository.name, [_tag_view(tag) for tag in index.tags(integration.id, repository.name)])
             for repository in repositories]
    return ImagesPage(views, next_cursor, synced_at=synced.finished_at)


def _tag_view(tag: IndexedTag) -> dict[str, str]:
    view = {"name": tag.tag, "digest": tag.digest}
    if tag.created:
        view["created"] = tag.created
    return view
