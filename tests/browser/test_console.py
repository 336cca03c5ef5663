"""The web console in a real browser: headless Chromium (Debian's package) driven by
Playwright, clicking through log in -> connect Quay -> select images -> import -> project.
A screenshot of the project page is kept in tests/artifacts/."""

from __future__ import annotations

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
    served = Served(tmp_path / "data", free_port())
    try:
        token = (tmp_path / "data" / "admin-token").read_text().strip()
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(15_000)
        page.on("console", lambda message: print("console:", message.text))
        page.goto(served.url + "/")

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

        page.click("text=acme/ui-web:1.0")
        expect(page.locator("tr.finding").first).to_be_visible()
        expect(page.locator("#findings")).to_contain_text("CVE-2019-14697")
        page.check("#fixable")
        expect(page.locator("tr.finding")).to_have_count(7)
        page.select_option("#frequency", "weekly")
        expect(page.locator("#project-message")).to_contain_text("weekly")
        page.click("#test-now")
        expect(page.locator("#project-message")).to_contain_text("Test queued")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "console-project.png"), full_page=True)

        page.click("nav >> text=Projects")
        expect(page.locator(".badge.new")).to_have_count(1)  # NEW until first viewed
        page.click("nav >> text=Import log")
        expect(page.locator("tr.log-entry")).to_have_count(2)

        # A member sees the projects but not the admin pages.
        member = httpx.post(f"{served.url}/tokens", json={"role": "member"},
                            headers={"Authorization": f"Bearer {token}"}).json()["token"]
        page.click("#logout")
        page.fill("#token", member)
        page.click("#login-form button")
        expect(page.locator("tr.project")).to_have_count(2)
        expect(page.locator("nav >> text=Integrations")).to_be_hidden()
        page.goto(served.url + "/#/integrations")
        expect(page.locator("h1")).to_have_text("Projects")
        assert member not in page.content()
    finally:
        assert served.stop() == 0
