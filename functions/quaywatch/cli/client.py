"""The CLI's commands that talk to a quaywatch server (embedded or an AWS API URL)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import click
import httpx

from quaywatch.errors import QuaywatchError, UsageError
from quaywatch.matching.levels import ISSUE_LEVELS, LEVELS, RATED_LEVELS

ENV_SERVER = "QUAYWATCH_SERVER"
ENV_TOKEN = "QUAYWATCH_TOKEN"


class ServerError(QuaywatchError):
    """The server answered with an error (its message is shown as is)."""


class Api:
    def __init__(self, server: str, token: str) -> None:
        self._http = httpx.Client(base_url=server.rstrip("/"), timeout=120.0,
                                  headers={"Authorization": f"Bearer {token}"})

    def call(self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None,
             content: bytes | None = None) -> Any:
        """A JSON answer; ``body`` is sent as JSON, ``content`` as it is (a document to import)."""
        response = self._request(method, path, body, params, content)
        try:
            document = response.json()
        except ValueError:
            document = None
        if response.status_code >= 400:
            error = (document or {}).get("error", {}) if isinstance(document, dict) else {}
            raise ServerError(error.get("message") or f"the server answered HTTP {response.status_code}")
        if document is None and response.content:
            raise ServerError(f"{response.request.url} answered HTTP {response.status_code} with "
                              f"{response.headers.get('content-type') or 'no content type'}, not the quaywatch API's "
                              "JSON: is --server the API's base URL?")
        return document

    def download(self, path: str, params: dict[str, str] | None = None) -> bytes:
        """A non-JSON answer (an export), as bytes."""
        response = self._request("GET", path, None, params)
        if response.status_code >= 400:
            self.call("GET", path, params=params)  # raises with the server's message
        return response.content

    def _request(self, method: str, path: str, body: Any, params: dict[str, str] | None,
                 content: bytes | None = None) -> httpx.Response:
        try:
            return self._http.request(method, path, json=body, content=content,
                                      params={k: v for k, v in (params or {}).items() if v})
        except httpx.HTTPError as exc:
            raise ServerError(f"cannot reach the quaywatch server: {exc}") from None


def _token(data_dir: Path | None) -> str:
    if os.environ.get(ENV_TOKEN):
        return os.environ[ENV_TOKEN]
    from quaywatch.runtime.embedded.server import default_data_dir

    token_file = (data_dir or default_data_dir()) / "admin-token"
    if token_file.exists():
        return token_file.read_text().strip()
    raise UsageError(f"no API token: set {ENV_TOKEN} (or run `quaywatch serve` here, which writes {token_file})")


def _server_options(function):
    """``--server`` and ``--data-dir``: which API, and where its admin token is."""
    function = click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                            help="The embedded server's data directory (for its admin token).")(function)
    function = click.option("--server", envvar=ENV_SERVER, default="http://127.0.0.1:8080", show_default=True,
                            help=f"The quaywatch API (${ENV_SERVER}).")(function)
    return function


def _options(function):
    """The server options and ``--json``."""
    function = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(function)
    return _server_options(function)


def _api(server: str, data_dir: Path | None) -> Api:
    return Api(server, _token(data_dir))


def _print(document: Any, as_json: bool, columns: list[str], rows: list[list[Any]]) -> None:
    if as_json:
        click.echo(json.dumps(document, indent=2))
        return
    # rich is imported here, not at the top: every quaywatch command loads this module.
    from rich.console import Console
    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*["" if value is None else str(value) for value in row])
    Console(soft_wrap=False, width=None if sys.stdout.isatty() else 200).print(table)


@click.group()
def integrations() -> None:
    """Quay registries connected to quaywatch (admins)."""


@integrations.command("add")
@click.argument("url")
@click.option("--username", required=True, help="Robot account, org+name.")
@click.option("--token-stdin", is_flag=True, help="Read the robot token from standard input "
                                                 "(default $QUAYWATCH_REGISTRY_TOKEN).")
@click.option("--ca-bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="PEM CA certificates of a self-hosted Quay (stored encrypted with the integration).")
@click.option("--auto-import", is_flag=True, help="Import new tags that Quay's webhooks announce.")
@_options
def add_integration(url: str, username: str, token_stdin: bool, ca_bundle: Path | None, auto_import: bool,
                    server: str, data_dir: Path | None, as_json: bool) -> None:
    """Connect the registry at URL (tests the connection first)."""
    token = sys.stdin.readline().strip() if token_stdin else os.environ.get("QUAYWATCH_REGISTRY_TOKEN", "")
    if not token:
        raise UsageError("no robot token: set QUAYWATCH_REGISTRY_TOKEN or use --token-stdin")
    body = {"kind": "quay", "url": url, "username": username, "token": token, "auto_import": auto_import}
    if ca_bundle:
        body["ca_bundle"] = ca_bundle.read_text()
    created = _api(server, data_dir).call("POST", "/integrations", body)
    _print(created, as_json, ["ID", "STATUS", "URL", "USERNAME", "REPOSITORIES"],
           [[created["id"], created["status"], created["url"], created["username"], created["repository_count"]]])
    if not as_json:
        click.echo(f"\nQuay webhook URL (shown once; paste it into the repositories' notifications):\n{created['webhook_url']}")


@integrations.command("list")
@_options
def list_integrations(server: str, data_dir: Path | None, as_json: bool) -> None:
    """The organisation's integrations (admins)."""
    document = _api(server, data_dir).call("GET", "/integrations")
    _print(document, as_json, ["ID", "STATUS", "URL", "USERNAME", "REPOSITORIES", "LAST TESTED"],
           [[i["id"], i["status"], i["url"], i["username"], i["repository_count"], _when(i.get("last_tested_at"))]
            for i in document["integrations"]])


