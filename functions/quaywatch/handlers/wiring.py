"""Builds the domain services from the settings template.yaml provides (one per process)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from quaywatch.integrations.secrets import SecretStore
from quaywatch.integrations.service import IntegrationService
from quaywatch.runtime import aws
from quaywatch.runtime.config import Settings
from quaywatch.tenancy.access import AccessStore

if TYPE_CHECKING:
    from quaywatch.advisories.s3_store import S3StoreCache
    from quaywatch.notifications.publisher import Notifier
    from quaywatch.projects.findings_store import FindingsStore
    from quaywatch.projects.imports import ImportStore
    from quaywatch.projects.store import ProjectStore
    from quaywatch.projects.testing import ProjectTester
    from quaywatch.registry.retry import RetryPolicy


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


def projects() -> ProjectStore:
    from quaywatch.projects.store import ProjectStore

    return ProjectStore(aws.table(settings().projects_table))


def findings() -> FindingsStore:
    from quaywatch.projects.findings_store import FindingsStore

    return FindingsStore(aws.table(settings().findings_table))


def imports() -> ImportStore:
    from quaywatch.projects.imports import ImportStore

    config = settings()
    return ImportStore(aws.table(config.imports_table), aws.client("dynamodb"), aws.client("sqs"),
                       config.import_queue_url)


def advisory_cache() -> S3StoreCache:
    from pathlib import Path

    from quaywatch.advisories.s3_store import S3StoreCache

    config = settings()
    return S3StoreCache(aws.client("s3"), config.advisory_bucket, config.advisory_key, Path(config.work_dir))


def notifier() -> Notifier:
    from quaywatch.notifications.publisher import Notifier

    config = settings()

    def channels(org_id: str) -> list[dict[str, str]]:
        organisation = access().organisation(org_id) or {}
        return list(organisation.get("channels", []))

    return Notifier(aws.client("events"), config.event_bus, aws.client("sns"), config.notification_topic, channels,
                    allow_private=config.allow_private_registries)


def tester() -> ProjectTester:
    from pathlib import Path

    from quaywatch.projects.testing import ProjectTester

    return ProjectTester(integrations(), projects(), findings(), advisory_cache(), notifier(),
                         Path(settings().work_dir), retry=registry_retry())


def registry_retry() -> RetryPolicy:
    """How workers retry a registry inside one delivery. ``QUAYWATCH_REGISTRY_RETRY=fast`` (tests,
    loopback registries) keeps waits short; SQS redelivery is the outer, slower retry."""
    import os

    from quaywatch.registry.retry import RetryPolicy

    return RetryPolicy.fast() if os.environ.get("QUAYWATCH_REGISTRY_RETRY") == "fast" else RetryPolicy()


def retest_queue() -> object:
    return aws.client("sqs")
