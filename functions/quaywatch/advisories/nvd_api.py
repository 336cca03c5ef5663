"""Incremental download from the NVD CVE API 2.0: the CVEs modified since the last sync.

``GET <url>?lastModStartDate=..&lastModEndDate=..&startIndex=..&resultsPerPage=2000`` answers
pages of ``{"totalResults", "vulnerabilities": [{"cve": ...}]}`` (the format the loader reads
as an NVD feed). The API refuses ranges longer than 120 days, so a long gap is walked in
windows; without an API key NVD allows about 5 requests in 30 seconds, hence the pause
between requests (with a key, 50: ``KEYED_PAUSE``). A first sync starts 8 days back (as
NVD's ``modified`` file does): the history comes from the year files, imported once.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

PAGE_SIZE = 2000
MAX_WINDOW = timedelta(days=120)
FIRST_LOOKBACK = timedelta(days=8)
KEYED_PAUSE = 0.6  # seconds between requests with an API key
MAX_PAGES = 500  # a million CVE records in one sync (NVD holds about 300,000 in all)
BUDGET_SECONDS = 600.0  # within the sync function's 900 s


class NvdApiError(ValueError):
    """The API's pages go on past the cap or the time budget (the sync asks again next time)."""


def api_time(moment: datetime) -> str:
    """The API's extended ISO 8601 form, in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+00:00")


def fetch_modified(url: str, since: str | None, http: httpx.Client, work_dir: Path, pause: float = 6.0,
                   now: datetime | None = None, api_key: str = "") -> tuple[list[Path], int, str]:
    """Pages of the CVEs modified since ``since`` (an ``api_time``), written to ``work_dir``;
    returns (files, CVE count, the time to start from next). Raises httpx.HTTPError when a
    request fails: the caller keeps ``since`` and the next sync asks again. ``api_key`` goes
    in NVD's ``apiKey`` header (never in the URL, which errors and logs show)."""
    headers = {"apiKey": api_key} if api_key else {}
    end_of_all = now or datetime.now(UTC)
    start = datetime.fromisoformat(since) if since else end_of_all - FIRST_LOOKBACK
    work_dir.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    count = 0
    first = True
    pages = 0
    deadline = time.monotonic() + BUDGET_SECONDS
    while start < end_of_all:
        end = min(end_of_all, start + MAX_WINDOW)
        index = 0
        while True:
            pages += 1
            if pages > MAX_PAGES or time.monotonic() > deadline:
                raise NvdApiError(f"the NVD API's pages go on past {MAX_PAGES} pages or {BUDGET_SECONDS:g} s; "
                                  "stopped there (the next sync starts from the same time)")
            if not first:
                time.sleep(pause)
            first = False
            response = http.get(url, params={"lastModStartDate": api_time(start), "lastModEndDate": api_time(end),
                                             "startIndex": index, "resultsPerPage": PAGE_SIZE}, headers=headers)
            response.raise_for_status()
            page = response.json()
            got = len(page.get("vulnerabilities") or [])
            if got:
                path = work_dir / f"nvd-api-{len(files):04d}.json"
                path.write_bytes(response.content)
                files.append(path)
            count += got
            index += got
            if got == 0 or index >= int(page.get("totalResults", 0)):
                break
        start = end
    return files, count, api_time(end_of_all)

