"""The composition root of the deployed functions: the AWS adapters, each built the first
time a handler needs it (so a function reads only the variables of the resources it uses)
and kept for the life of the Lambda container."""

from __future__ import annotations

from functools import cached_property

from quaywatch.adapters.aws import clients
from quaywatch.adapters.aws.dynamodb import (
    DynamoAccessRepository,
    DynamoFindingsRepository,
    DynamoImportsRepository,
    DynamoIntegrationsRepository,
    DynamoProjectsRepository,
)
from quaywatch.adapters.aws.events import EventBridgeSnsPublisher
from quaywatch.adapters.aws.registry_index import DynamoRegistryIndex
from quaywatch.adapters.aws.s3 import S3ObjectStore
from quaywatch.adapters.aws.secrets import SecretsManagerVault
from quaywatch.adapters.aws.ses import SesMailer
from quaywatch.adapters.aws.sqs import SqsWorkQueue
from quaywatch.runtime.services import Services
from quaywatch.runtime.settings import RuntimeSettings, required


class AwsServices(Services):
    def __init__(self, settings: RuntimeSettings | None = None) -> None:
        self.settings = settings or RuntimeSettings.from_environment()

    @cached_property
    def access_repository(self) -> DynamoAccessRepository:
        return DynamoAccessRepository(clients.table(required("QUAYWATCH_ACCESS_TABLE")))

    @cached_property
    def integrations_repository(self) -> DynamoIntegrationsRepository:
        return DynamoIntegrationsRepository(clients.table(required("QUAYWATCH_INTEGRATIONS_TABLE")))

    @cached_property
    def projects_repository(self) -> DynamoProjectsRepository:
        return DynamoProjectsRepository(clients.table(required("QUAYWATCH_PROJECTS_TABLE")))

    @cached_property
    def imports_repository(self) -> DynamoImportsRepository:
        return DynamoImportsRepository(clients.table(required("QUAYWATCH_IMPORTS_TABLE")), clients.client("dynamodb"))

    @cached_property
    def findings_repository(self) -> DynamoFindingsRepository:
        return DynamoFindingsRepository(clients.table(required("QUAYWATCH_FINDINGS_TABLE")),
                                        clients.table(required("QUAYWATCH_PROJECTS_TABLE")))

    @cached_property
    def registry_index(self) -> DynamoRegistryIndex:
        return DynamoRegistryIndex(clients.table(required("QUAYWATCH_REGISTRY_TABLE")))

    @cached_property
    def sync_repository(self) -> DynamoRegistryIndex:
        return self.registry_index  # one table holds the index, the policies and the runs

    @cached_property
    def secrets_vault(self) -> SecretsManagerVault:
        import os

        return SecretsManagerVault(clients.client("secretsmanager"),
                                   os.environ.get("QUAYWATCH_SECRET_PREFIX", "quaywatch/integrations/"))

    @cached_property
    def import_queue(self) -> SqsWorkQueue:
        return SqsWorkQueue(clients.client("sqs"), required("QUAYWATCH_IMPORT_QUEUE_URL"))

    @cached_property
    def retest_queue(self) -> SqsWorkQueue:
        return SqsWorkQueue(clients.client("sqs"), required("QUAYWATCH_RETEST_QUEUE_URL"))

    @cached_property
    def sync_queue(self) -> SqsWorkQueue:
        return SqsWorkQueue(clients.client("sqs"), required("QUAYWATCH_SYNC_QUEUE_URL"))

    @cached_property
    def mail_queue(self) -> SqsWorkQueue:
        return SqsWorkQueue(clients.client("sqs"), required("QUAYWATCH_MAIL_QUEUE_URL"))

    @cached_property
    def events(self) -> EventBridgeSnsPublisher:
        return EventBridgeSnsPublisher(clients.client("events"), required("QUAYWATCH_EVENT_BUS"),
                                       clients.client("sns"), required("QUAYWATCH_NOTIFICATION_TOPIC"))

    @cached_property
    def mailer(self) -> SesMailer | None:  # type: ignore[override]
        """SES when the stack was given a sender (the EmailSender parameter)."""
        if not self.settings.mail_from:
            return None
        return SesMailer(clients.client("sesv2"), self.settings.mail_from)

    @cached_property
    def signing_key(self) -> bytes:  # type: ignore[override]
        """The stack's generated secret (SigningKeySecret), read once per container."""
        response = clients.client("secretsmanager").get_secret_value(SecretId=required("QUAYWATCH_SIGNING_SECRET"))
        return response["SecretString"].encode()

    @cached_property
    def objects(self) -> S3ObjectStore:
        return S3ObjectStore(clients.client("s3"), required("QUAYWATCH_ADVISORY_BUCKET"))
