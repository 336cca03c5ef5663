"""A project as stored: the typed record ``ProjectsRepository`` takes and returns, and the
field changes it applies.

Changes are written field by field (``ProjectsRepository.update``): a test writes what a test
decides, an ignore its list, a Dockerfile link its document, and none undoes another. Values
cross the port typed; ``stored_fields`` turns them into the JSON form both adapters keep, so
the two cannot disagree on it."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from quaywatch.matching.ignores import RecordedIgnore
from quaywatch.outcome import IssueCounts, stored_counts

Frequency = Literal["never", "daily", "weekly"]
ImportedBy = Literal["manual", "webhook", "sync"]
TRIGGERS: dict[str, ImportedBy] = {"api": "manual", "webhook": "webhook", "sync": "sync"}  # an import's source -> trigger


class LinkedDockerfile(BaseModel):
    """A Dockerfile a member linked to the project, and the base image its last stage names."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    content: str
    base: str
    from_line: int | None = None
    linked_by: str | None = None
    linked_at: str | None = None


class LastTest(BaseModel):
    """How the project's last test went: ``failed`` from its first failed attempt (the queue
    may still retry it), with the reason in words."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    status: Literal["succeeded", "failed"]
    at: str
    error: str | None = None


class Project(BaseModel):
    """One monitored image (one platform of it) and what its latest test found, in counts."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    org_id: str
    integration_id: str
    repository: str
    tag: str
    platform: str
    origin: str = "quay"
    imported_by: ImportedBy = "manual"  # what created it: a sync removes only its own projects
    created_at: str | None = None
    # what the latest test decided
    digest: str | None = None
    os: str | None = None
    package_count: int = 0
    finding_count: int = 0
    issue_counts: dict[str, int] = Field(default_factory=dict)
    ignored_count: int = 0
    fixable_count: int = 0
    counts_valid_until: str | None = None  # ISO day after which an ignore behind the counts lapses
    last_tested_at: str | None = None  # of the last test that succeeded
    last_test: LastTest | None = None  # the last test, succeeded or failed
    failed_tests: int = 0  # failed attempts since the last test that succeeded
    # settings, each written by its own route
    test_frequency: Frequency = "daily"
    next_test_at: str | None = None  # absent: not scheduled
    active: bool = True
    is_new: bool = True
    ignores: list[RecordedIgnore] = Field(default_factory=list)
    dockerfile: LinkedDockerfile | None = None
    base_image: dict[str, Any] | None = None  # the report baseimages.service computes, as it is

    @property
    def counts(self) -> IssueCounts:
        return stored_counts(self.model_dump(include={"issue_counts", "finding_count", "ignored_count",
                                                      "fixable_count"}))

    def changed(self, changes: Mapping[str, Any]) -> Project:
        """The record with ``changes`` applied as ``ProjectsRepository.update`` applies them
        (None removes a field, which then takes its default)."""
        stored = {**self.as_stored(), **stored_fields(changes)}
        return Project.from_stored({name: value for name, value in stored.items() if value is not None})

    def as_stored(self) -> dict[str, Any]:
        """JSON-compatible values, absent top-level fields left out. Nested documents keep
        their nulls: a value read back, encoded again, is what is stored (``expect`` compares)."""
        return {name: value for name, value in self.model_dump(mode="json").items() if value is not None}

    @classmethod
    def from_stored(cls, item: Mapping[str, Any]) -> Project:
        return cls.model_validate(item)


class UnknownField(ValueError):
    """A change names something that is not a field of the record."""


def stored_fields(changes: Mapping[str, Any]) -> dict[str, Any]:
    """``changes`` (field name -> typed value, None to remove) with each value validated as
    its field and put in its stored JSON form. UnknownField for a name that is no field."""
    return {name: None if value is None else _field(name).dump_python(_field(name).validate_python(value),
                                                                       mode="json")
            for name, value in changes.items()}


def absent_means(name: str, stored: Any) -> bool:
    """Whether a stored value is what an absent field reads as (its default): a condition that
    expects it must accept the field's absence too. A list emptied by its last removal is
    stored as no field, and records older than a field lack it."""
    field = Project.model_fields.get(name)
    if field is None or field.is_required():
        return False
    default = field.get_default(call_default_factory=True)
    return stored == (_field(name).dump_python(default, mode="json") if default is not None else None)


@cache
def _field(name: str) -> TypeAdapter[Any]:
    if name == "id" or name not in Project.model_fields:
        raise UnknownField(f"a project has no field {name!r} to change")
    return TypeAdapter(Project.model_fields[name].annotation)


class ImportJob(BaseModel):
    """An import: the images asked for, counted as each one's outcome is recorded."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    import_id: str
    org_id: str
    integration_id: str
    total: int
    succeeded: int = 0
    failed: int = 0
    expanding: int = 0  # whole repositories whose tags a worker has yet to add
    source: str = "api"  # api | webhook | sync
    created_at: str
    created_by: str | None = None  # the user who asked (None for Quay's webhooks)
    images_preview: list[str] = Field(default_factory=list)  # the first few image names, for the history

    @property
    def completed(self) -> bool:
        return self.expanding == 0 and self.succeeded + self.failed >= self.total

    def as_stored(self) -> dict[str, Any]:
        """The job's own fields (the adapters keep the counters beside them)."""
        return self.model_dump(mode="json", exclude_none=True, exclude={"succeeded", "failed", "expanding"})


class ImageOutcome(BaseModel):
    """How one image of an import ended."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    status: Literal["succeeded", "failed"]
    at: str
    project_id: str | None = None
    project_ids: list[str] = Field(default_factory=list)  # a multi-platform image: one project per platform
    error: str | None = None


class ImportedImage(BaseModel):
    """One image of an import as the log shows it: pending until its outcome is recorded."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    image: str
    status: Literal["pending", "succeeded", "failed"]
    at: str
    project_id: str | None = None
    project_ids: list[str] = Field(default_factory=list)
    error: str | None = None
