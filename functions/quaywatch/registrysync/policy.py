"""Which tags a sync policy wants.

A tag is wanted when any rule wants it; within a rule every condition given must hold:
the repository and tag expressions (RE2: matched in linear time whatever an admin types,
since the index holds registry-supplied names), the image's age, and ``newest`` (the N most
recent by creation time, ties by tag version, among the repository's tags the rule's
expressions match). Signature, attestation and SBOM tags are never wanted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import re2

from quaywatch.baseimages.tags import parse_tag
from quaywatch.errors import UsageError
from quaywatch.integrations.catalog import is_artifact_tag
from quaywatch.registrysync.records import IndexedTag, SyncPolicy, SyncRule

MAX_EXPRESSION_MEMORY = 1 << 20  # bytes RE2 may use for one compiled expression


class InvalidPolicy(UsageError):
    """A rule's expression does not compile: the message names the field."""


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # the error is raised to the caller, in words
    options.max_mem = MAX_EXPRESSION_MEMORY
    return options


def compile_expression(field: str, expression: str) -> re2._Regexp:
    try:
        return re2.compile(expression, options=_options())
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise InvalidPolicy(f"{field}: not a valid RE2 expression ({reason}); lookarounds and "
                            "backreferences are not supported") from None


@dataclass(frozen=True)
class CompiledRule:
    rule: SyncRule
    repository: re2._Regexp | None
    tag: re2._Regexp | None

    @property
    def needs_created(self) -> bool:
        return self.rule.newest is not None or self.rule.max_age_days is not None

    def matches_repository(self, name: str) -> bool:
        return self.repository is None or self.repository.fullmatch(name) is not None

    def matches_tag(self, tag: str) -> bool:
        return self.tag is None or self.tag.fullmatch(tag) is not None


def compile_policy(policy: SyncPolicy) -> list[CompiledRule]:
    """Each rule with its expressions compiled; InvalidPolicy names ``rules[i].field``."""
    compiled = []
    for index, rule in enumerate(policy.rules):
        compiled.append(CompiledRule(
            rule,
            compile_expression(f"rules[{index}].repository", rule.repository) if rule.repository else None,
            compile_expression(f"rules[{index}].tag", rule.tag) if rule.tag else None,
        ))
    return compiled


def needs_creation_times(policy: SyncPolicy) -> bool:
    """Whether a sync must read image configs (``created``) for this policy."""
    return any(rule.newest is not None or rule.max_age_days is not None for rule in policy.rules)


def wanted_tags(rules: list[CompiledRule], repository: str, tags: Iterable[IndexedTag], now: datetime) -> set[str]:
    """The tags of one repository the policy wants."""
    candidates = [t for t in tags if not is_artifact_tag(t.tag)]
    wanted: set[str] = set()
    for rule in rules:
        if not rule.matches_repository(repository):
            continue
        matching = [t for t in candidates if rule.matches_tag(t.tag)]
        if rule.rule.max_age_days is not None:
            oldest = now - timedelta(days=rule.rule.max_age_days)
            matching = [t for t in matching if (parse_moment(t.created) or _NEVER) >= oldest]
        if rule.rule.newest is not None:
            matching = sorted(matching, key=_recency, reverse=True)[: rule.rule.newest]
        wanted.update(t.tag for t in matching)
    return wanted


_NEVER = datetime.min.replace(tzinfo=UTC)


def _recency(tag: IndexedTag) -> tuple[datetime, tuple]:
    """Newest first by creation time (unknown: oldest), then by tag version, then name."""
    return (parse_moment(tag.created) or _NEVER, _version_key(tag.tag))


def _version_key(tag: str) -> tuple:
    parsed = parse_tag(tag)
    return (parsed.version if parsed else (), tag)


def parse_moment(value: str | None) -> datetime | None:
    """An ISO 8601 time as registries write it (``Z``, up to nanoseconds); None if unreadable."""
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    if "." in text:  # Go writes nanoseconds; Python reads at most microseconds
        head, _, rest = text.partition(".")
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[:min(digits, 6)]}{rest[digits:]}" if digits else head + rest[digits:]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
