"""``quaywatch admin``: bootstrap tenancy in a deployed stack (organisations, API tokens).

Talks to the stack's access table with the caller's AWS credentials; tokens are printed
once and stored only as hashes.
"""

from __future__ import annotations

import click

TABLE_OPTION = click.option("--access-table", required=True, envvar="QUAYWATCH_ACCESS_TABLE",
                            help="The stack's AccessTable name ($QUAYWATCH_ACCESS_TABLE).")


@click.group()
def admin() -> None:
    """Create organisations and API tokens in a deployed stack."""


@admin.command("create-org")
@click.argument("name")
@TABLE_OPTION
def create_org(name: str, access_table: str) -> None:
    """Create organisation NAME and print its first admin token."""
    store = _store(access_table)
    org_id = store.create_organisation(name)
    token = store.issue_token(org_id, "admin")
    click.echo(f"organisation {org_id}\nadmin token (shown once): {token}")


@admin.command("issue-token")
@click.option("--org-id", required=True, help="The organisation the token is for (printed by create-org).")
@click.option("--role", type=click.Choice(["admin", "member"]), default="member", show_default=True,
              help="Admins manage integrations, tokens and channels; members import and read.")
@TABLE_OPTION
def issue_token(org_id: str, role: str, access_table: str) -> None:
    """Print a new API token for a user of an organisation."""
    store = _store(access_table)
    if store.organisation(org_id) is None:
        raise click.UsageError(f"no organisation {org_id}")
    click.echo(store.issue_token(org_id, role))  # type: ignore[arg-type]


def _store(table: str):
    from quaywatch.adapters.aws import clients
    from quaywatch.adapters.aws.dynamodb import DynamoAccessRepository
    from quaywatch.tenancy.access import AccessStore

    return AccessStore(DynamoAccessRepository(clients.table(table)))
