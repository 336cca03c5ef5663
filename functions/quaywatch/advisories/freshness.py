"""Feed freshness: what the published advisory store holds and when each feed last changed.

A small JSON document published beside the store (``<key>.status.json``) by whatever updates
the store (the sync of feed URLs, ``serve``'s feed files), so the API can answer "how fresh
are my results?" without downloading a store of hundreds of megabytes. Each feed keeps its
own history across runs: a feed that fails keeps the time it last succeeded, and a feed URL
not checked successfully for ``STALE_AFTER`` is flagged stale.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from quaywatch.errors import QuaywatchError
from quaywatch.ports import ObjectStore

if TYPE_CHECKING:
    from quaywatch.advisories.store import SqliteAdvisoryStore

STALE_AFTER = timedelta(days=2)  # the sync runs every 6 hours: eight missed runs
FILE_PREFIX = "file:"  # feeds read from disk are named file:<path>


@dataclass(frozen=True)
class FeedResult:
    """One feed in one run: ``downloaded`` (new content), ``unchanged`` (a 304), ``failed``
    (with the error), or ``imported`` (a file on disk read; ``changed_at`` its newest mtime)."""

    result: str
    error: str | None = None
    changed_at: datetime | None = None


def status_object(key: str) -> str:
    return f"{key}.status.json"


def read_status(objects: ObjectStore, key: str) -> dict[str, Any] | None:
    """The last status written, or None (nothing published yet, or a broken document)."""
    try:
        data = objects.get_bytes(status_object(key))
        status = json.loads(data) if data else None
    except (QuaywatchError, ValueError):
        return None
    return status if isinstance(status, dict) else None


def record_run(objects: ObjectStore, key: str, results: dict[str, FeedResult],
               store: SqliteAdvisoryStore | None, now: datetime | None = None) -> dict[str, Any]:
    """Merge one run's feed results into the status and write it. ``store``: the store just
    published (its contents are counted), or None when this run published nothing (the
    previous contents stand)."""
    moment = _iso(now or datetime.now(UTC))
    previous = read_status(objects, key) or {}
    feeds = {feed["name"]: feed for feed in previous.get("feeds", []) if isinstance(feed, dict) and "name" in feed}
    for name, outcome in results.items():
        entry = {**feeds.get(name, {"name": name}), "last_result": outcome.result, "checked_at": moment}
        entry.pop("error", None)
        if outcome.result == "failed":
            entry["error"] = (outcome.error or "")[:500]
        else:
            entry["ok_at"] = moment
        if outcome.result in ("downloaded", "imported"):
            entry["changed_at"] = _iso(outcome.changed_at) if outcome.changed_at else moment
        feeds[name] = entry
    status = {"published_at": previous.get("published_at"), "checked_at": moment,
              "feeds": sorted(feeds.values(), key=lambda feed: feed["name"]),
              "contents": previous.get("contents", [])}
    if store is not None:
        status["published_at"] = moment
        status["contents"] = [{"name": row.ecosystem, "records": row.records, "newest_modified": row.newest_modified}
                              for row in store.status() + store.signal_status()]
    objects.put_bytes(status_object(key), json.dumps(status).encode())
    return status


def describe(status: dict[str, Any] | None, now: datetime | None = None) -> dict[str, Any]:
    """The API's answer: the stored status with each feed's ``stale`` flag, or an empty one."""
    if status is None:
        return {"published_at": None, "checked_at": None, "feeds": [], "contents": [], "stale": True,
                "message": "no advisories are loaded yet: nothing can be matched"}
    moment = now or datetime.now(UTC)
    feeds = [{**feed, "stale": _is_stale(feed, moment)} for feed in status.get("feeds", [])]
    return {**status, "feeds": feeds, "stale": any(feed["stale"] for feed in feeds) or not feeds}


def _is_stale(feed: dict[str, Any], now: datetime) -> bool:
    """A feed URL not checked successfully for ``STALE_AFTER``. Files on disk are what the
    operator put there (``serve`` reads them when they change): their age shows in
    ``changed_at`` (the file's time), they are never called stale."""
    if str(feed.get("name", "")).startswith(FILE_PREFIX):
        return False
    try:
        return feed.get("ok_at") is None or now - datetime.fromisoformat(feed["ok_at"]) > STALE_AFTER
    except (TypeError, ValueError):
        return True


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")
