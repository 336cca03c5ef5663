"""API shapes of imports and projects."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# The distribution spec's grammar: path components of lowercase alphanumerics joined by
# separators (no "..", no leading "/"), and tags of at most 128 word characters, dots and dashes.
REPOSITORY_PATTERN = r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
TAG_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"


class ImageSelection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repository: str = Field(min_length=1, max_length=255, pattern=REPOSITORY_PATTERN)
    tag: str | None = Field(None, min_length=1, max_length=128, pattern=TAG_PATTERN)


class ImportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    integration_id: str = Field(min_length=1, max_length=64)
    images: list[ImageSelection] = Field(min_length=1, max_length=500)


class ProjectUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    test_frequency: Literal["never", "daily", "weekly"] | None = None
    active: bool | None = None
