"""``plugwire --help`` and ``plugwire --version`` without typer, click or rich.

They are what a newcomer types first, and typer's help drawn by rich costs ~0.07 s
of start-up (issue 14). :func:`plain_root` answers exactly ``--help`` and
``--version`` written alone; anything else (no arguments, a command, another option)
goes through typer as before. The help is drawn the way typer draws it with rich (the
rounded Options and Commands panels, the same column widths and word wrapping,
rich's styles on a terminal), from the same texts (:mod:`.commands`);
tests/test_cli_roothelp.py compares the two outputs byte for byte at several widths.
"""

from __future__ import annotations

import sys
from typing import Callable, TextIO

from plugwire.core.cli.commands import COMMANDS, ROOT_HELP, VERSION_HELP, available, version_text
from plugwire.core.cli.textout import cell_len, paint, terminal_width, wrap

__all__ = ["HELP_HELP", "NARROW", "USAGE", "plain_root", "root_help"]

USAGE = "plugwire [OPTIONS] COMMAND [ARGS]..."
HELP_HELP = "Show this message and exit."  # click's text for --help

# typer's options table has, after the option's name, four more columns (short
# names, negative forms, their short names, the value's type), empty here: each
# costs its padding of one space on either side.
_OPTION_GAP = 1 + 4 * 2 + 1
NARROW = 50  # below this width, typer draws the help
_COMMAND_GAP = 1 + 1


def plain_root(args: list[str]) -> int | None:
    """Print the root's help or version for ``["--help"]`` or ``["--version"]`` and
    return the exit code 0; return None for anything else (typer answers it)."""
    if args == ["--help"]:
        width = terminal_width(sys.stdout)
        if width < NARROW:
            return None  # rich narrows the columns too: typer draws it
        sys.stdout.write(root_help(width, stream=sys.stdout))
    elif args == ["--version"]:
        sys.stdout.write(version_text() + "\n")
    else:
        return None
    sys.stdout.flush()
    return 0


def root_help(width: int, *, stream: TextIO | None = None) -> str:
    """Return the root's help as typer draws it with rich at ``width`` columns, with
    rich's styles where ``stream`` takes them (:func:`textout.paint`)."""

    def styled(text: str, style: str) -> str:
        return text if stream is None else paint(text, style, stream)

    lines = [
        " " * width,
        _line(" " + styled("Usage:", "bold yellow") + " " + styled(USAGE, "bold"), width),
        " " * width,
        *(_line(" " + piece, width) for piece in wrap(ROOT_HELP, max(1, width - 2))),
        " " * width,
    ]
    options = [("--version", VERSION_HELP), ("--help", HELP_HELP)]
    lines += _panel("Options", options, width, _OPTION_GAP, styled)
    commands = [(name, COMMANDS[name][1]) for name in available()]
    lines += _panel("Commands", commands, width, _COMMAND_GAP, styled)
    return "\n".join(lines) + "\n\n"


def _line(text: str, width: int) -> str:
    visible = cell_len(_plain(text))
    return text + " " * max(0, width - visible)


def _plain(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\x1b":
            i = text.index("m", i) + 1
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def _panel(title: str, rows: list[tuple[str, str]], width: int, gap: int, paint: Callable[[str, str], str]) -> list[str]:
    """A rounded panel titled ``title``: each row's name, then its help wrapped in the
    room left (rich's table with ``expand``: the help column takes the rest)."""
    name_width = max(cell_len(name) for name, _help in rows)
    help_width = max(1, width - 4 - name_width - gap)
    border = "╭─ " + title + " " + "─" * max(0, width - cell_len(title) - 5) + "╮"
    out = [paint(border, "dim")]
    side = paint("│", "dim")
    for name, text in rows:
        for i, piece in enumerate(wrap(text, help_width)):
            left = paint(name, "bold cyan") + " " * (name_width - cell_len(name)) if i == 0 else " " * name_width
            out.append(side + " " + left + " " * gap + piece + " " * (help_width - cell_len(piece)) + " " + side)
    out.append(paint("╰" + "─" * (width - 2) + "╯", "dim"))
    return out
