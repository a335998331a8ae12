"""Helpers every command group uses: consoles, JSON output, secret input."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from plugwire.core.base.errors import UserInputError
from plugwire.core.cli.textout import KEY, SHORT, TEXT, print_json, print_table, say

if TYPE_CHECKING:
    from rich.console import Console

    from plugwire.core.storage.home import Home

__all__ = [
    "JSON_OPTION",
    "KEY",
    "SHORT",
    "TEXT",
    "console",
    "err_console",
    "escape",
    "home",
    "print_json",
    "print_table",
    "read_mapping",
    "read_secret",
    "say",
    "stdin_is_interactive",
]


class _LazyConsole:
    """A rich ``Console`` made on first use: tables and labelled lines need no rich
    (:mod:`.textout`), and importing it costs a command ~0.03 s of start-up."""

    def __init__(self, **options: Any):
        self._options = options
        self._console: Console | None = None

    def real(self) -> Console:
        """Return the rich ``Console`` itself (made now if it was not yet)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real(), name)

    # Special methods are looked up on the type, not through __getattr__: rich's Live
    # (a progress bar) enters the console it is given.
    def __enter__(self) -> Console:
        return self.real().__enter__()

    def __exit__(self, *exc: Any) -> None:
        self.real().__exit__(*exc)


def escape(text: str) -> str:
    """Return ``text`` with rich markup escaped (rich's own rule, imported on use)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


console: Console = _LazyConsole(highlight=False, soft_wrap=True)  # type: ignore[assignment]
err_console: Console = _LazyConsole(stderr=True, highlight=False, soft_wrap=True)  # type: ignore[assignment]

JSON_OPTION = typer.Option(False, "--json", help="Print JSON for scripts instead of tables.")


def home() -> Home:
    """Return the data folder named by PLUGWIRE_HOME (or the per-user default)."""
    # Imported here: every command module imports this one, and `--help` needs no store.
    from plugwire.core.storage.home import get_home

    return get_home()


def stdin_is_interactive() -> bool:
    """Return True when a person can answer a prompt."""
    return sys.stdin is not None and sys.stdin.isatty() and not os.environ.get("CI")


def read_mapping(path: Path, field: str, what: str, *, label: str = "") -> dict[str, Any]:
    """Return the one mapping a JSON or YAML file holds (``what`` says what it should
    hold, for the message; ``label`` prefixes it, e.g. ``"--from-file: "``).

    Raises ``UserInputError`` naming ``field`` when the file cannot be read, is not
    UTF-8, JSON or YAML, nests too deeply, has a YAML alias bomb or loop, or holds
    something else than a mapping.
    """
    import yaml

    from plugwire.knowledge.bounds import check_tree, too_deep

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UserInputError(f"{label}cannot read {path} ({exc.strerror}).", field=field, fix="give a readable file") from None
    except UnicodeDecodeError:
        raise UserInputError(f"{label}{path} is not UTF-8 text.", field=field, fix="save it as UTF-8 JSON or YAML") from None
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except RecursionError:
        raise too_deep(f"{label}{path}", field) from None
    except yaml.YAMLError as exc:
        raise UserInputError(f"{label}{path} is not valid JSON or YAML ({exc}).", field=field, fix="fix the file") from None
    check_tree(data, f"{label}{path}", field=field)
    if not isinstance(data, dict):
        raise UserInputError(f"{label}{path} must hold one mapping ({what}).", field=field, fix="write a JSON object")
    return data


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
