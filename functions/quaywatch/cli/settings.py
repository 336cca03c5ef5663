"""The organisation's and the projects' settings from the command line: ignores (project and
organisation, with expiry), OpenVEX in and out, project settings, notification channels and
policy, base-image sources, integration details; each with ``--json``.

``ROUTES`` says which command calls each API route: a test checks that every route of
template.yaml has one (or is named in ``NOT_COMMANDS`` with the reason), so a new route
without a command fails the tests.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from quaywatch.cli.client import (
    _api,
    _options,
    _print,
    _server_options,
    imports,
    integrations,
    project,
)
from quaywatch.errors import UsageError
from quaywatch.matching.levels import LEVELS, RATED_LEVELS

ROUTES: dict[str, str] = {
    "POST /integrations": "integrations add", "GET /integrations": "integrations list",
    "GET /integrations/{id}": "integrations show", "PATCH /integrations/{id}": "integrations update",
    "DELETE /integrations/{id}": "integrations delete", "POST /integrations/{id}/test": "integrations test",
    "POST /integrations/{id}/webhook-token": "integrations webhook-token", "POST /tokens": "tokens create",
    "GET /organisation/channels": "channels show", "PUT /organisation/channels": "channels set",
    "GET /organisation/notification-policy": "policy show", "PUT /organisation/notification-policy": "policy set",
    "GET /organisation/base-images": "base-images show", "PUT /organisation/base-images": "base-images set",
    "GET /organisation/ignores": "ignores list", "POST /organisation/ignores": "ignores add",
    "DELETE /organisation/ignores/{ignore_id}": "ignores remove", "POST /organisation/vex": "vex import",
    "GET /integrations/{id}/images": "images", "GET /integrations/{id}/sync-policy": "sync policy show",
    "PUT /integrations/{id}/sync-policy": "sync policy set", "POST /integrations/{id}/sync": "sync run",
    "GET /integrations/{id}/sync": "sync show", "POST /imports": "import", "GET /imports": "imports list",
    "GET /imports/{id}": "imports show", "GET /imports/{id}/log": "imports log", "GET /advisories/status": "feeds",
    "GET /severity-levels": "levels", "GET /projects": "projects", "GET /projects/{id}": "project show",
    "PATCH /projects/{id}": "project set", "DELETE /projects/{id}": "project delete",
    "POST /projects/{id}/test": "project test", "GET /projects/{id}/ignores": "ignores list",
    "POST /projects/{id}/ignores": "ignores add", "DELETE /projects/{id}/ignores/{ignore_id}": "ignores remove",
    "GET /projects/{id}/export": "project export", "GET /projects/{id}/vex": "vex export",
    "POST /projects/{id}/vex": "vex import", "PUT /projects/{id}/dockerfile": "project dockerfile",
    "DELETE /projects/{id}/dockerfile": "project dockerfile", "GET /projects/{id}/base-image": "project base",
    "GET /me/notifications": "email show", "PUT /me/notifications": "email set",
    "GET /organisation/members": "members", "POST /organisation/digest": "digest send",
}
NOT_COMMANDS = {
    "POST /webhooks/quay/{integration_id}/{token}": "Quay calls it, not people",
    "GET /openapi.json": "the API's own description, for tools",
    "GET /unsubscribe": "people follow it from a mail (a signed link, no token)",
    "POST /unsubscribe": "the button of that page, and mail clients' one-click unsubscribe",
}


def _document(path: Path) -> Any:
    """A JSON or YAML file, as the API takes it."""
    import yaml  # here: every quaywatch command loads this module

    try:
        return yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None


# --- integrations, imports, levels ---------------------------------------------------------


@integrations.command("show")
@click.argument("integration_id")
@_options
def show_integration(integration_id: str, server: str, data_dir: Path | None, as_json: bool) -> None:
    """One integration (admins); its token is never shown."""
    found = _api(server, data_dir).call("GET", f"/integrations/{integration_id}")
    _print(found, as_json, ["ID", "STATUS", "URL", "USERNAME", "REPOSITORIES", "AUTO IMPORT"],
           [[found["id"], found["status"], found["url"], found["username"], found.get("repository_count"),
             found.get("auto_import")]])


@integrations.command("update")
@click.argument("integration_id")
@click.option("--username", default=None, help="Another robot account.")
@click.option("--token-stdin", is_flag=True, help="Read a new robot token from standard input.")
@click.option("--auto-import/--no-auto-import", default=None, help="Import new tags Quay's webhooks announce.")
@_options
def update_integration(integration_id: str, username: str | None, token_stdin: bool, auto_import: bool | None,
                       server: str, data_dir: Path | None, as_json: bool) -> None:
    """Change an integration's credentials or auto-import (a new token is tested first)."""
    body: dict[str, Any] = {"username": username, "auto_import": auto_import}
    if token_stdin:
        body["token"] = sys.stdin.readline().strip()
    body = {key: value for key, value in body.items() if value is not None}
    if not body:
        raise UsageError("nothing to change: give --username, --token-stdin or --auto-import/--no-auto-import")
    found = _api(server, data_dir).call("PATCH", f"/integrations/{integration_id}", body)
    _print(found, as_json, ["ID", "STATUS", "USERNAME", "AUTO IMPORT"],
           [[found["id"], found["status"], found["username"], found.get("auto_import")]])