@integrations.command("test")
@click.argument("integration_id")
@_options
def test_integration(integration_id: str, server: str, data_dir: Path | None, as_json: bool) -> None:
    """Test a saved integration's connection again (admins)."""
    document = _api(server, data_dir).call("POST", f"/integrations/{integration_id}/test")
    _print(document, as_json, ["ID", "STATUS", "REPOSITORIES"],
           [[document["id"], document["status"], document["repository_count"]]])


@integrations.command("delete")
@click.argument("integration_id")
@_options
def delete_integration(integration_id: str, server: str, data_dir: Path | None, as_json: bool) -> None:
    """Delete an integration and its stored credentials (admins)."""
    document = _api(server, data_dir).call("DELETE", f"/integrations/{integration_id}")
    _print(document, as_json, ["DELETED"], [[integration_id]])


@click.command()
@click.argument("integration_id")
@click.option("--search", default=None, help="Only repositories whose name contains this text.")
@_options
def images(integration_id: str, search: str | None, server: str, data_dir: Path | None, as_json: bool) -> None:
    """Repositories and tags of an integration."""
    api = _api(server, data_dir)
    repositories, cursor = [], None
    while True:
        page = api.call("GET", f"/integrations/{integration_id}/images", params={"search": search or "", "cursor": cursor or ""})
        repositories += page["repositories"]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    _print({"repositories": repositories}, as_json, ["REPOSITORY", "TAGS"],
           [[r["name"], ", ".join(t["name"] for t in r["tags"])] for r in repositories])


@click.command("import")
@click.argument("integration_id")
@click.argument("images_", metavar="REPO[:TAG]...", nargs=-1, required=True)
@click.option("--no-wait", is_flag=True, help="Return at once with the import id.")
@_options
def import_images(integration_id: str, images_: tuple[str, ...], no_wait: bool, server: str,
                  data_dir: Path | None, as_json: bool) -> None:
    """Import images as projects; REPO alone imports every tag. Shows progress until done."""
    selection = []
    for text in images_:
        repository, _, tag = text.partition(":")
        selection.append({"repository": repository, **({"tag": tag} if tag else {})})
    api = _api(server, data_dir)
    import_id = api.call("POST", "/imports", {"integration_id": integration_id, "images": selection})["id"]
    if no_wait:
        click.echo(json.dumps({"id": import_id}) if as_json else import_id)
        return
    status = _follow(api, import_id, quiet=as_json)
    if as_json:
        click.echo(json.dumps(status, indent=2))
    else:
        click.echo(f"import {import_id}: {status['succeeded']} succeeded, {status['failed']} failed of {status['total']}"
                   + ("  (see: quaywatch imports log " + import_id + ")" if status["failed"] else ""))
    if status["failed"]:
        sys.exit(1)  # scripts learn that not every image made it


def _follow(api: Api, import_id: str, quiet: bool) -> dict[str, Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[failed]} failed"),
                  TimeElapsedColumn(), disable=quiet, transient=False) as progress:
        task = progress.add_task("import", total=None, failed=0)
        while True:
            status = api.call("GET", f"/imports/{import_id}")
            progress.update(task, total=status["total"], completed=status["succeeded"] + status["failed"],
                            failed=status["failed"])
            if status["status"] == "completed":
                return status
            time.sleep(0.5)


