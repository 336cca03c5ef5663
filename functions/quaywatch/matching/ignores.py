"""Ignoring findings (triage): a rule names a vulnerability (its id or any alias), optionally
a package, a reason and optionally a date after which it no longer applies. An ignored finding
stays in the report, marked, and leaves the counts, the notifications and ``--fail-on``.

The CLI reads rules from a YAML file (``scan --ignore-file``), in the spirit of
``.trivyignore``::

    ignores:
      - id: CVE-2023-5678
        package: libssl3          # optional
        reason: not reachable: we never parse DH parameters
        expires: 2027-01-31       # optional
        justification: vulnerable_code_not_in_execute_path   # optional, OpenVEX's labels
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from quaywatch.errors import UsageError
from quaywatch.matching.models import Finding, IgnoredBy
from quaywatch.vex.justifications import JUSTIFICATIONS


class IgnoreRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    package: str | None = Field(None, min_length=1, max_length=500)
    reason: str = Field(min_length=1, max_length=2000)
    expires: date | None = None
    justification: Literal[JUSTIFICATIONS] | None = Field(  # type: ignore[valid-type]
        None, description="why it is not affected, in OpenVEX's words (exports carry it)")

    def matches(self, finding: Finding) -> bool:
        if self.id != finding.id and self.id not in finding.aliases:
            return False
        return self.package is None or self.package in (finding.package, finding.matched_as)

    def describe(self) -> str:
        return self.id + (f" ({self.package})" if self.package else "")


class RecordedIgnore(IgnoreRule):
    """An ignore made through the API: who made it, when, and its id (to delete it)."""

    ignore_id: str
    created_by: str
    created_at: str
    scope: str = Field(pattern="^(project|organisation)$")
    vex_document: str | None = Field(None, description="the @id of the OpenVEX document it came from (importing "
                                     "that document again replaces its rules)")


class IgnoreFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ignores: list[IgnoreRule] = Field(default_factory=list, max_length=10_000)


@dataclass
class TriageResult:
    ignored: int
    expired: list[IgnoreRule]  # rules past their date: they no longer apply
    valid_until: date | None = None  # the first expiry among the rules that ignored something

    @property
    def valid_until_text(self) -> str | None:
        return self.valid_until.isoformat() if self.valid_until else None


def load_ignore_file(path: Path) -> list[IgnoreRule]:
    """The rules of a YAML ignore file; a malformed file is a usage error naming the problem."""
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the ignore file {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"the ignore file {path} is not valid YAML: {exc}") from None
    try:
        return IgnoreFile.model_validate(document).ignores
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise UsageError(f"the ignore file {path}: {where}: {problem['msg']}") from None


def apply_ignores(findings: list[Finding], rules: list[IgnoreRule], today: date | None = None) -> TriageResult:
    """Mark the findings that a rule in force covers (in place)."""
    today = today or date.today()
    active = [rule for rule in rules if rule.expires is None or rule.expires >= today]
    expired = [rule for rule in rules if rule.expires is not None and rule.expires < today]
    ignored = 0
    expiries = []
    for finding in findings:
        rule = next((r for r in active if r.matches(finding)), None)
        finding.ignored = IgnoredBy(reason=rule.reason, expires=rule.expires,
                                    justification=rule.justification) if rule else None
        ignored += rule is not None
        if rule is not None and rule.expires is not None:
            expiries.append(rule.expires)
    return TriageResult(ignored, expired, min(expiries, default=None))