@integrations.command("webhook-token")
@click.argument("integration_id")
@_options
def webhook_token(integration_id: str, server: str, data_dir: Path | None, as_json: bool) -> None:
    """A new webhook URL for Quay (the old one stops working); shown once."""
    found = _api(server, data_dir).call("POST", f"/integrations/{integration_id}/webhook-token")
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    click.echo(found.get("webhook_url", ""))


@imports.command("show")
@click.argument("import_id")
@_options
def show_import(import_id: str, server: str, data_dir: Path | None, as_json: bool) -> None:
    """One import job: its status and counts."""
    job = _api(server, data_dir).call("GET", f"/imports/{import_id}")
    _print(job, as_json, ["ID", "STATUS", "SUCCEEDED", "FAILED", "TOTAL"],
           [[job["id"], job["status"], job.get("succeeded"), job.get("failed"), job.get("total")]])


@click.command("levels")
@_options
def levels(server: str, data_dir: Path | None, as_json: bool) -> None:
    """The severity levels, most severe first, as counts and filters use them."""
    found = _api(server, data_dir).call("GET", "/severity-levels")
    _print(found, as_json, ["LEVEL"], [[level] for level in found.get("levels", LEVELS)])


# --- projects --------------------------------------------------------------------------------


@project.command("set")
@click.argument("project_id")
@click.option("--frequency", type=click.Choice(("daily", "weekly", "never")), default=None, help="How often to re-test.")
@click.option("--active/--inactive", default=None, help="Inactive projects are not re-tested on schedule.")
@_options
def set_project(project_id: str, frequency: str | None, active: bool | None, server: str, data_dir: Path | None,
                as_json: bool) -> None:
    """A project's settings."""
    body = {key: value for key, value in {"test_frequency": frequency, "active": active}.items() if value is not None}
    if not body:
        raise UsageError("nothing to change: give --frequency or --active/--inactive")
    found = _api(server, data_dir).call("PATCH", f"/projects/{project_id}", body)
    _print(found, as_json, ["ID", "FREQUENCY", "ACTIVE", "NEXT"], [[found["id"], found["test_frequency"],
                                                                     found["active"], found.get("next_test_at")]])


@project.command("delete")
@click.argument("project_id")
@_options
def delete_project(project_id: str, server: str, data_dir: Path | None, as_json: bool) -> None:
    """Stop monitoring a project (its tests go with it)."""
    found = _api(server, data_dir).call("DELETE", f"/projects/{project_id}")
    _print(found, as_json, ["DELETED"], [[found["deleted"]]])


# --- ignores and VEX ---------------------------------------------------------------------------


@click.group("ignores")
def ignores() -> None:
    """Ignored findings, per project (--project) or for the whole organisation (admins)."""


def _ignores_path(project_id: str | None) -> str:
    return f"/projects/{project_id}/ignores" if project_id else "/organisation/ignores"


_IGNORE_COLUMNS = ["IGNORE", "ID", "PACKAGE", "REASON", "EXPIRES", "JUSTIFICATION", "BY"]


def _ignore_row(rule: dict[str, Any]) -> list[Any]:
    return [rule["ignore_id"], rule["id"], rule.get("package") or "(any)", rule["reason"], rule.get("expires"),
            rule.get("justification"), rule.get("created_by")]


@ignores.command("list")
@click.option("--project", "project_id", default=None, help="A project's ignores (default: the organisation's).")
@_options
def list_ignores(project_id: str | None, server: str, data_dir: Path | None, as_json: bool) -> None:
    """The ignores in force."""
    found = _api(server, data_dir).call("GET", _ignores_path(project_id))
    _print(found, as_json, _IGNORE_COLUMNS, [_ignore_row(rule) for rule in found["ignores"]])