@click.group()
def imports() -> None:
    """Import jobs."""


@imports.command("list")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 100), help="Imports per page.")
@click.option("--all", "every_page", is_flag=True, help="Follow every page, not only the newest.")
@_options
def list_imports(limit: int, every_page: bool, server: str, data_dir: Path | None, as_json: bool) -> None:
    """The organisation's imports, newest first: who, when, images, counts, status."""
    api = _api(server, data_dir)
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = api.call("GET", "/imports", params={"limit": str(limit), **({"cursor": cursor} if cursor else {})})
        entries += page["imports"]
        cursor = page["next_cursor"]
        if not (every_page and cursor):
            break
    rows = [[e["id"], _when(e["created_at"]), e.get("created_by") or e["source"], ", ".join(e["images"])
             + (" ..." if e["total"] > len(e["images"]) else ""), e["total"], e["succeeded"], e["failed"], e["status"]]
            for e in entries]
    _print({"imports": entries, "next_cursor": cursor}, as_json,
           ["ID", "WHEN", "BY", "IMAGES", "TOTAL", "OK", "FAILED", "STATUS"], rows)


@imports.command("log")
@click.argument("import_id")
@_options
def import_log(import_id: str, server: str, data_dir: Path | None, as_json: bool) -> None:
    """Each image of an import: its outcome, project and error."""
    document = _api(server, data_dir).call("GET", f"/imports/{import_id}/log")
    _print(document, as_json, ["IMAGE", "STATUS", "PROJECT", "ERROR", "AT"],
           [[e["image"], e["status"], e.get("project_id"), e.get("error"), e["at"]] for e in document["entries"]])


@click.command()
@click.option("--repository", default=None, help="Only the projects of this repository (namespace/name).")
@click.option("--origin", default=None, type=click.Choice(["quay"]), help="Only projects from this kind of registry.")
@click.option("--integration", "integration_id", default=None, help="Only the projects of this integration.")
@_options
def projects(repository: str | None, origin: str | None, integration_id: str | None, server: str,
             data_dir: Path | None, as_json: bool) -> None:
    """Projects grouped by repository (every page of them)."""
    api = _api(server, data_dir)
    groups: dict[str, list[dict[str, Any]]] = {}
    cursor = ""
    while True:
        page = api.call("GET", "/projects", params={"repository": repository or "", "origin": origin or "",
                                                     "integration_id": integration_id or "", "limit": "1000",
                                                     "cursor": cursor})
        for group in page["repositories"]:  # a repository may go on in the next page
            groups.setdefault(group["name"], []).extend(group["projects"])
        cursor = page.get("next_cursor") or ""
        if not cursor:
            break
    document = {"repositories": [{"name": name, "projects": found} for name, found in groups.items()]}
    rows = []
    for group in document["repositories"]:
        for p in group["projects"]:
            counts = p["issue_counts"]
            rows.append([p["id"], f"{group['name']}:{p['tag']}", p["platform"], "NEW" if p["is_new"] else "",
                         counts["critical"], counts["high"], counts["medium"], counts["low"], counts.get("negligible", 0),
                         counts.get("unknown", 0), p["finding_count"], p["test_frequency"], p.get("last_tested_at"),
                         _last_test(p)])
    _print(document, as_json, ["ID", "IMAGE", "PLATFORM", "", "CRIT", "HIGH", "MED", "LOW", "NEG", "UNRATED", "TOTAL",
                               "TESTS", "LAST TESTED", "LAST TEST"], rows)


def _last_test(project: dict[str, Any]) -> str:
    last = project.get("last_test")
    if not last:
        return ""
    return "ok" if last["status"] == "succeeded" else f"FAILED {last['at']}: {last.get('error') or ''}"


@click.group()
def project() -> None:
    """One project."""


@project.command("show")
@click.argument("project_id")
@click.option("--sort", "sort_order", type=click.Choice(("severity", "kev", "epss")), default="severity", show_default=True,
              help="Order of the findings: by severity, known-exploited first (kev), or by EPSS score.")
