"""Every command and option of the CLI explains itself in --help."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner
from quaywatch.cli.main import cli


def _commands(command: click.Command, path: tuple[str, ...] = ("quaywatch",)):
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(cli))


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_and_option_has_help(path, command) -> None:
    assert command.help or command.short_help, f"{' '.join(path)} has no help text"
    undocumented = [p.opts[0] for p in command.params if isinstance(p, click.Option) and not p.help]
    assert undocumented == [], f"{' '.join(path)}: {undocumented}"
    result = CliRunner().invoke(cli, [*path[1:], "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output

