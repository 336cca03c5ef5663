"""``quaywatch serve`` as users run it (a subprocess) with the CLI client against it:
connect the real local registry, import, list projects, fire a schedule, restart and find
everything again."""

from __future__ import annotations

import json
import stat

import httpx
import pytest

from tests.conftest import ROBOT
from tests.support import fixtures
from tests.support.registry_process import free_port
from tests.support.served import Served

pytestmark = [pytest.mark.registry, pytest.mark.slow]


def test_serve_import_restart_keeps_everything(stack, tmp_path):
    stack.pusher.push_image("acme/web", "1.0", [fixtures.alpine_310_base()])
    data_dir = tmp_path / "data"
    port = free_port()
    served = Served(data_dir, port)
    try:
        token_file = data_dir / "admin-token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        token = token_file.read_text().strip()
        assert any(token in line for line in served.output)  # printed once, on the first start
        added = served.cli("integrations", "add", f"http://{stack.host}", "--username", ROBOT.username, "--json",
                           env={"QUAYWATCH_REGISTRY_TOKEN": ROBOT.secret})
        assert added.returncode == 0, added.stderr
        integration = json.loads(added.stdout)["id"]
        images = json.loads(served.cli("images", integration, "--json").stdout)
        assert "acme/web" in [r["name"] for r in images["repositories"]]  # the session registry is shared
        imported = served.cli("import", integration, "acme/web:1.0", "--json")
        assert imported.returncode == 0, imported.stderr
        status = json.loads(imported.stdout)
        assert (status["status"], status["succeeded"]) == ("completed", 1)
        projects = json.loads(served.cli("projects", "--json").stdout)["repositories"]
        (project,) = projects[0]["projects"]
        assert project["is_new"] and project["issue_counts"]["critical"] + project["issue_counts"]["high"] >= 0
        shown = served.cli("project", "show", project["id"])
        assert "CVE-2019-14697" in shown.stdout
        ran = served.cli("schedules", "run", "daily", "--json")
        assert ran.returncode == 0 and json.loads(ran.stdout)["result"]["enqueued"] == 0
        console = httpx.get(f"{served.url}/")
        assert console.status_code == 200 and "quaywatch" in console.text
    finally:
        assert served.stop() == 0
    assert "stopped" in "".join(served.output[-2:])

    again = Served(data_dir, port)
    try:
        assert not any(token in line for line in again.output)  # not printed again
        listed = httpx.get(f"{again.url}/projects", headers={"Authorization": f"Bearer {token}"}).json()
        assert listed["repositories"][0]["projects"][0]["id"] == project["id"]
        log = httpx.get(f"{again.url}/imports/{status['id']}/log", headers={"Authorization": f"Bearer {token}"}).json()
        assert log["entries"][0]["status"] == "succeeded"
        tested = again.cli("integrations", "test", integration, "--json")  # the secret survived, decrypted
        assert tested.returncode == 0 and json.loads(tested.stdout)["status"] == "connected", tested.stderr
        assert ROBOT.secret.encode() not in (data_dir / "state" / "secrets.json").read_bytes()
    finally:
        assert again.stop() == 0
