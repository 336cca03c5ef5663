"""Saving, testing, listing, updating and deleting integrations (admins only), and the
per-integration webhook token (random, stored hashed, compared in constant time)."""

from __future__ import annotations

import hmac
import secrets
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any

from quaywatch.errors import QuaywatchError
from quaywatch.integrations.connection import check_connection, registry_client
from quaywatch.integrations.models import IntegrationCreate, IntegrationUpdate, IntegrationView
from quaywatch.integrations.quay_api import QuayApi
from quaywatch.integrations.records import Integration
from quaywatch.integrations.secrets import RegistrySecret, SecretStore
from quaywatch.observability import logger
from quaywatch.ports import IntegrationsRepository
from quaywatch.registry.client import RegistryClient
from quaywatch.registry.retry import RetryPolicy
from quaywatch.tenancy.access import Principal, hash_token


class IntegrationNotFound(QuaywatchError):
    """No such integration in the caller's organisation."""


class IntegrationService:
    def __init__(self, repository: IntegrationsRepository, secrets_store: SecretStore, allow_private: bool) -> None:
        self._repository = repository
        self._secrets = secrets_store
        self._allow_private = allow_private

    # --- admin operations ----------------------------------------------------------------

    def create(self, principal: Principal, request: IntegrationCreate, api_base_url: str) -> IntegrationView:
        principal.require_admin()
        secret = RegistrySecret(
            request.token.get_secret_value(),
            request.oauth_token.get_secret_value() if request.oauth_token else None,
            request.ca_bundle,
        )
        report = check_connection(request.url, request.username, secret, self._allow_private)
        integration_id = uuid.uuid4().hex
        webhook_token = secrets.token_urlsafe(32)
        arn = self._secrets.create(integration_id, secret)
        item = Integration(
            id=integration_id, org_id=principal.org_id, url=request.url.rstrip("/"), username=request.username,
            secret_arn=arn, status="connected", repository_count=report.repository_count,
            auto_import=request.auto_import, webhook_token_hash=hash_token(webhook_token), created_at=_now(),
            last_tested_at=_now(),
        )
        try:
            self._repository.create(item)
        except Exception:
            self._secrets.delete(arn)  # nothing half-written
            raise
        logger.info("integration saved", extra={"integration_id": integration_id, "org_id": principal.org_id,
                                                 "repository_count": report.repository_count})
        return _view(item, webhook_url=_webhook_url(api_base_url, integration_id, webhook_token))

    def update(self, principal: Principal, integration_id: str, request: IntegrationUpdate) -> IntegrationView:
        principal.require_admin()
        item = self._get(principal, integration_id)
        changes: dict[str, Any] = {}
        if request.auto_import is not None:
            changes["auto_import"] = request.auto_import
        if request.username is not None or request.token is not None or request.oauth_token is not None:
            current = self._secrets.read(item.secret_arn)
            secret = RegistrySecret(
                request.token.get_secret_value() if request.token else current.token,
                request.oauth_token.get_secret_value() if request.oauth_token else current.oauth_token,
                current.ca_bundle,
            )
            username = request.username or item.username
            report = check_connection(item.url, username, secret, self._allow_private)
            self._secrets.update(item.secret_arn, secret)
            changes |= {"username": username, "status": "connected", "repository_count": report.repository_count,
                        "last_tested_at": _now()}
        if changes:
            item = item.changed(**changes)
            self._repository.put(item)
        return _view(item)

    def delete(self, principal: Principal, integration_id: str) -> None:
        principal.require_admin()
        item = self._get(principal, integration_id)
        self._repository.delete(integration_id)
        self._secrets.delete(item.secret_arn)
        logger.info("integration deleted", extra={"integration_id": integration_id, "org_id": principal.org_id})

    def test(self, principal: Principal, integration_id: str) -> IntegrationView:
        """Re-test a saved integration; a failure is recorded on it and raised."""
        principal.require_admin()
        item = self._get(principal, integration_id)
        secret = self._secrets.read(item.secret_arn)
        try:
            report = check_connection(item.url, item.username, secret, self._allow_private)
        except Exception:
            self._repository.put(item.changed(status="error", last_tested_at=_now()))
            raise
        item = item.changed(status="connected", repository_count=report.repository_count, last_tested_at=_now())
        self._repository.put(item)
        return _view(item)

    def rotate_webhook(self, principal: Principal, integration_id: str, api_base_url: str) -> IntegrationView:
        principal.require_admin()
        item = self._get(principal, integration_id)
        token = secrets.token_urlsafe(32)
        item = item.changed(webhook_token_hash=hash_token(token))
        self._repository.put(item)
        return _view(item, webhook_url=_webhook_url(api_base_url, integration_id, token))

    # --- reads -----------------------------------------------------------------------------

    def list(self, principal: Principal) -> list[IntegrationView]:
        principal.require_admin()
        return [_view(item) for item in self._repository.list_by_org(principal.org_id)]

    def get(self, principal: Principal, integration_id: str) -> IntegrationView:
        principal.require_admin()
        return _view(self._get(principal, integration_id))

    def record(self, principal: Principal, integration_id: str) -> Integration:
        """The stored integration for members' operations (listing images, importing)."""
        return self._get(principal, integration_id)

    def by_id(self, integration_id: str) -> Integration | None:
        """For workers, which act on behalf of the organisation stored in the message."""
        return self._repository.get(integration_id)

    def verify_webhook(self, integration_id: str, token: str) -> Integration | None:
        item = self.by_id(integration_id)
        expected = item.webhook_token_hash if item else hash_token(secrets.token_hex(8))
        matches = hmac.compare_digest(expected, hash_token(token))  # constant time, also for unknown ids
        return item if item is not None and matches else None

    def client_for(self, item: Integration, retry: RetryPolicy | None = None) -> AbstractContextManager[RegistryClient]:
        secret = self._secrets.read(item.secret_arn)
        return registry_client(item.url, item.username, secret, self._allow_private, retry=retry)

    @contextmanager
    def registry_access(self, item: Integration,
                        retry: RetryPolicy | None = None) -> Iterator[tuple[RegistryClient, QuayApi | None]]:
        """The registry client and, when the integration has an OAuth token, the Quay REST API
        (digests and push times in one listing), from one read of the secret."""
        secret = self._secrets.read(item.secret_arn)
        quay_api = QuayApi(item.url, secret.oauth_token, self._allow_private) if secret.oauth_token else None
        try:
            with registry_client(item.url, item.username, secret, self._allow_private, retry=retry) as client:
                yield client, quay_api
        finally:
            if quay_api is not None:
                quay_api.close()

    def _get(self, principal: Principal, integration_id: str) -> Integration:
        item = self.by_id(integration_id)
        if item is None or item.org_id != principal.org_id:
            raise IntegrationNotFound(f"no integration {integration_id}")
        return item


def _view(item: Integration, webhook_url: str | None = None) -> IntegrationView:
    return IntegrationView(
        id=item.id, status=item.status, url=item.url, username=item.username, repository_count=item.repository_count,
        auto_import=item.auto_import, created_at=item.created_at, last_tested_at=item.last_tested_at,
        webhook_url=webhook_url,
    )


def _webhook_url(api_base_url: str, integration_id: str, token: str) -> str:
    return f"{api_base_url.rstrip('/')}/webhooks/quay/{integration_id}/{token}"


def _now() -> str:
    """Milliseconds: integrations list oldest first, also two saved within one second."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")
