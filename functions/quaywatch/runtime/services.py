"""What a composition root provides: the ports (chosen by the subclass: AWS or local) and
the domain services built on them, once per process.

Handlers and use cases ask ``quaywatch.handlers.wiring.services()`` for this object; the
Lambda root (``runtime/lambda_root.py``) and ``serve``'s root (``runtime/embedded/root.py``)
are the only places that pick adapters.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from quaywatch.ports import (
    AccessRepository,
    EventPublisher,
    FindingsRepository,
    ImportsRepository,
    IntegrationsRepository,
    Mailer,
    ObjectStore,
    ProjectsRepository,
    RegistryIndexRepository,
    SecretsVault,
    SyncRepository,
    WorkQueue,
)
from quaywatch.runtime.settings import RuntimeSettings

if TYPE_CHECKING:
    from quaywatch.advisories.published import PublishedAdvisoryStore
    from quaywatch.baseimages.service import BaseImages
    from quaywatch.integrations.service import IntegrationService
    from quaywatch.notifications.email.delivery import EmailNotifier
    from quaywatch.notifications.email.unsubscribe import UnsubscribeSigner
    from quaywatch.notifications.publisher import Notifier
    from quaywatch.projects.findings_store import FindingsStore
    from quaywatch.projects.imports import ImportStore
    from quaywatch.projects.store import ProjectStore
    from quaywatch.projects.testing import ProjectTester
    from quaywatch.registry.retry import RetryPolicy
    from quaywatch.tenancy.access import AccessStore
    from quaywatch.tenancy.members import MemberStore


class Services:
    """Subclasses set ``settings`` and provide the ports as attributes or properties."""

    settings: RuntimeSettings
    access_repository: AccessRepository
    integrations_repository: IntegrationsRepository
    projects_repository: ProjectsRepository
    imports_repository: ImportsRepository
    findings_repository: FindingsRepository
    registry_index: RegistryIndexRepository
    sync_repository: SyncRepository
    secrets_vault: SecretsVault
    import_queue: WorkQueue
    retest_queue: WorkQueue
    sync_queue: WorkQueue
    mail_queue: WorkQueue
    events: EventPublisher
    objects: ObjectStore
    mailer: Mailer | None = None  # none: no mail server set up (email channels are refused)

    @property
    def signing_key(self) -> bytes:
        """The deployment's secret for signed links (unsubscribe): each root says where it lives."""
        raise NotImplementedError

    @cached_property
    def members(self) -> MemberStore:
        from quaywatch.tenancy.members import MemberStore

        return MemberStore(self.access_repository)

    @cached_property
    def unsubscribe_signer(self) -> UnsubscribeSigner:
        from quaywatch.notifications.email.unsubscribe import UnsubscribeSigner

        return UnsubscribeSigner(self.signing_key)

    @cached_property
    def email(self) -> EmailNotifier | None:
        """Mail to members and email channels, for the workers; none without a mail server or
        a public URL (a mail's links, unsubscribe first, need one)."""
        return self.email_for(self.settings.public_url)

    def email_for(self, api_url: str | None) -> EmailNotifier | None:
        """Mail whose links go to ``api_url`` (an API function knows it from its request)."""
        from quaywatch.notifications.email.delivery import EmailNotifier, MailLinks
        from quaywatch.notifications.email.outbox import MailOutbox

        if self.mailer is None or not api_url:
            return None
        links = MailLinks(api_url, self.settings.console_url)
        return EmailNotifier(MailOutbox(self.mail_queue), self.mailer.sender, self.members, self.access.channels,
                             self.unsubscribe_signer, links)

    @cached_property
    def access(self) -> AccessStore:
        from quaywatch.tenancy.access import AccessStore

        return AccessStore(self.access_repository)

    @cached_property
    def integrations(self) -> IntegrationService:
        from quaywatch.integrations.secrets import SecretStore
        from quaywatch.integrations.service import IntegrationService

        return IntegrationService(self.integrations_repository, SecretStore(self.secrets_vault),
                                  self.settings.allow_private_registries)

    @cached_property
    def projects(self) -> ProjectStore:
        from quaywatch.projects.store import ProjectStore

        return ProjectStore(self.projects_repository)

    @cached_property
    def findings(self) -> FindingsStore:
        from quaywatch.projects.findings_store import FindingsStore

        return FindingsStore(self.findings_repository)

    @cached_property
    def imports(self) -> ImportStore:
        from quaywatch.projects.imports import ImportStore

        return ImportStore(self.imports_repository, self.import_queue)

    @cached_property
    def advisories(self) -> PublishedAdvisoryStore:
        from quaywatch.advisories.published import PublishedAdvisoryStore

        return PublishedAdvisoryStore(self.objects, self.settings.advisory_key, self.settings.work_dir)

    @cached_property
    def notifier(self) -> Notifier:
        from quaywatch.notifications.publisher import Notifier

        return Notifier(self.events, self.access.channels, allow_private=self.settings.allow_private_registries,
                        email=self.email)

    @cached_property
    def tester(self) -> ProjectTester:
        from quaywatch.projects.rules import rules_of
        from quaywatch.projects.testing import ProjectTester

        return ProjectTester(self.integrations, self.projects, self.findings, self.advisories, self.notifier,
                             self.settings.work_dir, retry=self.registry_retry,
                             rules=lambda org_id, project: rules_of(self.access.organisation(org_id) or {},
                                                                    project))

    @cached_property
    def base_images(self) -> BaseImages:
        from quaywatch.baseimages.service import BaseImages

        return BaseImages(self.integrations, self.advisories, self.objects, self.settings.work_dir,
                          retry=self.registry_retry, allow_private=self.settings.allow_private_registries)

    @cached_property
    def registry_retry(self) -> RetryPolicy:
        """How workers retry a registry inside one delivery; the queue's redelivery is the
        outer, slower retry."""
        from quaywatch.registry.retry import RetryPolicy

        return RetryPolicy.fast() if self.settings.fast_registry_retry else RetryPolicy()
