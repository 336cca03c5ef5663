"""An organisation's notification policy: which new findings are worth telling people about.

By default every new finding not ignored is notified. A policy narrows that: a minimum
severity (a finding left unrated never reaches one), known-exploited only (CISA KEV), fixable
only (a fixed version exists). A finding that did not pass the policy at one test and passes
at a later one (its severity rose with a new NVD rating, it entered KEV, a fix was released)
is notified then, once.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from quaywatch.matching.levels import RANK, RATED_LEVELS
from quaywatch.matching.models import Finding


class NotificationPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_severity: Literal[RATED_LEVELS] | None = Field(  # type: ignore[valid-type]
        None, description="notify findings of this severity or higher only; unrated findings never reach it")
    known_exploited_only: bool = Field(False, description="notify findings listed in CISA's KEV catalog only")
    fixable_only: bool = Field(False, description="notify findings with a fixed version only")

    def admits(self, finding: Finding) -> bool:
        if finding.ignored is not None:
            return False
        if self.min_severity is not None and RANK[finding.severity] < RANK[self.min_severity]:
            return False
        if self.known_exploited_only and not finding.kev:
            return False
        return not (self.fixable_only and not finding.fixed_version)
