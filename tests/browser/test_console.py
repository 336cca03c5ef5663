"""The web console in a real browser: headless Chromium (Debian's package) driven by
Playwright, clicking through log in -> connect Quay -> select images -> import -> project ->
finding details and ignore -> organisation settings -> import history. Screenshots of the
pages are kept in tests/artifacts/ (console-*.png)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROBOT
from tests.support import fixtures
from tests.support.registry_process import free_port
from tests.support.served import Served

pytestmark = [pytest.mark.registry, pytest.mark.slow]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ENRICHMENT = fixtures.FIXTURES / "advisories" / "enrichment"
RATINGS = tuple(arg for folder in ("ghsa", "nvd", "kev", "epss") for arg in ("--advisories", str(ENRICHMENT / folder)))


def contrast(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two CSS rgb() colours."""
    def luminance(colour: str) -> float:
        channels = [int(c) / 255 for c in re.findall(r"\d+", colour)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.fixture
def browser():
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("chromium is not installed: `make setup` (or apt-get install chromium) first")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True,
                                              args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield launched
        launched.close()


def test_connect_select_import_and_read_a_project(stack, tmp_path, browser):
    from playwright.sync_api import expect

    stack.pusher.push_image("acme/ui-web", "1.0", [fixtures.alpine_310_base()])
    stack.pusher.push_image("acme/ui-web", "2.0", [fixtures.alpine_310_base(), {"srv/v2": "2"}])
    stack.pusher.push_image("acme/ui-app", "1", [fixtures.debian_base(), fixtures.python_layer()])
    stack.pusher.push_image("acme/javaapp", "1", [fixtures.java_layer()])
    stack.pusher.push_image("acme/uibase", "3.9.1", [fixtures.alpine_310_base()])
    stack.pusher.push_image("acme/uibase", "3.9.4", [fixtures.alpine_310_with(musl="1.1.22-r3", openssl="1.1.1d-r0")])
    served = Served(tmp_path / "data", free_port(), extra=RATINGS)
    try:
        token = (tmp_path / "data" / "admin-token").read_text().strip()
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(15_000)
        page.on("console", lambda message: print("console:", message.text))
        refused = []  # what the Content-Security-Policy blocked: Chromium says so on the console
        page.on("console", lambda message: refused.append(message.text)
                if "Content Security Policy" in message.text else None)
        opened = page.goto(served.url + "/")
        assert opened is not None and "default-src 'self'" in opened.headers["content-security-policy"]

        page.fill("#token", "qw_not-a-real-token")
        page.click("#login-form button")
        expect(page.locator("#login-error")).to_contain_text("not valid")
        page.fill("#token", token)
        page.click("#login-form button")
        expect(page.locator("h1")).to_have_text("Projects")
        assert token not in page.content()  # the token is never rendered

        page.click("nav >> text=Integrations")
        page.fill("#quay-url", f"http://{stack.host}")
        page.fill("#quay-username", ROBOT.username)
        page.fill("#quay-token", "wrong-token")
        page.click("#connect")
        expect(page.locator("#connect-error")).to_contain_text(re.compile("credential|denied|rejected|token", re.IGNORECASE))
        page.fill("#quay-token", ROBOT.secret)
        page.click("#connect")
        expect(page.locator("#connect-result")).to_contain_text("Connected:")
        expect(page.locator("#connect-result")).to_contain_text("webhooks/quay/")
        assert ROBOT.secret not in page.content()

        page.click("nav >> text=Add images")
        expect(page.locator(".repository").first).to_be_visible()
        page.fill("#search", "ui-")  # the session's registry also holds other tests' images
        expect(page.locator(".repository")).to_have_count(2)
        page.fill("#search", "ui-web")
        expect(page.locator(".repository")).to_have_count(1)
        page.check('.repo-check[data-repo="acme/ui-web"]')
        page.click("text=Add selected repositories")
        expect(page.locator("#import-banner")).to_be_visible()
        page.click("nav >> text=Import log")  # the user keeps navigating while the import runs
        expect(page.locator("#import-text")).to_contain_text("Import finished: 2 succeeded", timeout=90_000)
        page.click("nav >> text=Projects")
        expect(page.locator("tr.project")).to_have_count(2)
        expect(page.locator(".badge.new")).to_have_count(2)
        page.select_option("#origin-filter", "quay")
        expect(page.locator("tr.project")).to_have_count(2)

        expect(page.locator("#import-log-top")).to_be_visible()  # the import log, from the projects list
        row = page.locator('tr.project:has-text("acme/ui-web:1.0")')
        expect(row.locator(".counts")).to_contain_text("unrated")
        expect(row.locator(".counts")).to_contain_text("total")
        shown = [int(n) for n in re.findall(r"\d+", row.locator(".counts").inner_text())]
        assert sum(shown[:-1]) == shown[-1]  # every count shown adds up to the total beside it (negligible too)
        expect(row.locator(".sev.critical")).to_have_text("1")  # musl CVE-2019-14697, rated by NVD
        page.fill("#project-search", "no-such-repository")
        expect(page.locator("tr.project")).to_have_count(0)
        page.fill("#project-search", "ui-web")
        expect(page.locator("tr.project")).to_have_count(2)
        for level in ("critical", "high", "medium", "low", "zero"):  # badge text stays readable (WCAG AA)
            colours = page.evaluate(
                """level => { const b = document.createElement('span'); b.className = 'sev ' + level; document.body.appendChild(b);
                   const s = getComputedStyle(b); const c = [s.color, s.backgroundColor]; b.remove(); return c; }""", level)
            assert contrast(*colours) >= 4.5, (level, colours)

        page.click("text=acme/ui-web:1.0")
        expect(page.locator("tr.finding").first).to_be_visible()
        expect(page.locator("#findings")).to_contain_text("CVE-2019-14697")
        expect(page.locator('th[data-sort="severity"]')).to_have_attribute("aria-sort", "descending")
        page.check("#fixable")
        expect(page.locator("tr.finding")).to_have_count(7)
        page.select_option("#status-filter", "affected")  # Alpine's secdb states fixes only
        expect(page.locator("#findings")).to_contain_text("No findings.")
        page.select_option("#status-filter", "fixed")
        expect(page.locator("tr.finding")).to_have_count(7)
        expect(page.locator(".counts").first).to_contain_text("7 with a fix")
        with page.expect_download() as exported:  # the export buttons save the latest test
            page.click('button.export[data-format="cyclonedx"]')
        assert exported.value.suggested_filename == "acme_ui-web_1.0.cdx.json"
        bom = json.loads(Path(exported.value.path()).read_text())
        assert bom["bomFormat"] == "CycloneDX" and any(v["id"] == "CVE-2019-14697" for v in bom["vulnerabilities"])
        page.select_option("#frequency", "weekly")
        expect(page.locator("#project-message")).to_contain_text("weekly")
        page.click("#test-now")
        expect(page.locator("#project-message")).to_contain_text("Test queued")
        expect(page.locator("#project-message")).to_contain_text("Test done", timeout=60_000)  # the page refreshed

        musl = page.locator('tr.finding[data-key="CVE-2019-14697|musl"]')
        musl.locator("button.toggle").click()
        details = page.locator("tr.details")
        expect(details).to_contain_text("rated by nvd")
        expect(details).to_contain_text("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
        expect(details).to_contain_text("fix available in 1.1.22-r3")
        expect(details.locator('a[href="https://nvd.nist.gov/vuln/detail/CVE-2019-14697"]')).to_be_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "console-project.png"), full_page=True)
        for width, height in ((1366, 768), (400, 800)):  # a laptop and a phone: tables scroll in their card
            page.set_viewport_size({"width": width, "height": height})
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, (width, overflow)
            page.screenshot(path=str(ARTIFACTS / f"console-project-{width}.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})
        details.locator(".ignore-reason").fill("musl's x87 code is not used on amd64")
        details.locator(".ignore-expires").fill("2099-01-31")
        details.locator("button[type=submit]").click()
        expect(page.locator('tr.finding.ignored[data-key="CVE-2019-14697|musl"]')).to_be_visible()
        expect(page.locator(".counts").first).to_contain_text("1 ignored")
        ignores = httpx.get(f"{served.url}/projects/{musl_project_id(page)}/ignores",
                            headers={"Authorization": f"Bearer {token}"}).json()["ignores"]
        assert [(i["id"], i["expires"], i["package"]) for i in ignores] == [("CVE-2019-14697", "2099-01-31", "musl")]

        page.click("nav >> text=Projects")
        expect(page.locator(".badge.new")).to_have_count(1)  # NEW until first viewed
        page.click("nav >> text=Import log")
        expect(page.locator("tr.import-entry")).to_have_count(1)
        expect(page.locator("tr.import-entry")).to_contain_text("2 succeeded, 0 failed of 2")
        page.locator("tr.import-entry a").first.click()
        expect(page.locator("tr.log-entry")).to_have_count(2)

        # A Java image: Log4Shell rated by GitHub's advisory, known exploited, with its EPSS.
        integration = httpx.get(f"{served.url}/integrations", headers={"Authorization": f"Bearer {token}"}).json()
        started = httpx.post(f"{served.url}/imports", headers={"Authorization": f"Bearer {token}"},
                             json={"integration_id": integration["integrations"][0]["id"],
                                   "images": [{"repository": "acme/javaapp", "tag": "1"}]}).json()
        page.goto(f"{served.url}/#/imports/{started['id']}")
        expect(page.locator('tr.log-entry:has-text("acme/javaapp:1")')).to_contain_text("succeeded", timeout=60_000)
        page.locator("tr.log-entry a").click()
        log4j = page.locator('tr.finding[data-key="CVE-2021-44228|org.apache.logging.log4j:log4j-core"]')
        expect(log4j.locator(".kev")).to_have_text("KEV")
        expect(log4j).to_contain_text("ghsa")
        expect(log4j.locator(".exploit")).to_contain_text("EPSS 94%")
        page.click("#sort-exploit")
        expect(page.locator('th[data-sort="exploit"]')).to_have_attribute("aria-sort", "descending")
        expect(page.locator("tr.finding").first).to_contain_text("CVE-2021-44228")
        page.screenshot(path=str(ARTIFACTS / "console-kev.png"), full_page=True)

        page.click("nav >> text=Organisation")
        page.select_option("#min-severity", "critical")
        page.check("#kev-only")
        page.click("#policy-form button")
        expect(page.locator("#organisation-message")).to_have_text("Notification policy saved")
        policy = httpx.get(f"{served.url}/organisation/notification-policy", headers={"Authorization": f"Bearer {token}"}).json()
        assert policy == {"min_severity": "critical", "known_exploited_only": True, "fixable_only": False}
        page.click("#create-token")
        expect(page.locator("#new-token")).to_contain_text("qw_")
        page.click("button.rotate")
        expect(page.locator("#webhook-url")).to_contain_text("/webhooks/quay/")
        page.screenshot(path=str(ARTIFACTS / "console-organisation.png"), full_page=True)

        integration_id = integration["integrations"][0]["id"]
        page.fill(f"#base-{integration_id}", "acme/uibase")
        page.click("#base-form button")
        expect(page.locator("#organisation-message")).to_have_text("Base image sources saved")

        # Registry sync: a policy saved from its page, a dry run, and the image picker then
        # lists from the index.
        page.click("nav >> text=Integrations")
        page.click(f"a[href=\"#/sync/{integration_id}\"]")
        expect(page.locator("h1")).to_have_text("Registry sync")
        page.fill("#policy-rules", "repository=acme/ui-web tag=2\\.0")
        page.click("#policy-form button[type=submit]")
        expect(page.locator("#policy-form .notice")).to_have_text("Policy saved")
        stored = httpx.get(f"{served.url}/integrations/{integration_id}/sync-policy",
                           headers={"Authorization": f"Bearer {token}"}).json()
        assert stored["rules"] == [{"repository": "acme/ui-web", "tag": "2\\.0"}]
        page.click("#sync-dry")
        expect(page.locator("#policy-form .notice")).to_have_text("Dry run finished", timeout=60_000)
        expect(page.locator(".card >> text=Dry run completed")).to_be_visible()
        page.click("nav >> text=Add images")
        expect(page.locator("#index-state")).to_contain_text("Listed from the registry index of")

        # Project settings: link a Dockerfile, see the base and a better tag; deactivate; delete.
        page.goto(served.url + "/#/projects?search=ui-web")
        page.click("text=acme/ui-web:2.0")
        page.fill("#dockerfile-text", f"ARG TAG=3.9.1\nFROM {stack.host}/acme/uibase:${{TAG}}\nCOPY v2 /srv/v2\n")
        page.click("#dockerfile-form button[type=submit]")
        expect(page.locator("#dockerfile-message")).to_contain_text("Linked: base")
        for _ in range(60):  # the re-test computes the base; the page shows it once reloaded
            page.reload()
            if "Built on" in page.inner_text("#base-image"):
                break
            page.wait_for_timeout(500)
        expect(page.locator("#base-image")).to_contain_text("Built on acme/uibase:3.9.1")
        expect(page.locator("#base-image")).to_contain_text("detected by dockerfile")
        expect(page.locator("tr.base-row")).to_have_count(2)  # current and the minor 3.9.4
        # The numbers agree: the image is its base plus a file, so all 7 findings are the base's,
        # and the current tag's row (4 levels, other, total) adds up to the same 7.
        expect(page.locator("#base-image")).to_contain_text("of this image's 7 open findings, 7 come from the base")
        cells = [int(c) for c in page.locator("tr.base-row").first.locator("td").all_inner_texts()[1:7]]
        assert sum(cells[:5]) == cells[5] == 7, cells
        expect(page.locator("#base-image")).to_contain_text("fewer critical/high")
        page.screenshot(path=str(ARTIFACTS / "console-base-image.png"), full_page=True)
        page.click("#toggle-active")
        expect(page.locator("#toggle-active")).to_have_text("Activate")
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#delete-project")
        expect(page.locator("h1")).to_have_text("Projects")
        expect(page.locator("tr.project")).to_have_count(2)  # ui-web:1.0 and the Java image
        expect(page.locator("#main")).not_to_contain_text("acme/ui-web:2.0")
        page.screenshot(path=str(ARTIFACTS / "console-projects.png"), full_page=True)

        # Feed freshness: a line on the projects list, the feeds and what the store holds.
        expect(page.locator("#freshness")).to_contain_text("Advisories updated")
        page.click("#freshness a")
        expect(page.locator("h1")).to_have_text("Advisory feeds")
        expect(page.locator("tr.feed")).to_have_count(len(RATINGS) // 2 + 1)  # every --advisories path, the secdb too
        expect(page.locator("tr.feed").first).to_contain_text("file:")
        expect(page.locator("tr.content", has_text="Alpine")).to_have_count(1)
        expect(page.locator("#main")).to_contain_text("CISA KEV")
        page.screenshot(path=str(ARTIFACTS / "console-advisories.png"), full_page=True)

        # Every page above ran under the console's CSP without a refusal; an inline style
        # (what the console no longer uses) is refused, so the check above can fail.
        assert refused == [], refused
        page.evaluate("document.body.insertAdjacentHTML('beforeend', '<div style=\"color: red\">x</div>')")
        page.wait_for_timeout(300)
        assert any("inline style" in text for text in refused), refused

        # A member sees the projects but not the admin pages.
        member = httpx.post(f"{served.url}/tokens", json={"role": "member"},
                            headers={"Authorization": f"Bearer {token}"}).json()["token"]
        page.click("#logout")
        page.fill("#token", member)
        page.click("#login-form button")
        expect(page.locator("tr.project")).to_have_count(2)  # ui-web:1.0 and the Java image
        expect(page.locator("nav >> text=Integrations")).to_be_hidden()
        expect(page.locator("nav >> text=Organisation")).to_be_hidden()
        page.goto(served.url + "/#/integrations")
        expect(page.locator("h1")).to_have_text("Projects")
        assert member not in page.content()
    finally:
        assert served.stop() == 0


def musl_project_id(page) -> str:
    return page.url.split("#/project/")[1].split("?")[0]


def test_email_settings_a_failed_test_and_narrow_windows(stack, tmp_path, browser):
    """A member's Email page and a project's own mail setting, the admin's email channel,
    members' table and "send the digest now" (delivered to a real SMTP server), a failed
    test's badge and reason, and the console's pages at 1366 and 400 px without sideways
    scrolling (screenshots: console-email*.png, console-failed*.png, console-*-400.png)."""
    from playwright.sync_api import expect

    from tests.support.mailbox import Mailbox, parts

    stack.pusher.push_image("acme/ui-mail", "1", [fixtures.alpine_310_base()])
    with Mailbox() as box:
        served = Served(tmp_path / "data", free_port(), extra=("--smtp-url", box.url, "--mail-from", "qw@acme.test"))
        try:
            token = (tmp_path / "data" / "admin-token").read_text().strip()
            bearer = {"Authorization": f"Bearer {token}"}
            integration = httpx.post(f"{served.url}/integrations", headers=bearer, json={
                "kind": "quay", "url": f"http://{stack.host}", "username": ROBOT.username, "token": ROBOT.secret}).json()
            job = httpx.post(f"{served.url}/imports", headers=bearer, json={
                "integration_id": integration["id"], "images": [{"repository": "acme/ui-mail", "tag": "1"}]}).json()
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(15_000)
            page.goto(served.url + "/")
            page.fill("#token", token)
            page.click("#login-form button")
            expect(page.locator("h1")).to_have_text("Projects")  # logged in (the login then routes to Projects)
            page.goto(f"{served.url}/#/imports/{job['id']}")
            expect(page.locator("tr.log-entry")).to_contain_text("succeeded", timeout=60_000)
            project_id = httpx.get(f"{served.url}/projects", headers=bearer).json()["repositories"][0]["projects"][0]["id"]

            page.click("nav >> text=Email")
            expect(page.locator("h1")).to_have_text("Email")
            page.fill("#email-address", "admin@acme.test")
            page.select_option("#email-level", "critical_high")
            page.click("#email-form button[type=submit]")
            expect(page.locator("#email-message")).to_have_text("Saved")
            mine = httpx.get(f"{served.url}/me/notifications", headers=bearer).json()
            assert (mine["email"], mine["level"], mine["weekly_digest"]) == ("admin@acme.test", "critical_high", True)
            page.fill("#email-address", "not an address")
            page.click("#email-form button[type=submit]")  # the browser holds it back: not an address
            assert page.eval_on_selector("#email-address", "input => input.validity.valid") is False
            assert httpx.get(f"{served.url}/me/notifications", headers=bearer).json()["email"] == "admin@acme.test"

            page.goto(f"{served.url}/#/project/{project_id}")
            page.select_option("#project-mail", "none")
            expect(page.locator("#project-mail-message")).to_have_text("Saved")
            assert httpx.get(f"{served.url}/me/notifications", headers=bearer).json()["projects"] == {project_id: "none"}
            page.click("nav >> text=Email")
            expect(page.locator("button.remove-override")).to_have_count(1)
            page.click("button.remove-override")
            expect(page.locator("button.remove-override")).to_have_count(0)
            page.screenshot(path=str(ARTIFACTS / "console-email.png"), full_page=True)

            page.click("nav >> text=Organisation")
            page.fill("#channel-urls", "security@acme.test")
            page.click("#channels-form button")
            expect(page.locator("#organisation-message")).to_have_text("Channels saved")
            assert httpx.get(f"{served.url}/organisation/channels", headers=bearer).json()["channels"] == [
                {"type": "email", "to": "security@acme.test"}]
            page.fill("#token-email", "ann@acme.test")
            page.click("#create-token")
            expect(page.locator("#new-token")).to_contain_text("qw_")
            page.click("nav >> text=Email")
            page.click("nav >> text=Organisation")
            expect(page.locator("#members tbody tr")).to_have_count(2)  # the admin and ann
            page.click("#send-digest")
            expect(page.locator("#digest-message")).to_have_text("Digest sent to 2 member(s)")
            assert sorted(str(m["To"]) for m in box.wait_for(2)) == ["admin@acme.test", "ann@acme.test"]
            mail = browser.new_page(viewport={"width": 800, "height": 900})  # the digest as a mail client shows it
            mail.set_content(parts(box.messages[0])[1])
            expect(mail.locator("body")).to_contain_text("Weekly digest for")
            mail.screenshot(path=str(ARTIFACTS / "mail-digest.png"), full_page=True)
            mail.close()

            stack.pusher.delete_manifest("acme/ui-mail", "1")
            httpx.post(f"{served.url}/projects/{project_id}/test", headers=bearer)
            for _ in range(120):
                if (httpx.get(f"{served.url}/projects/{project_id}", headers=bearer).json().get("last_test") or {}
                        ).get("status") == "failed":
                    break
                page.wait_for_timeout(250)
            page.goto(f"{served.url}/#/projects")
            expect(page.locator(".badge.failed")).to_have_count(1)
            page.screenshot(path=str(ARTIFACTS / "console-failed-list.png"), full_page=True)
            page.goto(f"{served.url}/#/project/{project_id}")
            expect(page.locator(".badge.failed")).to_have_text("TEST FAILED")
            expect(page.locator(".card .error").first).to_contain_text("The last test failed at")
            page.screenshot(path=str(ARTIFACTS / "console-failed-project.png"), full_page=True)

            for name in ("projects", "organisation", "email", "imports", "advisories", "integrations"):
                for width, height in ((1366, 768), (400, 800)):
                    page.set_viewport_size({"width": width, "height": height})
                    page.goto(f"{served.url}/#/{name}")
                    expect(page.locator("h1")).to_be_visible()
                    page.wait_for_timeout(200)
                    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                    assert overflow <= 0, (name, width, overflow)
                    page.screenshot(path=str(ARTIFACTS / f"console-{name}-{width}.png"), full_page=True)
        finally:
            assert served.stop() == 0
