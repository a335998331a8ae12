"""The root command's lazy loading: each top-level command or group names the module
that defines it, and that module is imported only when its command runs.

``plugwire --help`` shows the help texts registered here without importing any
command module (tests/test_cli_startup.py keeps them equal to the modules' own);
``plugwire connections list`` imports the connections module alone. A module is
loaded by calling its ``attach(app)`` on a throwaway ``typer.Typer`` and taking the
command by name, so the modules stay ordinary typer code.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from plugwire.core.cli.coercion import plain_values
from plugwire.core.cli.commands import COMMANDS, available

__all__ = ["COMMANDS", "LazyGroup", "available", "load_command", "quiet_flags"]

def load_command(name: str) -> Any:
    """Import the module of the registered command ``name`` and return its click
    command (a group for a command group); raises ``KeyError`` for an unknown name."""
    command = _attached(COMMANDS[name][0]).commands[name]
    quiet_flags(command)
    plain_values(command)  # text and numbers past typer's pydantic adapters
    return command


@functools.cache
def _attached(module_name: str) -> Any:
    # Once per module: `attach` adds to module-level typer apps, and `suggest` and
    # `knowledge` come from the same module.
    module = importlib.import_module(module_name)
    scratch = typer.Typer()
    module.attach(scratch)
    return typer.main.get_group(scratch)


def quiet_flags(command: Any, ctx: Any = None) -> None:
    """Drop the ``<bool>`` type typer's help shows beside every on/off flag (a flag
    takes no value, so the type is noise), in ``command`` and every subcommand.

    A help option is made on first use; ``ctx`` (when given) lets it be made now so
    that it is quietened too.
    """
    for param in command.params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    if ctx is not None:
        _quiet_help(command.get_help_option(ctx))
    for sub in (getattr(command, "commands", None) or {}).values():
        quiet_flags(sub, ctx)


def _quiet_help(helper: Any) -> None:
    if helper is None:
        return
    helper.metavar = ""
    # typer coerces a flag through a pydantic TypeAdapter unless its value is already
    # a bool; --help's unset value is None, which cost every command the import of
    # pydantic (50 ms) for a flag that was not even given.
    helper.default = False


class _Summary(TyperCommand):
    """Stands for a command in the root's help: its registered help text, nothing loaded."""


class LazyGroup(TyperGroup):
    """The root ``plugwire`` group: lists the registered commands and imports a
    command's module only when that command is asked for."""

    _summaries_only = False

    def list_commands(self, ctx: Any) -> list[str]:
        """Return the registered commands, then any added directly."""
        names = available()
        return names + [n for n in self.commands if n not in names]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """Return the command ``cmd_name``, importing its module on first use (while
        the root's help is drawn, a summary that imports nothing)."""
        found = self.commands.get(cmd_name)
        if found is not None:
            return found
        if cmd_name not in COMMANDS or cmd_name not in available():
            return None
        if self._summaries_only:
            return _Summary(name=cmd_name, help=COMMANDS[cmd_name][1], callback=None)
        command = load_command(cmd_name)
        quiet_flags(command, ctx)
        self.commands[cmd_name] = command
        return command

    def get_help_option(self, ctx: Any) -> Any:
        """Return the ``--help`` option, without its ``<bool>`` type."""
        helper = super().get_help_option(ctx)
        _quiet_help(helper)
        return helper

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """Draw the root's help from the registered texts, importing no command module."""
        quiet_flags(self)
        self._summaries_only = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._summaries_only = False

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """Resolve a command name; a mistyped one is answered with the close registered names."""
        from typer._click.exceptions import UsageError

        try:
            return self._click_resolve_command(ctx, args)
        except UsageError as exc:
            if args:
                from difflib import get_close_matches

                matches = get_close_matches(args[0], self.list_commands(ctx))
                if matches:
                    exc.message = f"{exc.message.rstrip('.')}. Did you mean {', '.join(repr(m) for m in matches)}?"
            raise