@ignores.command("add")
@click.argument("vulnerability_id")
@click.option("--reason", required=True, help="Why it is ignored (shown beside the finding).")
@click.option("--package", default=None, help="Only in this package.")
@click.option("--expires", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The day after which it no longer applies (YYYY-MM-DD).")
@click.option("--project", "project_id", default=None, help="In one project (default: the whole organisation).")
@_options
def add_ignore(vulnerability_id: str, reason: str, package: str | None, expires: Any, project_id: str | None,
               server: str, data_dir: Path | None, as_json: bool) -> None:
    """Ignore VULNERABILITY_ID (or any alias of it)."""
    body = {"vulnerability_id": vulnerability_id, "reason": reason, "package": package,
            "expires_at": expires.date().isoformat() if expires else None}
    rule = _api(server, data_dir).call("POST", _ignores_path(project_id), {k: v for k, v in body.items() if v})
    _print(rule, as_json, _IGNORE_COLUMNS, [_ignore_row(rule)])


@ignores.command("remove")
@click.argument("ignore_id")
@click.option("--project", "project_id", default=None, help="A project's ignore (default: the organisation's).")
@_options
def remove_ignore(ignore_id: str, project_id: str | None, server: str, data_dir: Path | None, as_json: bool) -> None:
    """Remove an ignore: its findings count again."""
    found = _api(server, data_dir).call("DELETE", f"{_ignores_path(project_id)}/{ignore_id}")
    _print(found, as_json, ["DELETED"], [[found["deleted"]]])


@click.group("vex")
def vex() -> None:
    """OpenVEX documents: statements in as ignores, a project's ignores and fix states out."""


@vex.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--project", "project_id", default=None, help="For one project (default: the organisation, admins).")
@_options
def import_vex(path: Path, project_id: str | None, server: str, data_dir: Path | None, as_json: bool) -> None:
    """Post the OpenVEX document PATH: its not_affected statements become ignores."""
    route = f"/projects/{project_id}/vex" if project_id else "/organisation/vex"
    api = _api(server, data_dir)
    found = api.call("POST", route, content=path.read_bytes())
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    click.echo(f"{found['ignores']} ignore(s) from {found['statements']} statement(s)")
    _print(found, False, ["STATEMENT", "VULNERABILITY", "SKIPPED BECAUSE"],
           [[s["statement"], s["vulnerability"], s["reason"]] for s in found["skipped"]])


@vex.command("export")
@click.argument("project_id")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of standard output.")
@_server_options
def export_vex(project_id: str, output: Path | None, data_dir: Path | None, server: str) -> None:
    """A project's ignores and fix statuses as an OpenVEX document (for trivy --vex, Grype)."""
    text = json.dumps(_api(server, data_dir).call("GET", f"/projects/{project_id}/vex"), indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text)


# --- organisation settings -----------------------------------------------------------------------


@click.group("channels")
def channels() -> None:
    """Where new issues are announced: webhooks, Slack, email addresses (admins)."""


@channels.command("show")
@_options
def show_channels(server: str, data_dir: Path | None, as_json: bool) -> None:
    """The notification channels."""
    _print_channels(_api(server, data_dir).call("GET", "/organisation/channels"), as_json)


@channels.command("set")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_options
def set_channels(path: Path, server: str, data_dir: Path | None, as_json: bool) -> None:
    """Replace the channels with the YAML or JSON file PATH: ``channels: [{type: webhook, url: ...},
    {type: email, to: security@example.com}]``."""
    _print_channels(_api(server, data_dir).call("PUT", "/organisation/channels", _document(path)), as_json)


def _print_channels(found: dict[str, Any], as_json: bool) -> None:
    _print(found, as_json, ["TYPE", "DESTINATION"],
           [[c.get("type"), c.get("url") or c.get("to")] for c in found.get("channels", [])])


@click.group("policy")
def policy() -> None:
    """Which new findings are notified (admins)."""


def _policy_rows(found: dict[str, Any]) -> list[list[Any]]:
    return [[found.get("min_severity") or "(any)", found.get("known_exploited_only"), found.get("fixable_only")]]


@policy.command("show")
@_options
def show_policy(server: str, data_dir: Path | None, as_json: bool) -> None:
    """The notification policy."""
    found = _api(server, data_dir).call("GET", "/organisation/notification-policy")
    _print(found, as_json, ["MIN SEVERITY", "KEV ONLY", "FIXABLE ONLY"], _policy_rows(found))


@policy.command("set")
@click.option("--min-severity", type=click.Choice((*RATED_LEVELS, "any")), default=None,
              help="Notify findings at this severity or higher (any: every one).")
@click.option("--kev-only/--no-kev-only", default=None, help="Only known-exploited findings (CISA KEV).")
@click.option("--fixable-only/--no-fixable-only", default=None, help="Only findings with a fix.")
@_options
def set_policy(min_severity: str | None, kev_only: bool | None, fixable_only: bool | None, server: str,
               data_dir: Path | None, as_json: bool) -> None:
    """Change the notification policy (what is not given stays as it is)."""
    api = _api(server, data_dir)
    body = api.call("GET", "/organisation/notification-policy")
    if min_severity is not None:
        body["min_severity"] = None if min_severity == "any" else min_severity
    if kev_only is not None:
        body["known_exploited_only"] = kev_only
    if fixable_only is not None:
        body["fixable_only"] = fixable_only
    found = api.call("PUT", "/organisation/notification-policy", body)
    _print(found, as_json, ["MIN SEVERITY", "KEV ONLY", "FIXABLE ONLY"], _policy_rows(found))


@click.group("base-images")
def base_images() -> None:
    """The repositories your images are built on, for base-image advice (admins)."""


@base_images.command("show")
@_options
def show_base_images(server: str, data_dir: Path | None, as_json: bool) -> None:
    """The base-image sources."""
    _print_sources(_api(server, data_dir).call("GET", "/organisation/base-images"), as_json)


@base_images.command("set")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_options
def set_base_images(path: Path, server: str, data_dir: Path | None, as_json: bool) -> None:
    """Replace the base-image sources with the YAML or JSON file PATH (``sources: [...]``)."""
    _print_sources(_api(server, data_dir).call("PUT", "/organisation/base-images", _document(path)), as_json)


def _print_sources(found: dict[str, Any], as_json: bool) -> None:
    _print(found, as_json, ["SOURCE"], [[json.dumps(s, sort_keys=True)] for s in found.get("sources", [])])


# --- email -----------------------------------------------------------------------------------


@click.group("email")
def email() -> None:
    """Your own mail: the address, how much (all, critical_high, none), per project, the digest."""


def _print_email(found: dict[str, Any], as_json: bool) -> None:
    rows = [["(all projects)", found.get("email") or "(no address)", found["level"], found["weekly_digest"]]]
    rows += [[project_id, "", level, ""] for project_id, level in sorted(found.get("projects", {}).items())]
    _print(found, as_json, ["PROJECT", "ADDRESS", "MAIL", "WEEKLY DIGEST"], rows)
    if not as_json and not found.get("mail_configured"):
        click.echo("note: this server sends no mail (no --smtp-url); your choices are kept for when it does", err=True)


@email.command("show")
@_options
def show_email(server: str, data_dir: Path | None, as_json: bool) -> None:
    """What quaywatch mails you."""
    _print_email(_api(server, data_dir).call("GET", "/me/notifications"), as_json)


@email.command("set")
@click.option("--to", "address", default=None, metavar="ADDRESS", help="Your address ('' removes it: no mail).")
@click.option("--level", type=click.Choice(["all", "critical_high", "none", "default"]), default=None,
              help="Which new issues: all, critical_high (critical and high only) or none.")
@click.option("--project", "project_id", default=None, metavar="ID",
              help="Set --level for this project only (--level default removes the override).")
@click.option("--digest/--no-digest", default=None, help="The weekly digest (Mondays).")
@_options
def set_email(address: str | None, level: str | None, project_id: str | None, digest: bool | None, server: str,
              data_dir: Path | None, as_json: bool) -> None:
    """Change what quaywatch mails you (what is not given stays as it is)."""
    api = _api(server, data_dir)
    current = api.call("GET", "/me/notifications")
    body = {key: current[key] for key in ("email", "level", "weekly_digest", "projects")}
    if address is not None:
        body["email"] = address or None
    if digest is not None:
        body["weekly_digest"] = digest
    if project_id is not None:
        if level is None:
            raise UsageError("--project needs --level (all, critical_high, none)")
        body["projects"] = {k: v for k, v in body["projects"].items() if k != project_id}
        if level != "default":
            body["projects"][project_id] = level
    elif level == "default":
        raise UsageError("--level default goes with --project (it removes that project's own setting)")
    elif level is not None:
        body["level"] = level
    _print_email(api.call("PUT", "/me/notifications", body), as_json)


@click.command("members")
@_options
def members(server: str, data_dir: Path | None, as_json: bool) -> None:
    """The organisation's members and what they get mailed (admins)."""
    found = {"members": _api(server, data_dir).call("GET", "/organisation/members")["members"]}
    _print(found, as_json, ["USER", "ROLE", "ADDRESS", "MAIL", "WEEKLY DIGEST", "OVERRIDES"],
           [[m["user_id"], m.get("role", ""), m.get("email") or "", m["level"], m["weekly_digest"], len(m["projects"])]
            for m in found["members"]])


@click.group("digest")
def digest() -> None:
    """The weekly digest (sent on Mondays by the schedule)."""


@digest.command("send")
@_options
def send_digest(server: str, data_dir: Path | None, as_json: bool) -> None:
    """Mail the digest to every member who wants it, now (admins)."""
    sent = _api(server, data_dir).call("POST", "/organisation/digest")
    _print(sent, as_json, ["SENT", "SKIPPED"], [[sent["sent"], sent["skipped"]]])


COMMANDS = [ignores, vex, channels, policy, base_images, levels, email, members, digest]
