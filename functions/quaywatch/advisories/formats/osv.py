"""OSV records (https://ossf.github.io/osv-schema/), from JSON or YAML, into ``Advisory``.

Kept from each ``affected`` entry: the package (ecosystem, release, normalised name), the
``ECOSYSTEM`` and ``SEMVER`` ranges and the explicit ``versions``. ``GIT`` ranges are dropped:
images carry released versions, and OSV expands commits into ``versions`` already.
Vendor severities: Debian's ``ecosystem_specific.urgency``, Ubuntu's ``Ubuntu`` severity
type, GitHub's ``database_specific.severity``.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from quaywatch.advisories.ecosystems import normalise_name, parse_osv_ecosystem
from quaywatch.advisories.formats.errors import InvalidRecordError
from quaywatch.advisories.models import Advisory, AffectedPackage, Event, Range, Severity

SOURCE = "osv"
_EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")
_CVSS_TYPES = ("CVSS_V2", "CVSS_V3", "CVSS_V4")


def looks_like_osv(document: Any) -> bool:
    return isinstance(document, dict) and "id" in document and ("affected" in document or "modified" in document)


def parse_osv(document: Any) -> Advisory:
    """One OSV record; raises InvalidRecordError saying what is wrong with it."""
    if not isinstance(document, dict):
        raise InvalidRecordError("an OSV record must be a JSON/YAML object")
    record_id = document.get("id")
    if not isinstance(record_id, str) or not record_id:
        raise InvalidRecordError("OSV record without an id")
    severities = _severities(document.get("severity"), record_id)
    vendor = next((s.score.lower() for s in severities if s.type == "Ubuntu"), None)
    database_severity = _text((document.get("database_specific") or {}).get("severity"))
    affected = [
        _affected(entry, record_id, vendor or (database_severity.lower() if database_severity else None))
        for entry in _list(document.get("affected"), "affected", record_id)
    ]
    try:
        return Advisory(
            id=record_id,
            source=SOURCE,
            aliases=[a for a in _list(document.get("aliases"), "aliases", record_id) if isinstance(a, str)]
            + [u for u in _list(document.get("upstream"), "upstream", record_id) if isinstance(u, str)],
            summary=_text(document.get("summary")) or _first_line(_text(document.get("details"))),
            published=_text(document.get("published")),
            modified=_text(document.get("modified")),
            withdrawn=_text(document.get("withdrawn")),
            severities=[s for s in severities if s.type in _CVSS_TYPES],
            affected=[a for a in affected if a is not None],
        )
    except ValidationError as exc:
        raise InvalidRecordError(f"{record_id}: {exc.errors()[0]['msg']}") from None


def _affected(entry: Any, record_id: str, record_vendor: str | None) -> AffectedPackage | None:
    if not isinstance(entry, dict):
        raise InvalidRecordError(f"{record_id}: an affected entry is not an object")
    package = entry.get("package")
    if not isinstance(package, dict):
        return None  # OSV allows affected entries without a package (e.g. git-only)
    ecosystem_text, name = _text(package.get("ecosystem")), _text(package.get("name"))
    if not ecosystem_text or not name:
        raise InvalidRecordError(f"{record_id}: affected package without ecosystem or name")
    ecosystem, release = parse_osv_ecosystem(ecosystem_text)
    ranges = []
    for raw in _list(entry.get("ranges"), "ranges", record_id):
        if not isinstance(raw, dict):
            raise InvalidRecordError(f"{record_id}: a range is not an object")
        kind = raw.get("type")
        if kind == "GIT":
            continue
        if kind not in ("ECOSYSTEM", "SEMVER"):
            raise InvalidRecordError(f"{record_id}: unknown range type {kind!r}")
        events = []
        for event in _list(raw.get("events"), "events", record_id):
            if not isinstance(event, dict) or len(event) != 1:
                raise InvalidRecordError(f"{record_id}: an event must have exactly one key")
            ((event_kind, version),) = event.items()
            if event_kind not in _EVENT_KINDS or not isinstance(version, (str, int, float)):
                raise InvalidRecordError(f"{record_id}: bad range event {event!r}")
            events.append(Event(kind=event_kind, version=str(version)))
        if not any(e.kind == "introduced" for e in events):
            raise InvalidRecordError(f"{record_id}: a range without an introduced event")
        ranges.append(Range(type=kind, events=events))
    versions = [str(v) for v in _list(entry.get("versions"), "versions", record_id)]
    specific = entry.get("ecosystem_specific") or {}
    severity = record_vendor
    if isinstance(specific, dict) and isinstance(specific.get("urgency"), str):
        severity = specific["urgency"]
    per_package = _severities(entry.get("severity"), record_id)
    if per_package and severity is None:
        severity = next((s.score.lower() for s in per_package if s.type == "Ubuntu"), None)
    return AffectedPackage(
        ecosystem=ecosystem,
        release=release,
        name=normalise_name(ecosystem, name),
        ranges=ranges,
        versions=versions,
        severity=severity,
    )


def _severities(raw: Any, record_id: str) -> list[Severity]:
    result = []
    for item in _list(raw, "severity", record_id):
        if isinstance(item, dict) and isinstance(item.get("type"), str) and isinstance(item.get("score"), str):
            result.append(Severity(type=item["type"], score=item["score"]))
    return result


def _list(value: Any, field: str, record_id: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidRecordError(f"{record_id}: field {field!r} must be a list")
    return value


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _first_line(text: str | None) -> str | None:
    if not text:
        return None
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:300] or None
