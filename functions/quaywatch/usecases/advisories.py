"""The advisory sync: fetch changed feeds, publish the store, re-test what they touched.

Both ways of updating the store (the sync of feed URLs, and ``serve``'s feed files on disk)
start from a copy of the *published* store and publish the result, one at a time: each keeps
what the other imported. The deployed stack runs one sync at a time; ``serve`` may run both
in one process, hence the lock.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from quaywatch.advisories.freshness import FILE_PREFIX, FeedResult, record_run
from quaywatch.advisories.loader import fingerprint
from quaywatch.advisories.store import SqliteAdvisoryStore
from quaywatch.advisories.sync import (
    BUDGET_SECONDS,
    TIMEOUT,
    copy_store,
    read_state,
    state_object,
    sync_configured,
    write_state,
)
from quaywatch.observability import logger
from quaywatch.outbound import AddressPolicy, pinned_client
from quaywatch.ports import SecretNotFound
from quaywatch.projects.retests import enqueue_retests
from quaywatch.runtime.services import Services
from quaywatch.runtime.settings import FeedSettings

_STORE_WRITER = threading.Lock()  # one import into the published store at a time, per process


def sync_advisories(services: Services, feeds: FeedSettings, http: httpx.Client | None = None) -> dict[str, Any]:
    with _STORE_WRITER:
        return _sync(services, feeds, http)


def _sync(services: Services, feeds: FeedSettings, http: httpx.Client | None) -> dict[str, Any]:
    published = services.advisories
    published.refresh(expect_published=False)
    work = services.settings.work_dir / "sync"
    writable = work / "advisories.db"
    copy_store(published.path, writable)
    state_key = state_object(services.settings.advisory_key)
    state = read_state(services.objects, state_key)
    client = http or pinned_client(AddressPolicy(services.settings.allow_private_registries), budget=BUDGET_SECONDS,
                                   timeout=TIMEOUT, follow_redirects=True)
    try:
        report = sync_configured(writable, feeds, work / "feeds", state, client,
                                 nvd_api_key(services, feeds) if feeds.nvd_api_url else "")
    finally:
        if http is None:
            client.close()
    if report.downloaded:
        published.publish(writable)
    write_state(services.objects, state_key, state)
    results = {**{name: FeedResult("unchanged") for name in report.unchanged},
               **{name: FeedResult("downloaded") for name in report.downloaded},
               **{name: FeedResult("failed", error) for name, error in report.failed.items()}}
    _record_freshness(services, results, writable if report.downloaded else None)
    projects = sorted(services.findings.projects_with(report.changed)) if report.changed else []
    enqueued = enqueue_retests(services.retest_queue, projects, "advisories") if projects else 0
    logger.info("advisory-driven re-tests enqueued", extra={"count": enqueued})
    return {"downloaded": report.downloaded, "unchanged": report.unchanged, "failed": report.failed,
            "records": report.records, "changed_keys": len(report.changed), "retests": enqueued}


def nvd_api_key(services: Services, feeds: FeedSettings) -> str:
    """The NVD API key: ``QUAYWATCH_NVD_API_KEY`` (serve), else the deployed stack's secret
    (``{"api_key": ...}``); none is fine (slower paging). Never logged."""
    if feeds.nvd_api_key or not feeds.nvd_api_key_secret:
        return feeds.nvd_api_key
    try:
        secret = services.secrets_vault.read(feeds.nvd_api_key_secret)
    except SecretNotFound:
        logger.info("no NVD API key secret; the API is asked at the keyless rate",
                    extra={"secret": feeds.nvd_api_key_secret})
        return ""
    key = secret.get("api_key") if isinstance(secret, dict) else None
    return key if isinstance(key, str) else ""


def import_local_feeds(services: Services, paths: list[Path]) -> dict[str, Any]:
    """``serve``'s feeds on disk (an OSV dump downloaded nightly, a secdb checkout): import
    them into a copy of the published store, publish it when anything changed, and re-test
    the projects whose packages the change touched, as ``sync_advisories`` does for feed
    URLs; the re-tests notify what is new."""
    with _STORE_WRITER:
        return _import_local(services, paths)


def _import_local(services: Services, paths: list[Path]) -> dict[str, Any]:
    from quaywatch.advisories.importer import import_feed

    published = services.advisories
    published.refresh(expect_published=False)
    store_path = services.settings.work_dir / "local-feeds" / "advisories.db"
    copy_store(published.path, store_path)
    changed: set = set()
    records = skipped = 0
    results: dict[str, FeedResult] = {}
    with SqliteAdvisoryStore(store_path) as store:
        for path in paths:
            report = import_feed(store, path)
            changed |= report.changed
            records += report.records
            skipped += len(report.bad)
            results[f"{FILE_PREFIX}{path}"] = FeedResult("imported", changed_at=_newest_change(path))
    publishing = bool(changed) or services.objects.head(services.settings.advisory_key) is None
    if publishing:
        published.publish(store_path)
    _record_freshness(services, results, store_path if publishing else None)
    projects = sorted(services.findings.projects_with(changed)) if changed else []
    enqueued = enqueue_retests(services.retest_queue, projects, "advisories") if projects else 0
    logger.info("local advisory feeds imported", extra={"paths": [str(p) for p in paths], "records": records,
                                                         "skipped": skipped, "changed_keys": len(changed),
                                                         "retests": enqueued})
    return {"records": records, "skipped": skipped, "changed_keys": len(changed), "retests": enqueued}


def _newest_change(path: Path) -> datetime | None:
    """When a feed file (or the newest file of a feed directory) last changed on disk."""
    newest = max((mtime_ns for _, _, mtime_ns in fingerprint(path)), default=None)
    return datetime.fromtimestamp(newest / 1e9, UTC) if newest is not None else None


def _record_freshness(services: Services, results: dict[str, FeedResult], published: Path | None) -> None:
    if published is None:
        record_run(services.objects, services.settings.advisory_key, results, None)
        return
    with SqliteAdvisoryStore(published) as store:
        record_run(services.objects, services.settings.advisory_key, results, store)
