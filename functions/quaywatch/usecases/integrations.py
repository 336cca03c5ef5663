"""The integrations API's use cases: connect a Quay registry (the connection tested first),
list, read, change, test again, rotate its webhook URL, remove; and browse its images."""

from __future__ import annotations

from quaywatch.integrations.catalog import ImagesPage, list_images_page
from quaywatch.integrations.models import IntegrationCreate, IntegrationUpdate, IntegrationView
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


def recheck_integration(services: Services, caller: Principal, integration_id: str) -> IntegrationView:
    """Test the stored connection again (``POST /integrations/{id}/test``): its status follows."""
    return services.integrations.test(caller, integration_id)


def rotate_webhook(services: Services, caller: Principal, integration_id: str, api_base_url: str) -> IntegrationView:
    return services.integrations.rotate_webhook(caller, integration_id, api_base_url)


def browse_images(services: Services, caller: Principal, integration_id: str, search: str | None,
                  cursor: str | None) -> ImagesPage:
    """One page of an integration's repositories with their tags, for a member."""
    return list_images_page(services.integrations, caller, integration_id, search, cursor)
