"""Is a version affected by one ``AffectedPackage``? Exactly as the OSV specification says.

A version is affected if it is listed in ``versions`` or falls in a range: events sorted by
version, ``introduced`` opens, ``fixed`` closes (exclusive), ``last_affected`` closes
(inclusive), and ``limit`` events bound the whole range from above. Explicit statuses from
distro feeds (``not_affected``, ``will_not_fix``...) come through unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from quaywatch.advisories.models import AffectedPackage, FixStatus, Range
from quaywatch.versions import InvalidVersionError, VersionScheme, scheme_for


@dataclass(frozen=True)
class Verdict:
    affected: bool
    status: FixStatus
    fixed_version: str | None = None


_NOT_AFFECTED = Verdict(False, FixStatus.NOT_AFFECTED)


def evaluate(version: str, entry: AffectedPackage, scheme: VersionScheme) -> Verdict:
    """The verdict for an installed version; raises InvalidVersionError if it cannot be ordered."""
    if entry.status is FixStatus.NOT_AFFECTED:
        return _NOT_AFFECTED
    installed = scheme.key(version)  # raises for an invalid installed version
    fixes: list[str] = []
    affected = version in entry.versions
    for version_range in entry.ranges:
        range_scheme = scheme_for(entry.ecosystem, version_range.type) or scheme
        try:
            inside, fixed = _in_range(installed if range_scheme is scheme else range_scheme.key(version),
                                      version_range, range_scheme)
        except InvalidVersionError:
            continue  # a malformed event version spoils only its own range
        if inside:
            affected = True
            if fixed:
                fixes.append(fixed)
    if not affected:
        return _NOT_AFFECTED
    if fixes:
        fixed = min(fixes, key=scheme.key)
        return Verdict(True, FixStatus.FIXED, fixed)
    status = entry.status if entry.status not in (None, FixStatus.FIXED) else FixStatus.AFFECTED
    return Verdict(True, status)


_ZERO = object()  # "introduced: 0": below every version


def _ordered(version_range: Range, scheme: VersionScheme) -> tuple[list[tuple[str, str, object]], list[object]]:
    """The range's events sorted, each with its parsed version, and its limits: computed once
    per range and scheme (a stored range is parsed once and kept)."""
    # The private attribute read from its dict: pydantic's __getattr__ cost a fifth of a warm match.
    memo = version_range.__pydantic_private__["_ordered"]  # type: ignore[index]
    cached = memo.get(scheme.name)
    if cached is None:
        events = sorted(
            (e for e in version_range.events if e.kind != "limit"),
            key=lambda e: (0, None) if e.kind == "introduced" and e.version == "0" else (1, scheme.key(e.version)),
            # "0" sorts below every version; the tuple keeps keys of one scheme comparable
        )
        keyed = [(e.kind, e.version, _ZERO if e.kind == "introduced" and e.version == "0" else scheme.key(e.version))
                 for e in events]
        limits = [scheme.key(e.version) for e in version_range.events if e.kind == "limit" and e.version != "*"]
        cached = memo[scheme.name] = (keyed, limits)
    return cached  # type: ignore[return-value]


def _in_range(installed: object, version_range: Range, scheme: VersionScheme) -> tuple[bool, str | None]:
    """(affected, the fix that closes the range containing it)."""
    events, limits = _ordered(version_range, scheme)
    affected = False
    fixed_by: str | None = None
    for kind, version, key in events:
        if kind == "introduced":
            if key is _ZERO or installed >= key:
                affected, fixed_by = True, None
            else:
                break
        elif kind == "fixed":
            if installed >= key:
                affected = False
            else:
                fixed_by = fixed_by or version
                break
        elif kind == "last_affected":
            if installed > key:
                affected = False
            else:
                break
    if affected and limits and not any(installed < limit for limit in limits):
        affected = False
    return affected, fixed_by if affected else None
