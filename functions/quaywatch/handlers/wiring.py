"""Builds the domain services from the settings template.yaml provides (one per process)."""

from __future__ import annotations

from quaywatch.integrations.secrets import SecretStore
from quaywatch.integrations.service import IntegrationService
from quaywatch.runtime import aws
from quaywatch.runtime.config import Settings
from quaywatch.tenancy.access import AccessStore


def settings() -> Settings:
    return Settings.from_environment()


def access() -> AccessStore:
    return AccessStore(aws.table(settings().access_table))


def integrations() -> IntegrationService:
    config = settings()
    return IntegrationService(
        aws.table(config.integrations_table),
        SecretStore(aws.client("secretsmanager"), config.secret_prefix),
        config.allow_private_registries,
    )
