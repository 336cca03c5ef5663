"""``quaywatch sync``: an integration's registry-sync policy, running a sync, its last result."""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import click

from quaywatch.cli.client import Api, _api, _options, _print
from quaywatch.errors import UsageError

RULE_KEYS = {"repository": str, "tag": str, "newest": int, "max_age_days": int}


@click.group()
def sync() -> None:
    """Registry sync: quaywatch follows a registry by itself, by policy."""


@sync.group()
def policy() -> None:
    """Which tags a sync imports (admins)."""


@policy.command("show")
@click.argument("integration_id")
@_options
def show_policy(integration_id: str, server: str, data_dir: Path | None, as_json: bool) -> None:
    """The integration's sync policy."""
    document = _api(server, data_dir).call("GET", f"/integrations/{integration_id}/sync-policy")
    _print_policy(document, as_json)


@policy.command("set")
@click.argument("integration_id")
@click.option("--rule", "rules", multiple=True, metavar="'KEY=VALUE ...'",
              help="A rule: repository=RE2 tag=RE2 newest=N max_age_days=D (any of them; quote the "
                   "rule; repeat for more rules).")
@click.option("--file", "policy_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The whole policy as YAML or JSON, as the API takes it.")
@click.option("--enable/--disable", default=None, help="Run on schedule (default: as stored).")
@click.option("--frequency-hours", type=click.IntRange(2, 720), default=None, help="Hours between scheduled syncs.")
@click.option("--remove-missing/--keep-missing", default=None,
              help="Delete projects a sync made whose tag is gone or no longer wanted.")
@_options
def set_policy(integration_id: str, rules: tuple[str, ...], policy_file: Path | None, enable: bool | None,
               frequency_hours: int | None, remove_missing: bool | None, server: str, data_dir: Path | None,
               as_json: bool) -> None:
    """Store the policy: from --file, else the one stored with these options changed."""
    api = _api(server, data_dir)
    if policy_file is not None:
        if rules:
            raise UsageError("give the rules in --file or with --rule, not both")
        document = _read_policy(policy_file)
    else:
        document = api.call("GET", f"/integrations/{integration_id}/sync-policy")
        if rules:
            document["rules"] = [parse_rule(text) for text in rules]
    for key, value in (("enabled", enable), ("frequency_hours", frequency_hours), ("remove_missing", remove_missing)):
        if value is not None:
            document[key] = value
    _print_policy(api.call("PUT", f"/integrations/{integration_id}/sync-policy", document), as_json)


@sync.command("run")
@click.argument("integration_id")
@click.option("--dry-run", is_flag=True, help="Refresh the index and show the plan; import and remove nothing.")
@click.option("--no-wait", is_flag=True, help="Return at once with the sync id.")
@_options
def run_sync(integration_id: str, dry_run: bool, no_wait: bool, server: str, data_dir: Path | None,
             as_json: bool) -> None:
    """Run a sync now and follow it; exits 1 when it fails."""
    api = _api(server, data_dir)
    started = api.call("POST", f"/integrations/{integration_id}/sync", {"dry_run": dry_run})
    if no_wait:
        click.echo(json.dumps(started) if as_json else started["id"])
        return
    result = _follow(api, integration_id, started["id"], quiet=as_json)
    _print_result(result, as_json)
    if result["status"] == "failed":
        sys.exit(1)


@sync.command("show")
@click.argument("integration_id")
@_options
def show_sync(integration_id: str, server: str, data_dir: Path | None, as_json: bool) -> None:
    """The last sync and its plan."""
    _print_result(_api(server, data_dir).call("GET", f"/integrations/{integration_id}/sync"), as_json)


def parse_rule(text: str) -> dict[str, Any]:
    """``repository=acme/.* tag='v\\d+' newest=3`` -> a rule of the policy."""
    rule: dict[str, Any] = {}
    try:
        words = shlex.split(text, posix=True)
    except ValueError as exc:
        raise UsageError(f"--rule {text!r}: {exc}") from None
    for word in words:
        key, separator, value = word.partition("=")
        if not separator or key not in RULE_KEYS:
            raise UsageError(f"--rule {text!r}: {word!r} is not one of {', '.join(k + '=...' for k in RULE_KEYS)}")
        try:
            rule[key] = RULE_KEYS[key](value)
        except ValueError:
            raise UsageError(f"--rule {text!r}: {key} must be a whole number") from None
    if not rule:
        raise UsageError("--rule needs at least one of repository=, tag=, newest=, max_age_days=")
    return rule


def _read_policy(path: Path) -> dict[str, Any]:
    import yaml

    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not YAML or JSON ({exc})") from None
    if not isinstance(document, dict):
        raise UsageError(f"{path}: a policy is a mapping (enabled, frequency_hours, rules, remove_missing)")
    return document


def _follow(api: Api, integration_id: str, sync_id: str, quiet: bool) -> dict[str, Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("syncing repositories"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  disable=quiet, transient=False) as progress:
        task = progress.add_task("sync", total=None)
        while True:
            result = api.call("GET", f"/integrations/{integration_id}/sync")
            if result["id"] == sync_id:
                progress.update(task, total=result["repositories"] or None, completed=result["repositories_done"])
                if result["status"] != "running":
                    return result
            time.sleep(0.5)


def _print_policy(document: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(document, indent=2))
        return
    click.echo(f"enabled: {'yes' if document['enabled'] else 'no'}, every {document['frequency_hours']} h, "
               f"remove missing: {'yes' if document['remove_missing'] else 'no'}")
    _print(document, False, ["REPOSITORY", "TAG", "NEWEST", "MAX AGE (DAYS)"],
           [[r.get("repository", "(any)"), r.get("tag", "(any)"), r.get("newest"), r.get("max_age_days")]
            for r in document["rules"]])


def _print_result(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    if result["status"] == "failed":
        click.echo(f"sync {result['id']} failed: {result['error']}", err=True)
        return
    kind = "dry run" if result["dry_run"] else "sync"
    click.echo(f"{kind} {result['id']} {result['status']}: {result['repositories']} repositories, {result['tags']} tags; "
               f"{len(result['to_import'])} to import, {len(result['to_remove'])} to remove"
               + (f", {len(result['left_out'])} left out (over the limit a run imports)" if result["capped"] else "")
               + (f"; {result['throttled']} rate-limited answers" if result["throttled"] else ""))
    rows = [["import", e["repository"], e["tag"], e["digest"][:19]] for e in result["to_import"]]
    rows += [["remove", e["repository"], e["tag"], e["project_id"]] for e in result["to_remove"]]
    if rows:
        _print(result, False, ["ACTION", "REPOSITORY", "TAG", "DIGEST / PROJECT"], rows)
    if not result["dry_run"] and result["import_id"]:
        click.echo(f"import {result['import_id']} started (quaywatch imports log {result['import_id']})")
