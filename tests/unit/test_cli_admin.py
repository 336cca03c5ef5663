"""``quaywatch admin``: tenancy bootstrap against a stack's access table (moto for AWS)."""

from __future__ import annotations

import re

from click.testing import CliRunner
from quaywatch.cli.main import cli

from tests.support.cloud import running_cloud


def test_create_org_and_issue_tokens() -> None:
    with running_cloud() as cloud:
        table = cloud.physical.refs["AccessTable"]
        runner = CliRunner()
        created = runner.invoke(cli, ["admin", "create-org", "platform-team", "--access-table", table])
        assert created.exit_code == 0, created.output
        org_id = re.search(r"organisation (\w+)", created.output)[1]
        token = created.output.strip().rsplit(" ", 1)[1]
        store = cloud.access
        admin = store.authenticate(f"Bearer {token}")
        assert (admin.org_id, admin.role) == (org_id, "admin")
        member = runner.invoke(cli, ["admin", "issue-token", "--org-id", org_id, "--access-table", table])
        assert store.authenticate(f"Bearer {member.output.strip()}").role == "member"
        missing = runner.invoke(cli, ["admin", "issue-token", "--org-id", "nope", "--access-table", table])
        assert missing.exit_code == 2 and "no organisation" in missing.output
        assert cloud.api("GET", "/integrations", token=token).status == 200
