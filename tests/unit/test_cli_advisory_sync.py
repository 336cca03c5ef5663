"""``quaywatch advisories sync``: the deployed stack's feeds into the CLI's own store, from a
local feed server standing in for NVD and CISA (nothing outside is reachable here), through
the pinned client the command really uses."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from quaywatch.advisories.store import SqliteAdvisoryStore
from quaywatch.cli.main import cli

from tests.support.feed_server import FeedServer

ENRICHMENT = Path(__file__).resolve().parents[1] / "fixtures" / "advisories" / "enrichment"


def test_sync_downloads_imports_then_costs_a_304_and_reports_a_failing_feed(tmp_path: Path, monkeypatch) -> None:
    server = FeedServer()
    server.files["/nvd/nvdcve-2.0-modified.json"] = (ENRICHMENT / "nvd" / "nvdcve-2.0-demo.json").read_bytes()
    server.files["/kev/known.json"] = (ENRICHMENT / "kev" / "known_exploited_vulnerabilities.json").read_bytes()
    for name in ("QUAYWATCH_OSV_ECOSYSTEMS", "QUAYWATCH_ALPINE_RELEASES", "QUAYWATCH_REDHAT_VEX_URL",
                 "QUAYWATCH_REDHAT_REPOSITORY_CPE_URL"):
        monkeypatch.setenv(name, "")  # the template's OSV, secdb and Red Hat defaults would go to the internet
    monkeypatch.setenv("QUAYWATCH_RATING_FEED_URLS",
                       f"{server.url}/nvd/nvdcve-2.0-modified.json,{server.url}/kev/known.json")
    store = tmp_path / "advisories.db"
    runner = CliRunner()
    with server.running():
        first = runner.invoke(cli, ["advisories", "sync", "--db", str(store)])
        assert first.exit_code == 0, first.output
        assert "rating:nvdcve-2.0-modified.json: downloaded" in first.output
        assert not list(tmp_path.glob(".feed-downloads*"))  # the downloads are gone once imported
        second = runner.invoke(cli, ["advisories", "sync", "--db", str(store)])
        assert second.exit_code == 0 and "rating:known.json: unchanged" in second.output
        assert [status for path, status in server.requests if path == "/kev/known.json"] == [200, 304]

        del server.files["/kev/known.json"]
        server.files["/kev/known.json.moved"] = b"{}"
        third = runner.invoke(cli, ["advisories", "sync", "--db", str(store)])
    assert third.exit_code == 1 and "rating:known.json: failed: the server answered HTTP 404" in third.output
    with SqliteAdvisoryStore(store) as opened:
        assert opened.ratings(["CVE-2021-44228"])["CVE-2021-44228"]  # what the first sync brought stays
        status = {row.ecosystem: row.records for row in opened.signal_status()}
    assert status["CISA KEV"] == 1 and status["ratings: nvd"] >= 5