@_options
def show_project(project_id: str, sort_order: str, server: str, data_dir: Path | None, as_json: bool) -> None:
    """A project's details and findings (ignored ones marked)."""
    from quaywatch.matching.models import Finding
    from quaywatch.reports.findings_table import exploit_note, sort_key

    document = _api(server, data_dir).call("GET", f"/projects/{project_id}")
    findings = sorted((Finding.model_validate(f) for f in document["findings"]), key=sort_key(sort_order))
    if as_json:
        document["findings"] = [f.document() for f in findings]
        click.echo(json.dumps(document, indent=2))
        return
    click.echo(f"{document['repository']}:{document['tag']} ({document['platform']})  {document.get('digest')}")
    click.echo(f"OS: {document.get('os') or 'unknown'}   packages: {document['package_count']}   "
               f"tests: {document['test_frequency']}   last tested: {document.get('last_tested_at')}")
    _print(document, False, ["ID", "SEVERITY", "SOURCE", "EXPLOIT", "PACKAGE", "INSTALLED", "FIXED IN", "PATH", "IGNORED"],
           [[f.id, f.severity, "" if f.severity_source == "none" else f.severity_source, exploit_note(f), f.package,
             f.installed_version, f.fixed_version or f.status.value, f.path, f.ignored.reason if f.ignored else ""]
            for f in findings])


@project.command("dockerfile")
@click.argument("project_id")
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--remove", is_flag=True, help="Unlink the project's Dockerfile instead.")
@_options
def project_dockerfile(project_id: str, path: Path | None, remove: bool, server: str, data_dir: Path | None,
                       as_json: bool) -> None:
    """Link the Dockerfile PATH the project's image is built from (its final stage's base is
    the project's base image), or unlink it with --remove."""
    api = _api(server, data_dir)
    if remove:
        document = api.call("DELETE", f"/projects/{project_id}/dockerfile")
        _print(document, as_json, ["PROJECT", "DOCKERFILE"], [[project_id, "removed"]])
        return
    if path is None:
        raise click.UsageError("give the Dockerfile's PATH (or --remove)")
    document = api.call("PUT", f"/projects/{project_id}/dockerfile", {"content": path.read_text()})
    _print(document, as_json, ["PROJECT", "BASE", "FROM LINE"], [[project_id, document["base"], document["from_line"]]])


@project.command("base")
@click.argument("project_id")
@_options
def project_base(project_id: str, server: str, data_dir: Path | None, as_json: bool) -> None:
    """The project's base image, its share of the findings, and better tags with their counts."""
    document = _api(server, data_dir).call("GET", f"/projects/{project_id}/base-image")
    if as_json:
        click.echo(json.dumps(document, indent=2))
        return
    base = document["base"]
    click.echo(f"base: {base['repository']}:{base['tag']} (detected by {base['detected_by']})  {base['digest']}")
    click.echo(f"findings: {document['findings']['base']} from the base, {document['findings']['own']} from the "
               "image's own layers")
    levels = ISSUE_LEVELS
    rows = [["current", f"{base['repository']}:{base['tag']}", *(base["issue_counts"][level] for level in levels), ""]]
    rows += [[r["kind"], f"{r['repository']}:{r['tag']}", *(r["issue_counts"][level] for level in levels),
              f"{r['fewer']['critical'] + r['fewer']['high']} fewer critical/high"] for r in document["recommendations"]]
    _print(document, False, ["", "IMAGE", "CRIT", "HIGH", "MED", "LOW", ""], rows)
    if not document["recommendations"]:
        click.echo("no tag of the base repository has fewer critical and high issues")


@project.command("test")
@click.argument("project_id")
@click.option("--wait", is_flag=True, help="Wait for the test and print its outcome (exit codes below).")
@click.option("--fail-on", type=click.Choice(RATED_LEVELS, case_sensitive=False), default=None,
              help="With --wait: exit 1 when an issue of this severity or higher is open after the test.")
@click.option("--timeout", type=click.FloatRange(1, 86400), default=600, show_default=True,
              help="With --wait: seconds to wait for the test.")
