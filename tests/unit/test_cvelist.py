"""The CVE List's releases (CVEProject/cvelistV5), incrementally: GitHub is not reachable here,
so the feed server answers a releases page shaped like GitHub's releases API and serves release
files built the way the CVE Program builds them (a baseline zip holding ``cves.zip``, deltas
of ``deltaCves/*.json``) from real CVE JSON 5 records in the fixtures."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import httpx
import pytest
from quaywatch.advisories.cvelist import Asset, CveListError, plan_downloads, release_assets
from quaywatch.advisories.store import SqliteAdvisoryStore
from quaywatch.advisories.sync import sync_feeds

from tests.support.feed_server import FeedServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "advisories"
OPENSSL = (FIXTURES / "enrichment" / "cve5" / "CVE-2023-5678.json").read_bytes()
XZ = (FIXTURES / "cvelist" / "CVE-2024-3094.json").read_bytes()


def _assets(*names: str) -> list[Asset]:
    return release_assets([{"assets": [{"name": n, "browser_download_url": f"https://x/{n}"} for n in names]}])


def _names(plan) -> list[str]:
    return [asset.name for asset in plan.assets]


def test_asset_names_are_recognised_and_others_ignored() -> None:
    assets = _assets("2026-12-02_all_CVEs_at_midnight.zip.zip", "2026-12-02_delta_CVEs_at_0800Z.zip",
                     "2026-12-01_delta_CVEs_at_end_of_day.zip", "release_notes.md", "2026-12-02_delta.zip")
    assert {(a.day, a.at, a.is_baseline) for a in assets} == {
        ("2026-12-02", "", True), ("2026-12-02", "0800Z", False), ("2026-12-01", "end_of_day", False)}
    with pytest.raises(CveListError):
        release_assets({"message": "API rate limit exceeded"})


def test_first_sync_takes_the_baseline_and_the_newest_delta() -> None:
    plan = plan_downloads(_assets("2026-12-02_all_CVEs_at_midnight.zip.zip", "2026-12-02_delta_CVEs_at_0700Z.zip",
                                  "2026-12-02_delta_CVEs_at_0800Z.zip", "2026-12-01_all_CVEs_at_midnight.zip.zip"), None)
    assert _names(plan) == ["2026-12-02_all_CVEs_at_midnight.zip.zip", "2026-12-02_delta_CVEs_at_0800Z.zip"]
    assert plan.position == {"day": "2026-12-02", "at": "0800Z"}


def test_the_same_day_needs_only_the_newest_cumulative_delta() -> None:
    assets = _assets("2026-12-02_all_CVEs_at_midnight.zip.zip", "2026-12-02_delta_CVEs_at_0800Z.zip",
                     "2026-12-02_delta_CVEs_at_0900Z.zip")
    behind = plan_downloads(assets, {"day": "2026-12-02", "at": "0800Z"})
    assert _names(behind) == ["2026-12-02_delta_CVEs_at_0900Z.zip"] and behind.position["at"] == "0900Z"
    current = plan_downloads(assets, {"day": "2026-12-02", "at": "0900Z"})
    assert current.assets == [] and current.position == {"day": "2026-12-02", "at": "0900Z"}


def test_missed_days_are_their_end_of_day_deltas_while_listed() -> None:
    assets = _assets("2026-12-03_all_CVEs_at_midnight.zip.zip", "2026-12-03_delta_CVEs_at_0100Z.zip",
                     "2026-12-01_delta_CVEs_at_end_of_day.zip", "2026-12-02_delta_CVEs_at_end_of_day.zip")
    plan = plan_downloads(assets, {"day": "2026-12-01", "at": "2200Z"})
    assert _names(plan) == ["2026-12-01_delta_CVEs_at_end_of_day.zip", "2026-12-02_delta_CVEs_at_end_of_day.zip",
                            "2026-12-03_delta_CVEs_at_0100Z.zip"]
    assert plan.position == {"day": "2026-12-03", "at": "0100Z"}


@pytest.mark.parametrize("since", [{"day": "2026-11-20", "at": "0800Z"},  # its end of day is no longer listed
                                   {"day": "not-a-day", "at": "0800Z"}])
def test_a_gap_the_page_cannot_cover_starts_again_from_the_baseline(since) -> None:
    assets = _assets("2026-12-03_all_CVEs_at_midnight.zip.zip", "2026-12-03_delta_CVEs_at_0100Z.zip",
                     "2026-12-02_delta_CVEs_at_end_of_day.zip")
    assert _names(plan_downloads(assets, since)) == ["2026-12-03_all_CVEs_at_midnight.zip.zip",
                                                     "2026-12-03_delta_CVEs_at_0100Z.zip"]


def test_a_page_older_than_the_position_downloads_nothing() -> None:
    plan = plan_downloads(_assets("2026-12-01_all_CVEs_at_midnight.zip.zip"), {"day": "2026-12-02", "at": "0100Z"})
    assert plan.assets == [] and plan.position == {"day": "2026-12-02", "at": "0100Z"}
    with pytest.raises(CveListError):
        plan_downloads([], None)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


class Releases:
    """A releases page whose assets the feed server serves."""

    def __init__(self, server: FeedServer) -> None:
        self.server, self.releases = server, []
        server.routes["/repos/CVEProject/cvelistV5/releases"] = lambda query: json.dumps(self.releases).encode()

    def publish(self, tag: str, files: dict[str, bytes]) -> None:
        for name, data in files.items():
            self.server.files[f"/download/{tag}/{name}"] = data
        self.releases.insert(0, {"tag_name": tag, "assets": [
            {"name": name, "browser_download_url": f"{self.server.url}/download/{tag}/{name}"} for name in files]})

    def downloads(self) -> list[str]:
        return [path.rsplit("/", 1)[-1] for path, status in self.server.requests if path.startswith("/download/")]


def test_the_sync_imports_release_files_incrementally_and_keeps_its_place_on_failure(tmp_path: Path) -> None:
    server = FeedServer()
    releases = Releases(server)
    baseline = _zip({"cves.zip": _zip({"cves/2023/5xxx/CVE-2023-5678.json": OPENSSL})})
    releases.publish("cve_2026-12-01_0800Z", {"2026-12-01_all_CVEs_at_midnight.zip.zip": baseline,
                                              "2026-12-01_delta_CVEs_at_0800Z.zip": _zip({})})
    state: dict = {}
    store = tmp_path / "advisories.db"
    url = f"{server.url}/repos/CVEProject/cvelistV5/releases"
    with server.running(), httpx.Client() as http:
        first = sync_feeds(store, [], tmp_path / "work", state, http, cvelist_url=url)
        assert first.downloaded == ["cvelist"] and first.failed == {}
        assert state["cvelist"] == {"day": "2026-12-01", "at": "0800Z"}
        again = sync_feeds(store, [], tmp_path / "work", state, http, cvelist_url=url)
        assert again.unchanged == ["cvelist"] and len(releases.downloads()) == 2  # nothing fetched again

        releases.publish("cve_2026-12-02_0100Z", {
            "2026-12-02_all_CVEs_at_midnight.zip.zip": baseline,
            "2026-12-01_delta_CVEs_at_end_of_day.zip": _zip({"deltaCves/CVE-2024-3094.json": XZ}),
            "2026-12-02_delta_CVEs_at_0100Z.zip": _zip({})})
        next_day = sync_feeds(store, [], tmp_path / "work", state, http, cvelist_url=url)
        assert next_day.downloaded == ["cvelist"] and next_day.records >= 1
        assert releases.downloads()[2:] == ["2026-12-01_delta_CVEs_at_end_of_day.zip",
                                            "2026-12-02_delta_CVEs_at_0100Z.zip"]  # not the baseline again

        server.routes.clear()  # the releases API answers 404 now
        failed = sync_feeds(store, [], tmp_path / "work", state, http, cvelist_url=url)
    assert "cvelist" in failed.failed and state["cvelist"] == {"day": "2026-12-02", "at": "0100Z"}
    with SqliteAdvisoryStore(store) as opened:
        ratings = opened.ratings(["CVE-2023-5678", "CVE-2024-3094"])
    assert [(r.source, r.severity) for r in ratings["CVE-2023-5678"]] == [("cna", "LOW")]  # from inside cves.zip
    (xz,) = ratings["CVE-2024-3094"]
    assert (xz.source, xz.severity, [v.score for v in xz.vectors]) == (
        "cna", "CRITICAL", ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"])


def test_a_feed_host_that_does_not_resolve_fails_alone(tmp_path: Path) -> None:
    """Through the pinned client the sync really uses: a name that does not resolve is the
    outbound policy's refusal, not an HTTP error; it must fail its feed only."""
    from quaywatch.advisories.sync import FeedSource
    from quaywatch.outbound import AddressPolicy, pinned_client

    server = FeedServer()
    server.files["/kev.json"] = (FIXTURES / "enrichment" / "kev" / "known_exploited_vulnerabilities.json").read_bytes()
    sources = [FeedSource("rating:gone.json", "http://feeds.example.invalid/gone.json", "rating-gone.json"),
               FeedSource("rating:kev.json", f"{server.url}/kev.json", "rating-kev.json")]
    with server.running(), pinned_client(AddressPolicy(allow_private=True)) as http:
        report = sync_feeds(tmp_path / "advisories.db", sources, tmp_path / "work", {}, http,
                            cvelist_url="http://releases.example.invalid/releases")
    assert report.downloaded == ["rating:kev.json"]
    assert set(report.failed) == {"rating:gone.json", "cvelist"} and "does not resolve" in report.failed["cvelist"]


def test_failure_reasons_are_sentences() -> None:
    from quaywatch.advisories.sync import failure_reason

    request = httpx.Request("GET", "https://feeds.example/all.zip")
    refused = httpx.HTTPStatusError("x", request=request, response=httpx.Response(503, request=request))
    assert failure_reason(refused) == "the server answered HTTP 503 for https://feeds.example/all.zip"
    assert failure_reason(httpx.ReadTimeout("timed out", request=request)) == "no answer in time from feeds.example"
    assert failure_reason(httpx.ConnectError("[Errno 111] Connection refused")) == (
        "cannot download it: [Errno 111] Connection refused")
    assert failure_reason(CveListError("the releases page is not JSON")) == "the releases page is not JSON"
