"""Advisory feed sync: download what changed, import it, publish the store, report the
package keys that changed (so the projects containing them get re-tested).

Feeds: OSV's per-ecosystem ``<base>/<Ecosystem>/all.zip`` (GitHub advisories included),
Alpine secdb's ``<base>/<release>/{main,community}.json``, rating feeds by URL (NVD's
``nvdcve-2.0-modified.json.gz``, CISA KEV, EPSS), and optionally the NVD CVE API 2.0 itself,
asked for the CVEs modified since the last sync (``nvd_api``), optionally the CVE List's
hourly releases of CVE JSON 5 records (``cvelist``: CNA and ADP ratings), and optionally Red
Hat's CSAF VEX documents (``redhat_vex_sync``: the archive once, then the changed documents)
with its repository-to-CPE mapping. Each download is conditional (ETag /
Last-Modified remembered in a state file next to the store), so an unchanged feed costs one
304. A feed that fails to download is logged and skipped; the others still land.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import httpx

from quaywatch.advisories.cvelist import CveListError, fetch_cvelist
from quaywatch.advisories.ecosystems import PackageKey
from quaywatch.advisories.importer import import_feed
from quaywatch.advisories.nvd_api import KEYED_PAUSE, fetch_modified
from quaywatch.advisories.redhat_vex_sync import RedHatVexError, fetch_redhat_vex
from quaywatch.advisories.store import SqliteAdvisoryStore
from quaywatch.errors import QuaywatchError
from quaywatch.observability import logger
from quaywatch.outbound import BlockedAddressError
from quaywatch.ports import ObjectStore

if TYPE_CHECKING:
    from quaywatch.advisories.feed_settings import FeedSettings

# What makes one feed fail and the others go on: HTTP errors, and the outbound policy's
# refusals (a name that does not resolve, an address the policy forbids).
UNREACHABLE = (httpx.HTTPError, BlockedAddressError)
TIMEOUT = httpx.Timeout(60.0, connect=10.0)  # for the feed downloads' client
# Everything one sync downloads, all told: a server that sends a byte a minute cannot hold the
# sync for ever (OSV's largest dump, ~1 GB, takes ~17 min at 1 MB/s). The deployed function
# stops at its 900 s timeout first.
BUDGET_SECONDS = 3300.0


@dataclass(frozen=True)
class FeedSource:
    name: str
    url: str
    filename: str


@dataclass
class SyncReport:
    downloaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    records: int = 0
    changed: set[PackageKey] = field(default_factory=set)


def feed_sources(osv_base: str, ecosystems: list[str], secdb_base: str, alpine_releases: list[str],
                 rating_feeds: list[str] = ()) -> list[FeedSource]:
    sources = [FeedSource(f"osv:{e}", f"{osv_base.rstrip('/')}/{quote(e)}/all.zip", f"osv-{e.replace(' ', '_')}.zip")
               for e in ecosystems if e]
    for release in alpine_releases:
        for repository in ("main", "community"):
            sources.append(FeedSource(f"alpine:{release}/{repository}",
                                      f"{secdb_base.rstrip('/')}/{release}/{repository}.json",
                                      f"secdb-{release}-{repository}.json"))
    for url in rating_feeds:  # the file name keeps its suffix: the loader reads .json.gz and .csv.gz by it
        name = url.rstrip("/").rsplit("/", 1)[-1] or "feed.json"
        sources.append(FeedSource(f"rating:{name}", url, f"rating-{name}"))
    return sources


def sync_configured(store_path: Path, feeds: FeedSettings, work_dir: Path, state: dict[str, dict[str, str]],
                    http: httpx.Client, nvd_api_key: str = "") -> SyncReport:
    """``sync_feeds`` for the feeds a ``FeedSettings`` names (the deployed sync, ``serve``
    and ``quaywatch advisories sync`` alike)."""
    sources = feed_sources(feeds.osv_base_url, list(feeds.osv_ecosystems), feeds.alpine_secdb_url,
                           list(feeds.alpine_releases), list(feeds.rating_feeds))
    if feeds.redhat_repository_cpe_url:
        sources.append(FeedSource("redhat:repository-to-cpe", feeds.redhat_repository_cpe_url,
                                  "redhat-repository-to-cpe.json"))
    return sync_feeds(store_path, sources, work_dir, state, http, feeds.nvd_api_url, feeds.nvd_api_pause,
                      feeds.cvelist_url, nvd_api_key, feeds.redhat_vex_url)


def sync_feeds(store_path: Path, sources: list[FeedSource], work_dir: Path, state: dict[str, dict[str, str]],
               http: httpx.Client, nvd_api_url: str = "", nvd_api_pause: float = 6.0,
               cvelist_url: str = "", nvd_api_key: str = "", redhat_vex_url: str = "") -> SyncReport:
    """Download changed feeds into ``work_dir`` and import them into the store at ``store_path``.
    ``state`` (name -> validators, or the NVD API's last modification time) is updated in place."""
    report = SyncReport()
    work_dir.mkdir(parents=True, exist_ok=True)
    downloaded: list[Path] = []
    if nvd_api_url:
        downloaded += _nvd_api(nvd_api_url, state, http, work_dir / "nvd-api", nvd_api_pause, report, nvd_api_key)
    if cvelist_url:
        downloaded += _cvelist(cvelist_url, state, http, work_dir / "cvelist", report)
    if redhat_vex_url:
        downloaded += _redhat_vex(redhat_vex_url, state, http, work_dir / "redhat-vex", report)
    for source in sources:
        headers = {}
        known = state.get(source.name, {})
        if known.get("etag"):
            headers["If-None-Match"] = known["etag"]
        if known.get("last_modified"):
            headers["If-Modified-Since"] = known["last_modified"]
        target = work_dir / source.filename
        try:
            with http.stream("GET", source.url, headers=headers) as response:
                if response.status_code == 304:
                    report.unchanged.append(source.name)
                    continue
                response.raise_for_status()
                with open(target, "wb") as out:
                    out.writelines(response.iter_bytes(1 << 20))
                state[source.name] = {k: v for k, v in {"etag": response.headers.get("ETag"),
                                                       "last_modified": response.headers.get("Last-Modified")}.items() if v}
        except UNREACHABLE as exc:
            report.failed[source.name] = failure_reason(exc)
            logger.warning("feed download failed", extra={"feed": source.name, "error": str(exc)})
            continue
        report.downloaded.append(source.name)
        downloaded.append(target)
    if downloaded:
        with SqliteAdvisoryStore(store_path) as store:
            for path in downloaded:
                result = import_feed(store, path)
                report.records += result.records
                report.changed |= result.changed
    logger.info("advisory sync finished", extra={"downloaded": len(report.downloaded), "unchanged": len(report.unchanged),
                                                "failed": len(report.failed), "changed_keys": len(report.changed)})
    return report


def _nvd_api(url: str, state: dict[str, dict[str, str]], http: httpx.Client, work_dir: Path, pause: float,
             report: SyncReport, api_key: str = "") -> list[Path]:
    """The CVEs NVD modified since the last sync (see ``nvd_api``); the start moves only when
    every page arrived."""
    for stale in work_dir.glob("nvd-api-*.json") if work_dir.exists() else []:
        stale.unlink()
    try:
        files, count, next_start = fetch_modified(url, state.get("nvd-api", {}).get("since"), http, work_dir,
                                                  min(pause, KEYED_PAUSE) if api_key else pause, api_key=api_key)
    except (*UNREACHABLE, ValueError) as exc:
        report.failed["nvd-api"] = failure_reason(exc)
        logger.warning("feed download failed", extra={"feed": "nvd-api", "error": str(exc)})
        return []
    state["nvd-api"] = {"since": next_start}
    (report.downloaded if count else report.unchanged).append("nvd-api")
    return files


def _cvelist(url: str, state: dict[str, dict[str, str]], http: httpx.Client, work_dir: Path,
             report: SyncReport) -> list[Path]:
    """The CVE List files released since the last sync (see ``cvelist``)."""
    if work_dir.exists():
        shutil.rmtree(work_dir)
    return _incremental("cvelist", lambda since: fetch_cvelist(url, since, http, work_dir), CveListError,
                        state, report)


def _redhat_vex(url: str, state: dict[str, dict[str, str]], http: httpx.Client, work_dir: Path,
                report: SyncReport) -> list[Path]:
    """Red Hat's VEX documents written since the last sync (see ``redhat_vex_sync``)."""
    deadline = time.monotonic() + BUDGET_SECONDS / 2
    return _incremental("redhat-vex", lambda since: fetch_redhat_vex(url, since, http, work_dir, deadline),
                        RedHatVexError, state, report)


def _incremental(name: str, fetch: Callable[[dict[str, str] | None], tuple[list[Path], dict[str, str]]],
                 invalid: type[Exception], state: dict[str, dict[str, str]], report: SyncReport) -> list[Path]:
    """A feed downloaded from the position the last sync reached (``state[name]``); the
    position moves only when every file arrived, so a failure costs a retry, never a gap."""
    try:
        files, position = fetch(state.get(name) or None)
    except (*UNREACHABLE, invalid) as exc:
        report.failed[name] = failure_reason(exc)
        logger.warning("feed download failed", extra={"feed": name, "error": str(exc)})
        return []
    state[name] = position
    (report.downloaded if files else report.unchanged).append(name)
    return files


def failure_reason(exc: Exception) -> str:
    """Why a feed failed, as a sentence for the feed list (no exception class names)."""
    if isinstance(exc, httpx.HTTPStatusError):
        return f"the server answered HTTP {exc.response.status_code} for {exc.request.url}"
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer in time from {exc.request.url.host}" if _has_request(exc) else "no answer in time"
    if isinstance(exc, httpx.HTTPError):
        return f"cannot download it: {exc}" if str(exc) else f"cannot download it ({type(exc).__name__})"
    return str(exc)  # the policy's refusals and format errors are sentences already


def _has_request(exc: httpx.HTTPError) -> bool:
    try:
        exc.request  # noqa: B018 - raises when the error was built without one
    except RuntimeError:
        return False
    return True


def load_state(path: Path) -> dict[str, dict[str, str]]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def copy_store(source: Path, target: Path) -> None:
    """A private, writable copy of the cached store (readers keep using theirs); with
    nothing published yet, no file (a new store). A previous copy and its write-ahead log
    are removed first: a stale log must never be replayed onto the new copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in (target, target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
        stale.unlink(missing_ok=True)
    if source.exists():
        shutil.copyfile(source, target)


def state_object(key: str) -> str:
    return f"{key}.feed-state.json"


def read_state(objects: ObjectStore, key: str) -> dict[str, dict[str, str]]:
    """The feeds' validators as the last sync left them; a missing or broken state only
    costs full downloads."""
    try:
        data = objects.get_bytes(key)
        state = json.loads(data) if data else {}
    except (QuaywatchError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def write_state(objects: ObjectStore, key: str, state: dict[str, dict[str, str]]) -> None:
    objects.put_bytes(key, json.dumps(state).encode())
