"""Helpers every command group uses: consoles, JSON output, secret input."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from plugwire.core.base.errors import UserInputError
from plugwire.core.storage.home import Home, get_home

__all__ = [
    "JSON_OPTION",
    "console",
    "err_console",
    "home",
    "print_json",
    "read_secret",
    "stdin_is_interactive",
]

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

JSON_OPTION = typer.Option(False, "--json", help="Print JSON for scripts instead of tables.")


def home() -> Home:
    """Return the data folder named by PLUGWIRE_HOME (or the per-user default)."""
    return get_home()


def print_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout, nothing else."""
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def stdin_is_interactive() -> bool:
    """Return True when a person can answer a prompt."""
    return sys.stdin is not None and sys.stdin.isatty() and not os.environ.get("CI")


def read_secret(source: str, field: str, usage: str | None = None) -> str:
    """Return a secret from ``env:VAR``, ``file:PATH``, ``-`` (a line of stdin) or
    ``prompt`` (hidden input).

    ``usage`` shows how the source is written on the command line, with ``{}`` where
    the source goes (``"--secret password={}"``); it defaults to ``field={}``.
    Never accepts the secret itself on the command line: a plain value is refused
    with a ``UserInputError`` naming ``field`` and the sources it can come from.
    """
    how = usage or field + "={}"
    kind, _, rest = source.partition(":")
    if source == "prompt":
        if not stdin_is_interactive():
            raise UserInputError(
                f"{field} must be typed at a prompt, but there is no terminal.",
                field=field,
                fix=f"pass {how.replace('{}', 'env:VAR')} or {how.replace('{}', 'file:PATH')}",
            )
        return typer.prompt(f"{field}", hide_input=True)
    if source == "-":
        line = sys.stdin.readline()
        if not line:
            raise UserInputError(f"{field}: standard input was empty.", field=field, fix="pipe the secret in, one line")
        return line.rstrip("\r\n")
    if kind == "env" and rest:
        value = os.environ.get(rest)
        if value is None:
            raise UserInputError(
                f"{field}: the environment variable {rest} is not set.", field=field, fix=f"export {rest}=... first"
            )
        return value
    if kind == "file" and rest:
        path = Path(rest).expanduser()
        try:
            return path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise UserInputError(
                f"{field}: cannot read {path} ({exc.strerror}).", field=field, fix="give a readable file"
            ) from None
    raise UserInputError(
        f"{field} must not be given on the command line (it would stay in your shell history).",
        field=field,
        fix=f"use {how.replace('{}', 'env:VAR')}, {how.replace('{}', 'file:PATH')}, {how.replace('{}', '-')} (stdin) or {how.replace('{}', 'prompt')}",
    )
