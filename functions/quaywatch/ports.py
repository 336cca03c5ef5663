"""The ports: what the domain needs from storage, queues, secrets and events, owned by the
domain and implemented twice (``adapters/aws``: DynamoDB, SQS, Secrets Manager, S3,
EventBridge + SNS; ``adapters/local``: one SQLite database and files, for ``quaywatch serve``).

Integrations, projects and imports cross these ports as typed records (``Integration``,
``Project``, ``ImportJob`` ...), which each adapter turns into its storage form and back;
organisations, tokens and history entries as plain
dictionaries of JSON-compatible values (the DynamoDB adapter turns its Decimals back into int
or float before anything leaves it). Each method says what must hold atomically; the contract
tests in ``tests/contract`` prove both adapters keep it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

from quaywatch.errors import QuaywatchError
from quaywatch.integrations.records import Integration
from quaywatch.projects.records import ImageOutcome, ImportedImage, ImportJob, Project
from quaywatch.registrysync.records import IndexedRepository, IndexedTag, SyncPolicy, SyncRun

Record = dict[str, Any]


class AlreadyExists(QuaywatchError):
    """A create-only write found the key taken."""


class SecretNotFound(QuaywatchError):
    """The vault has no secret under that reference."""


class ObjectNotFound(QuaywatchError):
    """The object store has nothing under that key."""


class ObjectChanged(QuaywatchError):
    """The object was replaced between looking at it and reading it (retry later)."""


class StorageUnavailable(QuaywatchError):
    """A store could not be reached (network, throttling): transient, retried by the queue."""


# --- repositories -------------------------------------------------------------------------


class AccessRepository(Protocol):
    """Organisations and hashed API tokens (the raw token is never stored)."""

    def put_organisation(self, org_id: str, record: Record) -> None: ...
    def get_organisation(self, org_id: str) -> Record | None: ...
    def set_channels(self, org_id: str, channels: list[Record]) -> None: ...
    def put_token(self, token_hash: str, record: Record) -> None: ...
    def get_token(self, token_hash: str) -> Record | None: ...
    def get_member(self, org_id: str, user_id: str) -> Record | None: ...
    def update_member(self, org_id: str, user_id: str, changes: Mapping[str, Any]) -> None:
        """Set these fields of the member's record (created when absent), leaving the others."""

    def members(self, org_id: str) -> Iterator[Record]:
        """The organisation's member records (read page by page)."""

    def organisation_ids(self) -> Iterator[str]: ...


class IntegrationsRepository(Protocol):
    def create(self, record: Integration) -> None:
        """Store a new integration; AlreadyExists if its ``id`` is taken."""

    def put(self, record: Integration) -> None: ...
    def get(self, integration_id: str) -> Integration | None: ...
    def list_by_org(self, org_id: str) -> list[Integration]:
        """The organisation's integrations, oldest first."""

    def delete(self, integration_id: str) -> None: ...


class ProjectsRepository(Protocol):
    """One record per project. ``next_test_at`` (ISO time, or absent) says when the next
    scheduled test of a ``test_frequency`` is due."""

    def get(self, project_id: str) -> Project | None: ...
    def put(self, record: Project) -> None:
        """The whole record, over any stored one (imports of old data; tests record through
        ``FindingsRepository.save_test``)."""

    def update(self, project_id: str, changes: Mapping[str, Any], expect: Mapping[str, Any] | None = None) -> bool:
        """Set the fields of ``changes`` (field name -> value as typed on ``Project``; None
        removes the field) on an existing project, leaving every other field as stored: two
        writers of different fields (a test being recorded, an ignore being added) never undo
        each other. ``expect``: apply only if each named field holds exactly that value now
        (None: absent), for read-modify-write of one field. A change of ``next_test_at`` comes
        with ``test_frequency``. False (and nothing written) when the project is gone or an
        expectation does not hold. ``UnknownField`` for a name that is no field."""

    def delete(self, project_id: str) -> None: ...
    def mark_viewed(self, project_id: str) -> None: ...
    def list_by_org(self, org_id: str, repository: str | None = None,
                    integration_id: str | None = None) -> list[Project]:
        """Sorted by repository, tag, platform; ``repository`` matches exactly."""

    def page_by_org(self, org_id: str, limit: int, cursor: str | None = None, repository: str | None = None,
                    integration_id: str | None = None) -> tuple[list[Project], str | None]:
        """``limit`` of the organisation's projects in ``list_by_org``'s order, from the
        cursor (opaque, from the previous page); the cursor of the next page, None at the end.
        ValueError for a cursor this adapter did not make."""

    def due(self, frequency: str, until: str) -> list[str]:
        """Ids of the projects of that frequency whose ``next_test_at`` <= ``until``."""

    def project_ids_by_org(self, org_id: str) -> list[str]:
        """The ids of the organisation's projects (without reading the records)."""

    def tags_of(self, integration_id: str, repository: str) -> list[tuple[str, str]]:
        """(tag, project id) of the repository's projects, by tag."""


