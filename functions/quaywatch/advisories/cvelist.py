"""Incremental download of CVE JSON 5 records from the CVE List's releases (CVEProject/cvelistV5).

The CVE Program publishes a GitHub release every hour. Each carries the whole list as at
midnight (``YYYY-MM-DD_all_CVEs_at_midnight.zip.zip``: a zip holding ``cves.zip``) and the
records added or changed since that midnight (``YYYY-MM-DD_delta_CVEs_at_HHMMZ.zip``); after a
day ends its release also carries ``YYYY-MM-DD_delta_CVEs_at_end_of_day.zip``. The CNA and ADP
containers of those records carry ratings NVD has not (yet) given: CISA's ADP "Vulnrichment"
rates most new CVEs within days.

A sync remembers the position it reached (day and hour of the newest delta it imported) and
asks for one page of releases: on the same day the newest cumulative delta is enough; across
days each missed day's end-of-day delta is needed; when one of those is no longer listed (or
on the first sync) the midnight baseline replaces them. Import is idempotent (a record read
twice is the same rating), so overlaps cost time, never correctness.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx

RELEASES_PER_PAGE = 100  # about four days of hourly releases
_BASELINE = re.compile(r"^(\d{4}-\d{2}-\d{2})_all_CVEs_at_midnight(?:\.zip)+$")
_DELTA = re.compile(r"^(\d{4}-\d{2}-\d{2})_delta_CVEs_at_(\d{4}Z|end_of_day)\.zip$")
END_OF_DAY = "end_of_day"  # sorts after every "HHMMZ"


class CveListError(ValueError):
    """The releases page is not what GitHub's releases API answers."""


@dataclass(frozen=True)
class Asset:
    """One downloadable file of a release: a baseline (``at`` empty) or a delta."""

    name: str
    url: str
    day: str
    at: str = ""

    @property
    def is_baseline(self) -> bool:
        return not self.at


@dataclass(frozen=True)
class Plan:
    """What to download, in import order, and the position reached once it is imported."""

    assets: list[Asset]
    position: dict[str, str]


def release_assets(releases: object) -> list[Asset]:
    """The baseline and delta files listed on a page of GitHub's releases API."""
    if not isinstance(releases, list):
        raise CveListError("the releases page is not a JSON list")
    assets: dict[str, Asset] = {}
    for release in releases:
        for item in release.get("assets", []) if isinstance(release, dict) else []:
            name, url = item.get("name"), item.get("browser_download_url")
            if not isinstance(name, str) or not isinstance(url, str):
                continue
            if (baseline := _BASELINE.match(name)) and _is_day(baseline.group(1)):
                assets[name] = Asset(name, url, baseline.group(1))
            elif (delta := _DELTA.match(name)) and _is_day(delta.group(1)):
                assets[name] = Asset(name, url, delta.group(1), delta.group(2))
    return list(assets.values())


def plan_downloads(assets: list[Asset], since: dict[str, str] | None) -> Plan:
    """The fewest files that bring a store synced up to ``since`` (``{"day", "at"}``, None
    for never) to the newest release listed."""
    if not assets:
        raise CveListError("the releases page lists no CVE List files")
    if since and not _is_day(since.get("day")):
        since = None  # a state written by something else: start again from the baseline
    newest_day = max(asset.day for asset in assets)
    hourly = [a for a in assets if a.day == newest_day and a.at and a.at != END_OF_DAY]
    newest_delta = max(hourly, key=lambda a: a.at) if hourly else None
    position = {"day": newest_day, "at": newest_delta.at if newest_delta else "0000Z"}
    today = [newest_delta] if newest_delta else []
    if since and since.get("day", "") > newest_day:  # a page older than what we have: nothing new
        return Plan([], dict(since))
    if since and since.get("day") == newest_day:
        behind = since.get("at", "") < position["at"]
        return Plan(today if behind else [], position if behind else dict(since))
    if since:  # behind by one day or more
        end_of_days = {a.day: a for a in assets if a.at == END_OF_DAY}
        missed = _days_between(since["day"], newest_day)
        if all(day in end_of_days for day in missed):
            return Plan([end_of_days[day] for day in missed] + today, position)
    baseline = next((a for a in assets if a.is_baseline and a.day == newest_day), None)
    if baseline is None:
        raise CveListError(f"no baseline of {newest_day} is listed to start from")
    return Plan([baseline, *today], position)


def _is_day(value: object) -> bool:
    try:
        return isinstance(value, str) and date.fromisoformat(value).isoformat() == value
    except ValueError:
        return False


def _days_between(first: str, end: str) -> list[str]:
    """Every day from ``first`` up to (not including) ``end``."""
    day, stop = date.fromisoformat(first), date.fromisoformat(end)
    days = []
    while day < stop:
        days.append(day.isoformat())
        day += timedelta(days=1)
    return days


def fetch_cvelist(url: str, since: dict[str, str] | None, http: httpx.Client,
                  work_dir: Path) -> tuple[list[Path], dict[str, str]]:
    """Download what ``plan_downloads`` chose into ``work_dir``; returns (files, new position).
    Raises httpx.HTTPError or CveListError: the caller keeps ``since`` and asks again next time."""
    response = http.get(url, params={"per_page": RELEASES_PER_PAGE},
                        headers={"Accept": "application/vnd.github+json"})
    response.raise_for_status()
    try:
        page = response.json()
    except ValueError as exc:
        raise CveListError(f"the releases page is not JSON: {exc}") from None
    plan = plan_downloads(release_assets(page), since)
    work_dir.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    for index, asset in enumerate(plan.assets):
        target = work_dir / f"{index:02d}-{asset.name}"
        with http.stream("GET", asset.url) as download:
            download.raise_for_status()
            with open(target, "wb") as out:
                out.writelines(download.iter_bytes(1 << 20))
        files.append(target)
    return files, plan.position
