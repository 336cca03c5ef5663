"""Whether a fix exists: the status every finding carries. Apart from the models so that the
CLI reads the names without loading pydantic (a cold ``quaywatch scan`` stays lean)."""

from __future__ import annotations

from enum import StrEnum


class FixStatus(StrEnum):
    """Whether a fix exists. A finding carries one of the first five; the feeds also state
    ``not_affected`` (no finding) and ``under_investigation`` (no finding unless asked for)."""

    FIXED = "fixed"  # a fix is released: the finding's fixed_version
    AFFECTED = "affected"  # affected, no fix released yet
    FIX_DEFERRED = "fix_deferred"  # the vendor may fix it later (Red Hat "Deferred", Debian postponed / no-dsa)
    WILL_NOT_FIX = "will_not_fix"
    OUT_OF_SUPPORT = "out_of_support"  # the release or package is past its support (Debian end-of-life)
    NOT_AFFECTED = "not_affected"
    UNDER_INVESTIGATION = "under_investigation"

    @classmethod
    def _missing_(cls, value: object) -> FixStatus | None:
        # Stored findings and advisory rows written before the status was named after Red Hat's
        # "Out of support scope" say "end_of_life".
        return cls.OUT_OF_SUPPORT if value == "end_of_life" else None


UNFIXED = frozenset({FixStatus.AFFECTED, FixStatus.FIX_DEFERRED, FixStatus.WILL_NOT_FIX, FixStatus.OUT_OF_SUPPORT})
FINDING_STATUSES = (FixStatus.FIXED, *sorted(UNFIXED, key=list(FixStatus).index))
SHOWN_STATUSES = (*FINDING_STATUSES, FixStatus.UNDER_INVESTIGATION)  # what --ignore-status names