class ImportsRepository(Protocol):
    """Import jobs with exactly-once progress counters."""

    def create(self, job: ImportJob, images: list[str], repositories: list[str] | None = None) -> None:
        """The job with every image ``pending``, its counters at zero, and ``repositories``
        (whole ones, their tags to be added by ``expand``) counted in ``expanding``;
        AlreadyExists (and nothing written) when the import id is taken."""

    def expand(self, import_id: str, repository: str, images: list[str]) -> bool:
        """Once per repository of the job: add ``images`` (``repository:tag``) pending and to
        ``total``, and take the repository off ``expanding``. False (nothing counted) when
        it was done already; images already there are left as they are."""

    def complete(self, import_id: str, image: str, outcome: ImageOutcome) -> bool:
        """Atomically: if the image is still pending, write its ``outcome`` and add one to the
        job's counter of that status. False (and nothing written) otherwise."""

    def image_status(self, import_id: str, image: str) -> str | None: ...
    def get_job(self, import_id: str) -> ImportJob | None: ...
    def images(self, import_id: str) -> list[ImportedImage]:
        """Every image of the job, by image name."""

    def list_by_org(self, org_id: str, limit: int, cursor: str | None = None) -> tuple[list[ImportJob], str | None]:
        """The organisation's jobs, newest first, ``limit`` at a time; the cursor (opaque, from
        the previous page) continues. ValueError for a cursor this adapter did not make."""

    def claim_push(self, integration_id: str, image: str, import_id: str, now: float, hold_seconds: int) -> str:
        """Atomically: unless another import holds ``image`` of this integration (its claim not
        yet expired), record ``import_id`` as the holder until ``now + hold_seconds``. Returns
        the holder: ``import_id`` when this call won."""

    def release_push(self, integration_id: str, image: str, import_id: str) -> None:
        """Give a claim back (only if ``import_id`` still holds it)."""

    def count_push(self, integration_id: str, window_start: int) -> int:
        """Atomically count one more notification in this window; returns the count so far."""


@dataclass
class StoredTest:
    """A project's latest test as stored: the encoded inventory and findings."""

    tested_at: str
    digest: str
    inventory: bytes
    findings: bytes
    keys: list[str]
    packages: list[str]


@dataclass(frozen=True)
class ProjectWrite:
    """What recording a test writes to its project: ``create`` the record (its first test;
    only while no record has its id) or apply ``changes`` to the stored one (as
    ``ProjectsRepository.update``: only if it exists and each ``expect`` field holds)."""

    project_id: str
    create: Project | None = None
    changes: Mapping[str, Any] = field(default_factory=dict)
    expect: Mapping[str, Any] = field(default_factory=dict)


class FindingsRepository(Protocol):
    def get_latest(self, project_id: str) -> StoredTest | None: ...
    def save_test(self, project_id: str, test: StoredTest, history: Record,
                  project: ProjectWrite | None = None) -> bool:
        """In one transaction: the ``project`` write, the latest test replaced and a history
        entry added; False and nothing written when the project write's condition fails
        (the caller reads the project again and retries). Then the package index (package ->
        projects) follows ``test.packages``: in the same transaction where the store allows,
        else right after, resumed by the next test of the project if interrupted."""

    def history(self, project_id: str) -> list[Record]: ...
    def claim_notification(self, project_id: str, fingerprint: str) -> bool:
        """True the first time only (a create-only write): the caller may notify."""

    def release_notification(self, project_id: str, fingerprint: str) -> None: ...
    def projects_with(self, packages: list[str]) -> set[str]: ...
    def delete_project(self, project_id: str) -> None: ...


class RegistryIndexRepository(Protocol):
    """Per integration, what the last syncs saw of the registry: repositories, their tags
    and digests (and, when known, each image's creation time)."""

    def put_repository(self, integration_id: str, repository: IndexedRepository, tags: list[IndexedTag]) -> None:
        """The repository's summary and exactly these tags (tags no longer listed go)."""

    def delete_repository(self, integration_id: str, repository: str) -> None: ...
    def repositories(self, integration_id: str, search: str | None, limit: int,
                     cursor: str | None = None) -> tuple[list[IndexedRepository], str | None]:
        """By name; ``search``: a case-insensitive substring of the name. ValueError for a
        cursor this adapter did not make."""

    def repository_names(self, integration_id: str) -> list[str]: ...
    def tags(self, integration_id: str, repository: str) -> list[IndexedTag]:
        """By tag name."""

    def all_tags(self, integration_id: str) -> Iterator[IndexedTag]:
        """Every tag of every repository (the planner's input), repository by repository."""

    def decline(self, integration_id: str, repository: str, tag: str) -> None:
        """A user deleted the project a sync had imported for this tag: syncs leave it alone."""

    def declined(self, integration_id: str) -> set[tuple[str, str]]: ...
    def delete_integration(self, integration_id: str) -> None:
        """The index, the policy and the runs of a deleted integration."""


