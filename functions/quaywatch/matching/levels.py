"""Severity levels, declared once for the whole of quaywatch (the matcher, the counts, the
API, the CLI's choices and, through the API, the console), most severe first. ``unknown``:
no source rates the finding."""

from __future__ import annotations

LEVELS = ("critical", "high", "medium", "low", "negligible", "unknown")
RATED_LEVELS = LEVELS[:-1]  # what a rating, a --fail-on or a notification policy can name
RANK = {level: len(LEVELS) - index for index, level in enumerate(LEVELS)}  # critical highest
ISSUE_LEVELS = LEVELS[:4]  # the levels badges, tables and comparisons show first
