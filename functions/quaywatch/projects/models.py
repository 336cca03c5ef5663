"""API shapes of imports and projects."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ImageSelection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repository: str = Field(min_length=1, max_length=255, pattern=r"^[a-z0-9]+(?:[._/-][a-z0-9]+)*$")
    tag: str | None = Field(None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class ImportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    integration_id: str = Field(min_length=1, max_length=64)
    images: list[ImageSelection] = Field(min_length=1, max_length=500)


class ProjectUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    test_frequency: Literal["never", "daily", "weekly"] | None = None
    active: bool | None = None
