"""Every route of the API has a CLI command (``quaywatch.cli.settings.ROUTES``) or a reason
not to (``NOT_COMMANDS``): a route added without a command fails here."""

from __future__ import annotations

import click
from quaywatch.cli.main import cli
from quaywatch.cli.settings import NOT_COMMANDS, ROUTES
from quaywatch.runtime.template import Template


def api_routes() -> set[str]:
    return {f"{event['Properties']['Method'].upper()} {event['Properties']['Path']}"
            for function in Template.load().functions().values()
            for event in function["Properties"].get("Events", {}).values() if event["Type"] == "Api"}


def command_names(group: click.Group = cli, prefix: str = "") -> set[str]:
    names = set()
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            names |= command_names(command, f"{prefix}{name} ")
        else:
            names.add(f"{prefix}{name}")
    return names


def test_every_route_has_a_command_and_every_named_command_exists() -> None:
    routes = api_routes()
    assert routes - ROUTES.keys() - NOT_COMMANDS.keys() == set(), "routes without a CLI command"
    assert ROUTES.keys() - routes == set(), "commands named for routes that do not exist"
    assert set(ROUTES.values()) - command_names() == set(), "ROUTES names commands the CLI lacks"


def test_every_command_prints_json_for_scripts() -> None:
    """The commands that call the API take --json (the exports write their own formats)."""
    lacking = []
    for name in set(ROUTES.values()) - {"project export", "vex export", "import"}:
        command: click.Command = cli
        for part in name.split():
            command = command.commands[part]  # type: ignore[attr-defined]
        if not any("--json" in option.opts for option in command.params if isinstance(option, click.Option)):
            lacking.append(name)
    assert lacking == []
