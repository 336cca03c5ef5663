"""The severity levels are declared once, on the server (issue 18): the API hands them out
to members, in the order every count uses, and the console reads them from there."""

from __future__ import annotations

from pathlib import Path

from quaywatch.matching.levels import LEVELS

from tests.support.cloud import running_cloud

CONSOLE = Path(__file__).resolve().parents[2] / "functions" / "quaywatch" / "console" / "app.js"


def test_members_read_the_levels_most_severe_first() -> None:
    with running_cloud() as cloud:
        reply = cloud.api("GET", "/severity-levels", token="member")
        refused = cloud.api("GET", "/severity-levels", token=None)
    assert reply.status == 200 and reply.body["levels"] == list(LEVELS)
    assert reply.body["rated"] == [level for level in LEVELS if level != "unknown"]
    assert reply.body["issues"] == ["critical", "high", "medium", "low"]
    assert refused.status == 401


def test_the_console_declares_no_levels_of_its_own() -> None:
    script = CONSOLE.read_text()
    assert '"/severity-levels"' in script
    assert '"critical", "high"' not in script and "'critical', 'high'" not in script