class SyncRepository(Protocol):
    """Sync policies and runs. A run counts its repositories exactly once each (as an import
    counts its images) so that the last one in starts the plan."""

    def get_policy(self, integration_id: str) -> SyncPolicy | None: ...
    def put_policy(self, integration_id: str, policy: SyncPolicy, next_sync_at: str | None) -> None:
        """``next_sync_at``: when a scheduled sync is due (None: never, the policy is off)."""

    def due_policies(self, until: str) -> list[str]:
        """Integration ids whose ``next_sync_at`` <= ``until``."""

    def create_run(self, run: SyncRun) -> None:
        """The run becomes the integration's latest."""

    def add_repositories(self, integration_id: str, run_id: str, repositories: list[str]) -> None:
        """The repositories this run waits for (pending); may be called in several parts
        before ``listed`` is set on the run."""

    def complete_repository(self, integration_id: str, run_id: str, repository: str, throttled: int = 0) -> int | None:
        """Atomically: if the repository is still pending for this run, mark it done, add one
        to ``repositories_done`` and ``throttled`` to the run's count; the new done count.
        None (nothing written) when it was not pending."""

    def get_run(self, integration_id: str, run_id: str) -> SyncRun | None: ...
    def latest_run(self, integration_id: str) -> SyncRun | None: ...
    def latest_completed_run(self, integration_id: str) -> SyncRun | None:
        """The newest run that completed (the index is whole as of its end)."""
    def update_run(self, integration_id: str, run_id: str, changes: Mapping[str, Any],
                   expect_status: str | None = None) -> bool:
        """Set these fields of the run, only if its status is ``expect_status`` (when given)."""


# --- queues, secrets, events, objects -----------------------------------------------------


@dataclass(frozen=True)
class QueueMessage:
    id: str
    body: str
    receive_count: int
    receipt: str
    sent_at: float = 0.0


class WorkQueue(Protocol):
    """At-least-once delivery with SQS's semantics: a received message is invisible for the
    visibility timeout, then delivered again unless acknowledged; after ``max_receives``
    deliveries it moves to the dead-letter queue instead."""

    def send(self, body: str) -> None: ...
    def send_many(self, bodies: list[str]) -> None: ...
    def receive(self, max_messages: int, visibility_timeout: int, wait_seconds: float = 0) -> list[QueueMessage]: ...
    def ack(self, message: QueueMessage) -> None: ...
    def retry_later(self, message: QueueMessage, delay_seconds: int) -> None: ...
    def depth(self) -> int:
        """Messages waiting or in flight (approximate on SQS)."""

    def dead_letters(self) -> list[str]:
        """Bodies in the dead-letter queue (for inspection; not consumed)."""


class SecretsVault(Protocol):
    def create(self, name: str, value: Record) -> str:
        """Store a new secret; returns the reference to keep (an ARN on AWS)."""

    def update(self, reference: str, value: Record) -> None: ...
    def read(self, reference: str) -> Record:
        """SecretNotFound when there is none."""

    def delete(self, reference: str) -> None: ...


@dataclass(frozen=True)
class DomainEvent:
    """An event for the bus (``detail_type``, ``detail``) with a human summary for the topic."""

    detail_type: str
    detail: Record
    summary: str
    org_id: str


class EventPublisher(Protocol):
    def publish(self, event: DomainEvent) -> None: ...


class ObjectStore(Protocol):
    """Whole objects by key with an opaque version tag (an ETag on S3)."""

    def put_file(self, key: str, source: Path) -> str: ...
    def head(self, key: str) -> str | None:
        """The object's version tag, None when absent."""

    def download(self, key: str, target: Path, version: str) -> None:
        """Write the object to ``target``; ObjectChanged if it is no longer ``version``."""

    def get_bytes(self, key: str) -> bytes | None: ...
    def put_bytes(self, key: str, data: bytes) -> None: ...


class MailFailed(QuaywatchError):
    """The mail server could not be reached, refused our login or refused every message;
    ``permanent`` when it refused them for good (5xx for every recipient: do not retry)."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Mailer(Protocol):
    """Sends email: SMTP for ``serve``, Amazon SES when deployed. ``sender`` is the From
    address the deployment was given."""

    sender: str

    def send(self, messages: Sequence[EmailMessage]) -> int:
        """Deliver each message to its ``To``; how many were accepted. A message one
        recipient refuses is logged and skipped; ``MailFailed`` when none could go."""
