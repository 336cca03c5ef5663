"""Mail through ``quaywatch serve --smtp-url`` to a real SMTP server (aiosmtpd): new-issue
mail to an email channel and to members by their preferences, the weekly digest, and the
unsubscribe links (no login: a signed token), as a user sets them up with the CLI."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROBOT
from tests.support import fixtures
from tests.support.mailbox import Mailbox, parts
from tests.support.registry_process import free_port
from tests.support.served import Served

pytestmark = [pytest.mark.registry, pytest.mark.slow]
NVD = Path(__file__).resolve().parents[1] / "fixtures" / "advisories" / "enrichment" / "nvd"


def _cli(served: Served, *args: str, token: str | None = None) -> dict:
    result = served.cli(*args, "--json", env={"QUAYWATCH_TOKEN": token} if token else None)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return json.loads(result.stdout) if result.stdout.strip() else {}


def test_new_issue_mail_digest_and_unsubscribe_through_serve(stack, tmp_path):
    clean = {k: v for k, v in fixtures.alpine_310_base().items() if k != "lib/apk/db/installed"}
    stack.pusher.push_image("acme/mailed", "3.10", [clean])  # the first test is the baseline: nothing to tell
    channels_file = tmp_path / "channels.yaml"
    channels_file.write_text("channels:\n  - {type: email, to: security@acme.test}\n")
    with Mailbox() as box:
        served = Served(tmp_path / "data", free_port(), extra=(
            "--advisories", str(NVD), "--smtp-url", box.url, "--mail-from", "quaywatch@acme.test"))
        try:
            assert any(f"mail: {box.url}" in line for line in served.output)
            assert _cli(served, "channels", "set", str(channels_file))["channels"] == [
                {"type": "email", "to": "security@acme.test"}]
            ann = _cli(served, "tokens", "create", "--email", "ann@acme.test")
            bob = _cli(served, "tokens", "create", "--email", "bob@acme.test")
            chosen = _cli(served, "email", "set", "--level", "critical_high", token=bob["token"])
            assert (chosen["email"], chosen["level"], chosen["mail_configured"]) == ("bob@acme.test", "critical_high",
                                                                                    True)
            added = served.cli("integrations", "add", f"http://{stack.host}", "--username", ROBOT.username, "--json",
                               env={"QUAYWATCH_REGISTRY_TOKEN": ROBOT.secret})
            integration = json.loads(added.stdout)["id"]
            assert served.cli("import", integration, "acme/mailed:3.10").returncode == 0
            (project,) = _cli(served, "projects")["repositories"][0]["projects"]

            stack.pusher.push_image("acme/mailed", "3.10", [fixtures.alpine_310_base()])  # 7 issues come in
            tested = served.cli("project", "test", project["id"], "--wait")
            assert tested.returncode == 0, tested.stderr
            box.wait_for(3)
            (channel_mail,) = box.to("security@acme.test")
            (ann_mail,) = box.to("ann@acme.test")
            (bob_mail,) = box.to("bob@acme.test")
            assert channel_mail["Subject"] == "[quaywatch] 7 new issues in acme/mailed:3.10 (1 critical, 2 medium)"
            assert channel_mail["From"] == "quaywatch@acme.test"
            text, html = parts(ann_mail)
            assert "CVE-2019-14697" in text and "musl 1.1.22-r2" in text and "fix available in 1.1.22-r3" in text
            assert f"{served.url}/#/project/" in text and "acme/mailed:3.10" in html
            assert bob_mail["Subject"] == "[quaywatch] 1 new issue in acme/mailed:3.10 (1 critical)"
            assert "CVE-2019-1547" not in parts(bob_mail)[0]  # medium: not for critical_high

            tested = served.cli("project", "test", project["id"], "--wait")
            assert tested.returncode == 0, tested.stderr
            assert len(box.messages) == 3  # nothing new: no mail

            sent = _cli(served, "digest", "send")
            assert (sent["sent"], sent["skipped"]) == (2, 0)  # ann and bob; the admin has no address
            digests = [m for m in box.wait_for(5)[3:]]
            ann_digest = next(m for m in digests if m["To"] == "ann@acme.test")
            text, _ = parts(ann_digest)
            assert ann_digest["Subject"].startswith("[quaywatch] Weekly digest for ")
            assert "1 monitored project(s), 7 open issue(s), 7 with a fix available" in text
            assert "acme/mailed:3.10: " in text and "CVE-2019-14697" in text  # the most urgent fixable finding

            unsubscribe = ann_digest["List-Unsubscribe"].strip("<>")
            page = httpx.get(unsubscribe)
            assert page.status_code == 200 and "Stop the weekly digest?" in page.text and "<form method='post'>" in page.text
            assert page.headers["content-type"].startswith("text/html")
            assert _cli(served, "email", "show", token=ann["token"])["weekly_digest"] is True  # a GET changes nothing
            done = httpx.post(unsubscribe)
            assert done.status_code == 200 and "no more of the weekly digest" in done.text
            assert _cli(served, "email", "show", token=ann["token"])["weekly_digest"] is False

            one_click = httpx.post(channel_mail["List-Unsubscribe"].strip("<>"), data={"List-Unsubscribe": "One-Click"})
            assert one_click.status_code == 200
            assert _cli(served, "channels", "show")["channels"] == []
            tampered = httpx.post(unsubscribe[:-3] + ("AAA" if not unsubscribe.endswith("AAA") else "BBB"))
            assert tampered.status_code == 400 and "not valid" in tampered.text

            again = _cli(served, "digest", "send")
            assert (again["sent"], again["skipped"]) == (1, 1)
            assert [m["To"] for m in box.wait_for(6)[5:]] == ["bob@acme.test"]
            listed = {m["email"]: m for m in _cli(served, "members")["members"]}
            assert listed["ann@acme.test"]["weekly_digest"] is False and listed["bob@acme.test"]["level"] == "critical_high"
            assert "s3cret" not in "".join(served.output)
        finally:
            served.stop()


def test_an_email_channel_needs_a_mail_server(tmp_path):
    served = Served(tmp_path / "data", free_port())
    try:
        token = (tmp_path / "data" / "admin-token").read_text().strip()
        refused = served.api("PUT", "/organisation/channels", token, {"channels": [{"type": "email", "to": "a@acme.test"}]})
        assert refused.status_code == 400
        assert "email is not set up on this server: start serve with --smtp-url" in refused.json()["error"]["message"]
        bad = served.api("PUT", "/organisation/channels", token, {"channels": [{"type": "email", "to": "not an address"}]})
        assert bad.status_code in (400, 422) and "email" in bad.json()["error"]["message"].lower()
        mixed = served.api("PUT", "/organisation/channels", token,
                           {"channels": [{"type": "email", "url": "https://hooks.acme.test/x"}]})
        assert mixed.status_code in (400, 422)
        preferences = served.api("PUT", "/me/notifications", token, {"email": "me@acme.test", "projects": {"nope": "none"}})
        assert preferences.status_code == 404 and "project nope not found" in preferences.json()["error"]["message"]
    finally:
        served.stop()


def test_mail_waits_out_a_mail_server_that_is_down_and_a_killed_serve(tmp_path):
    """The mail server is down when the digest goes out, and serve is then killed (SIGKILL):
    the mail was queued in the database before the answer, so once serve is back and the
    mail server too, it arrives; nothing failed meanwhile."""
    box = Mailbox()
    extra = ("--smtp-url", box.url, "--mail-from", "qw@acme.test")
    port = free_port()
    served = Served(tmp_path / "data", port, extra=extra)
    token = (tmp_path / "data" / "admin-token").read_text().strip()
    assert served.api("PUT", "/me/notifications", token, {"email": "admin@acme.test"}).status_code == 200
    sent = served.api("POST", "/organisation/digest", token)
    assert sent.status_code == 200 and sent.json()["sent"] == 1  # queued: the answer does not wait for mail
    time.sleep(2)  # the first tries fail: nothing listens on the mail port yet
    served.kill()
    with box:
        again = Served(tmp_path / "data", port, extra=extra)
        try:
            (digest,) = box.wait_for(1, timeout=60)
            assert digest["To"] == "admin@acme.test" and "Weekly digest" in digest["Subject"]
            time.sleep(1)
            assert len(box.messages) == 1  # once
        finally:
            again.stop()