@_options
def test_project(project_id: str, wait: bool, fail_on: str | None, timeout: float, server: str,
                 data_dir: Path | None, as_json: bool) -> None:
    """Queue a re-test of a project now; with --wait, wait for it.

    \b
    Exit codes with --wait:
      0  the test succeeded, no open issue at or above --fail-on
      1  the test succeeded, open issues at or above --fail-on
      2  the test failed (registry, credentials), or did not finish in --timeout
    """
    api = _api(server, data_dir)
    before = api.call("GET", f"/projects/{project_id}").get("last_test")
    document = api.call("POST", f"/projects/{project_id}/test")
    if not wait:
        _print(document, as_json, ["PROJECT", "STATUS"], [[document["project_id"], document["status"]]])
        return
    deadline = time.monotonic() + timeout
    while True:
        detail = api.call("GET", f"/projects/{project_id}")
        if detail.get("last_test") and detail["last_test"] != before:
            break
        if time.monotonic() > deadline:
            raise ServerError(f"the test of project {project_id} did not finish within {timeout:g} s")
        time.sleep(1)
    last, counts = detail["last_test"], detail["issue_counts"]
    if as_json:
        click.echo(json.dumps({"project_id": project_id, "last_test": last, "issue_counts": counts}, indent=2))
    elif last["status"] == "succeeded":
        click.echo(f"test succeeded at {last['at']}: " + ", ".join(f"{counts[level]} {level}" for level in LEVELS)
                   + f"; {counts.get('fixable', 0)} with a fix")
    else:
        click.echo(f"test failed at {last['at']}: {last.get('error')}", err=True)
    if last["status"] != "succeeded":
        sys.exit(2)
    if fail_on and any(counts[level] for level in RATED_LEVELS[:RATED_LEVELS.index(fail_on.lower()) + 1]):
        sys.exit(1)


@project.command("export")
@click.argument("project_id")
@click.option("--format", "kind", type=click.Choice(("cyclonedx", "sarif", "json", "csv")), default="cyclonedx",
              show_default=True, help="CycloneDX 1.6, SARIF 2.1.0, JSON, or CSV (one finding a line).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of standard output.")
@_server_options
def export_project(project_id: str, kind: str, output: Path | None, data_dir: Path | None, server: str) -> None:
    """The project's latest test, ignores in force, as CycloneDX, SARIF, JSON or CSV."""
    data = _api(server, data_dir).download(f"/projects/{project_id}/export", {"format": kind})
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        output.write_bytes(data)
        click.echo(f"wrote {output} ({len(data)} bytes)", err=True)


@click.group()
def schedules() -> None:
    """The embedded server's schedules."""


@schedules.command("run")
@click.argument("name")
@_options
def run_schedule(name: str, server: str, data_dir: Path | None, as_json: bool) -> None:
    """Fire a schedule now (embedded server only), e.g. `daily`, `weekly`, `Every6Hours`."""
    document = _api(server, data_dir).call("POST", f"/_embedded/schedules/{name}")
    _print(document, as_json, ["SCHEDULE", "RESULT"], [[document["schedule"], json.dumps(document["result"])]])


@click.group()
def tokens() -> None:
    """API tokens for your team (admins)."""


@tokens.command("create")
@click.option("--role", type=click.Choice(["member", "admin"]), default="member", show_default=True,
              help="Admins manage integrations, tokens and channels; members import and read.")
@click.option("--email", default=None, metavar="ADDRESS", help="The member's address for their mail.")
@_options
def create_token(role: str, email: str | None, server: str, data_dir: Path | None, as_json: bool) -> None:
    """Print a new API token for a new user of your organisation (shown once)."""
    document = _api(server, data_dir).call("POST", "/tokens", {"role": role, **({"email": email} if email else {})})
    click.echo(json.dumps(document, indent=2) if as_json else document["token"])


@click.command("feeds")
@_options
def feeds(server: str, data_dir: Path | None, as_json: bool) -> None:
    """Feed freshness on the server: each advisory feed's last result, when it last changed and
    was last checked, and what failed. Exits 1 when a feed failed or is stale (for monitoring)."""
    status = _api(server, data_dir).call("GET", "/advisories/status")
    rows = [[f["name"], f["last_result"] + (" (stale)" if f["stale"] else ""), _when(f.get("changed_at")),
             _when(f.get("checked_at")), f.get("error", "")] for f in status["feeds"]]
    _print(status, as_json, ["FEED", "RESULT", "CHANGED", "CHECKED", "PROBLEM"], rows)
    if not as_json:
        click.echo(f"store published: {_when(status['published_at']) or 'never'}"
                   + ("" if status["published_at"] else
                      f" ({status.get('message') or 'no feed has been imported yet: nothing can be matched'})"))
    if status["stale"] or any(f["last_result"] == "failed" for f in status["feeds"]):
        raise SystemExit(1)


def _when(iso: str | None) -> str:
    return iso[:19].replace("T", " ") + " UTC" if iso else ""


COMMANDS = [integrations, images, import_images, imports, feeds, projects, project, schedules, tokens]
