"""The typed records of registry sync: the index, the policy, a run and its plan."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class IndexedTag(BaseModel):
    """One tag of a repository as the last sync saw it. ``created``: the image's creation time
    (its config's ``created``), known when a policy needed it or the registry said."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    repository: str
    tag: str
    digest: str
    created: str | None = None


class IndexedRepository(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    tag_count: int = 0
    synced_at: str  # when its tags were last listed


class SyncRule(BaseModel):
    """Every condition given must hold; expressions are RE2 (linear time), matched in full."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    repository: str | None = Field(None, max_length=500, description="RE2 expression the whole repository name matches")
    tag: str | None = Field(None, max_length=500, description="RE2 expression the whole tag matches")
    newest: int | None = Field(None, ge=1, le=1000, description="only the N most recent of the matching tags")
    max_age_days: int | None = Field(None, ge=1, le=3650, description="only images created within so many days")


class SyncPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    frequency_hours: int = Field(24, ge=2, le=24 * 30)
    rules: list[SyncRule] = Field(default_factory=list, max_length=50)
    remove_missing: bool = False


class PlannedImport(BaseModel):
    model_config = ConfigDict(frozen=True)

    repository: str
    tag: str
    digest: str


class PlannedRemoval(BaseModel):
    model_config = ConfigDict(frozen=True)

    project_id: str
    repository: str
    tag: str


SyncStatus = Literal["running", "completed", "failed"]


class SyncRun(BaseModel):
    """One sync of an integration: counted as its repositories come in, then planned."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    integration_id: str
    org_id: str
    status: SyncStatus = "running"
    dry_run: bool = False
    trigger: Literal["manual", "schedule"] = "manual"
    started_at: str
    finished_at: str | None = None
    repositories: int = 0  # in the catalog (0 until it is listed)
    repositories_done: int = 0
    listed: bool = False  # the catalog has been listed and the repositories sent
    tags: int = 0
    to_import: int = 0
    to_remove: int = 0
    import_id: str | None = None
    removed: int = 0
    throttled: int = 0  # registry answers of 429 during the run
    capped: bool = False
    error: str | None = None


class SyncPlan(BaseModel):
    """What a run decided, kept beside it (an object: 10,000 entries do not fit a record)."""

    to_import: list[PlannedImport] = Field(default_factory=list)
    to_remove: list[PlannedRemoval] = Field(default_factory=list)
    left_out: list[PlannedImport] = Field(default_factory=list)  # beyond the cap
