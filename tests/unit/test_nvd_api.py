"""The NVD CVE API 2.0, incrementally: served locally (the real API is not reachable here) by
the feed server, answering pages from the real NVD records in the enrichment fixtures."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from quaywatch.advisories.nvd_api import api_time, fetch_modified
from quaywatch.advisories.store import SqliteAdvisoryStore
from quaywatch.advisories.sync import sync_feeds

from tests.support.feed_server import FeedServer

RECORDS = [item for item in json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "advisories" /
                                        "enrichment" / "nvd" / "nvdcve-2.0-demo.json").read_text())["vulnerabilities"]]


def serve_api(server: FeedServer, requests: list[dict[str, str]], page_size: int = 2) -> None:
    """Pages of ``page_size`` of the records modified in the asked window (all of them, once)."""
    def answer(query: dict[str, str]) -> bytes:
        requests.append(query)
        start = int(query["startIndex"])
        window_start = datetime.fromisoformat(query["lastModStartDate"])
        chosen = RECORDS if window_start > datetime(2026, 1, 1, tzinfo=UTC) else []
        return json.dumps({"resultsPerPage": page_size, "startIndex": start, "totalResults": len(chosen),
                           "format": "NVD_CVE", "version": "2.0",
                           "vulnerabilities": chosen[start:start + page_size]}).encode()
    server.routes["/rest/json/cves/2.0"] = answer


def test_pages_are_walked_and_the_next_start_is_the_end_of_this_sync(tmp_path: Path) -> None:
    server, requests = FeedServer(), []
    serve_api(server, requests)
    now = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    with server.running(), httpx.Client() as http:
        files, count, next_start = fetch_modified(f"{server.url}/rest/json/cves/2.0", None, http, tmp_path, pause=0,
                                                  now=now)
    assert count == len(RECORDS) == 6 and len(files) == 3  # three pages of two
    assert [r["startIndex"] for r in requests] == ["0", "2", "4"]
    assert requests[0]["lastModStartDate"] == api_time(now - timedelta(days=8))
    assert requests[0]["lastModEndDate"] == api_time(now) == next_start


def test_a_long_gap_is_asked_in_windows_of_120_days(tmp_path: Path) -> None:
    server, requests = FeedServer(), []
    serve_api(server, requests)
    now = datetime(2026, 12, 2, tzinfo=UTC)
    since = api_time(now - timedelta(days=300))
    with server.running(), httpx.Client() as http:
        fetch_modified(f"{server.url}/rest/json/cves/2.0", since, http, tmp_path, pause=0, now=now)
    windows = sorted({(r["lastModStartDate"], r["lastModEndDate"]) for r in requests})
    assert len(windows) == 3
    for start, end in windows:
        assert datetime.fromisoformat(end) - datetime.fromisoformat(start) <= timedelta(days=120)


def test_the_sync_imports_api_pages_and_keeps_its_place_on_failure(tmp_path: Path) -> None:
    server, requests = FeedServer(), []
    serve_api(server, requests)
    state: dict = {}
    store = tmp_path / "advisories.db"
    url = f"{server.url}/rest/json/cves/2.0"
    with server.running(), httpx.Client() as http:
        report = sync_feeds(store, [], tmp_path / "work", state, http, nvd_api_url=url, nvd_api_pause=0)
        assert report.downloaded == ["nvd-api"] and report.failed == {}
        since = state["nvd-api"]["since"]
        server.routes.clear()  # the API answers 404 now
        failed = sync_feeds(store, [], tmp_path / "work", state, http, nvd_api_url=url, nvd_api_pause=0)
    assert "nvd-api" in failed.failed and state["nvd-api"]["since"] == since  # asked again next time
    with SqliteAdvisoryStore(store) as opened:
        ratings = opened.ratings(["CVE-2021-44228", "CVE-2019-14697"])
    assert {r.source for r in ratings["CVE-2021-44228"]} == {"nvd", "adp"} and ratings["CVE-2019-14697"]


def test_the_deployed_sync_sends_the_key_from_its_secret_and_never_logs_it(tmp_path: Path, monkeypatch) -> None:
    """AdvisorySyncFunction on moto (Secrets Manager cannot run here): the operator's secret
    quaywatch/nvd-api-key holds {"api_key": ...}; the sync sends it in NVD's apiKey header."""
    import io
    import logging

    from quaywatch.observability import logger

    from tests.support.cloud import running_cloud

    server, requests = FeedServer(), []
    serve_api(server, requests)
    monkeypatch.setenv("QUAYWATCH_WORK_DIR", str(tmp_path / "work"))
    parameters = {"OsvEcosystems": "", "AlpineReleases": "", "RatingFeedUrls": "", "RedHatVexUrl": "",
                  "RedHatRepositoryCpeUrl": "",
                  "NvdApiUrl": f"{server.url}/rest/json/cves/2.0"}
    written = io.StringIO()
    previous_stream, previous_level = logger.registered_handler.setStream(written), logger.level
    logger.setLevel(logging.DEBUG)  # every log line of the run
    try:
        with server.running(), running_cloud(parameters) as cloud:
            keyless = cloud.schedule("AdvisorySyncFunction", "Every6Hours")  # no secret yet: asked without a key
            assert keyless["failed"] == {} and "apikey" not in server.request_headers[-1]
            cloud.session.client("secretsmanager").create_secret(
                Name="quaywatch/nvd-api-key", SecretString=json.dumps({"api_key": "nvd-key-0123456789"}))
            keyed = cloud.schedule("AdvisorySyncFunction", "Every6Hours")
    finally:
        logger.registered_handler.setStream(previous_stream)
        logger.setLevel(previous_level)
    assert keyed["failed"] == {} and server.request_headers[-1]["apikey"] == "nvd-key-0123456789"
    assert "advisory sync finished" in written.getvalue()  # the run logged ...
    assert "nvd-key-0123456789" not in written.getvalue()  # ... and never the key


def test_pages_that_never_end_stop_at_the_cap(tmp_path: Path, monkeypatch) -> None:
    """An API whose ``totalResults`` always says there is more (issue 17: every loop driven
    by remote data has a cap): the sync fails that feed and keeps its place."""
    from quaywatch.advisories import nvd_api

    monkeypatch.setattr(nvd_api, "MAX_PAGES", 5)
    server, requests = FeedServer(), []

    def endless(query: dict[str, str]) -> bytes:
        requests.append(query)
        return json.dumps({"totalResults": 10**9, "vulnerabilities": RECORDS[:1]}).encode()

    server.routes["/rest/json/cves/2.0"] = endless
    since = api_time(datetime.now(UTC) - timedelta(days=1))
    state: dict = {"nvd-api": {"since": since}}
    with server.running(), httpx.Client() as http:
        report = sync_feeds(tmp_path / "advisories.db", [], tmp_path / "work", state, http,
                            nvd_api_url=f"{server.url}/rest/json/cves/2.0", nvd_api_pause=0)
    assert len(requests) == 5 and "past 5 pages" in report.failed["nvd-api"]
    assert state["nvd-api"]["since"] == since  # asked again from the same time next sync
