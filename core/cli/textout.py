"""Tables and labelled lines for the terminal, written without rich.

rich's console, table and text machinery cost a command ~0.03 s of start-up (a
tenth of ``plugwire suggest``), and tables are all most commands print. This module
draws the same tables as rich's default (a heavy head, light rules) and bold or
coloured labels, from the standard library alone. Text is never read as markup:
``[bold]`` that a user typed is printed as typed.

Width: ``COLUMNS`` when set, else the terminal's, else 80 (as rich decides it).
Styles (bold, italic, colour) only on a terminal, or with ``FORCE_COLOR``; never
with ``TERM=dumb``; ``NO_COLOR`` drops colours and keeps bold.
"""

from __future__ import annotations

import json
import os
import sys
import unicodedata
from typing import Any, TextIO

__all__ = ["KEY", "SHORT", "TEXT", "cell_len", "paint", "print_json", "print_table", "say", "terminal_width", "wrap"]

# Column kinds of :func:`print_table`.
KEY = "key"  # ids and names: never cut, never wrapped (users copy them)
SHORT = "short"  # short values (a status, a number, a timestamp): kept on one line
TEXT = "text"  # free text (an error, a summary): wrapped at words to fit
_TEXT_MIN = 16

_SGR = {"bold": "1", "italic": "3", "red": "31", "green": "32", "yellow": "33", "cyan": "36", "dim": "2"}
_COLOURS = {"red", "green", "yellow", "cyan"}


def terminal_width(stream: TextIO | None = None) -> int:
    """Return the width to draw for: ``COLUMNS``, the terminal's, or 80."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    stream = stream or sys.stdout
    try:
        if stream.isatty():
            return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, OSError, ValueError):
        pass
    return 80


def _styled(stream: TextIO) -> bool:
    if os.environ.get("TERM") == "dumb":
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def paint(text: str, style: str, stream: TextIO) -> str:
    """Return ``text`` in ``style`` (space-separated names: bold, italic, dim, red,
    green, yellow, cyan) for ``stream``: as it is where styles are off."""
    if not style or not text or not _styled(stream):
        return text
    names = style.split()
    if os.environ.get("NO_COLOR"):
        names = [n for n in names if n not in _COLOURS]
    codes = ";".join(_SGR[n] for n in names if n in _SGR)
    return f"\x1b[{codes}m{text}\x1b[0m" if codes else text


def say(label: str, text: str = "", *, style: str = "bold", err: bool = False) -> None:
    """Print ``label`` (styled) and then ``text`` as typed, on one line of stdout
    (stderr with ``err``): ``say("Why:", reason)``."""
    stream = sys.stderr if err else sys.stdout
    line = paint(label, style, stream) + (" " + text if text and label else text)
    stream.write(line + "\n")
    stream.flush()


def print_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout, nothing else."""
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def cell_len(text: str) -> int:
    """Return the columns ``text`` takes on a terminal (wide characters count two)."""
    if text.isascii():
        return len(text)
    width = 0
    for ch in text:
        if unicodedata.combining(ch) or ch in "\u200b\u200d":
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def _fold(word: str, width: int) -> list[str]:
    """Cut a word longer than ``width`` into pieces of at most ``width`` columns."""
    pieces, piece = [], ""
    for ch in word:
        if piece and cell_len(piece + ch) > width:
            pieces.append(piece)
            piece = ""
        piece += ch
    return pieces + [piece]


def wrap(text: str, width: int) -> list[str]:
    """Wrap ``text`` at spaces to lines of at most ``width`` columns (a longer word is
    folded); its own line breaks are kept."""
    out: list[str] = []
    for line in text.splitlines() or [""]:
        current = ""
        for word in line.split(" "):
            candidate = f"{current} {word}" if current else word
            if cell_len(candidate) <= width:
                current = candidate
                continue
            if current:
                out.append(current)
            pieces = _fold(word, width) if cell_len(word) > width else [word]
            out.extend(pieces[:-1])
            current = pieces[-1]
        out.append(current)
    return out


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - cell_len(text))


def _widths(columns: list[tuple[str, str]], cells: list[list[str]], room: int) -> list[int]:
    """Column widths: KEY and SHORT columns their longest line; TEXT columns their
    longest line (at least 16), shrunk together to what is left of ``room``."""
    natural = [max(_longest(i, header, cells), _TEXT_MIN) if kind == TEXT else _longest(i, header, cells)
               for i, (header, kind) in enumerate(columns)]
    text_cols = [i for i, (_, kind) in enumerate(columns) if kind == TEXT]
    left = room - 3 * len(columns) - 1 - sum(w for i, w in enumerate(natural) if i not in text_cols)
    widths = list(natural)
    # Share what is left among the TEXT columns; a column that needs less than its
    # share keeps its width and gives the rest to the others.
    pending = sorted(text_cols, key=lambda i: natural[i])
    while pending:
        share = max(_TEXT_MIN, left // len(pending))
        i = pending.pop(0)
        widths[i] = min(natural[i], share)
        left -= widths[i]
    return widths


def _longest(i: int, header: str, cells: list[list[str]]) -> int:
    """Return the widest line of column ``i``, its header included."""
    return max([cell_len(header)] + [cell_len(line) for row in cells for line in row[i].splitlines() or [""]])


def _fits(columns: list[tuple[str, str]], cells: list[list[str]], room: int) -> bool:
    """Return True when the KEY and SHORT columns whole, and each TEXT column at its
    narrowest, fit in ``room`` columns."""
    fixed = sum(_TEXT_MIN if kind == TEXT else _longest(i, header, cells) for i, (header, kind) in enumerate(columns))
    return fixed + 3 * len(columns) + 1 <= room


def print_table(columns: list[tuple[str, str]], rows: list[list[Any]], *, title: str | None = None, err: bool = False) -> None:
    """Print ``rows`` under ``columns`` (``(header, KEY | SHORT | TEXT)`` pairs).

    KEY and SHORT cells are never cut; TEXT cells wrap at words to the room left.
    When the KEY and SHORT cells alone do not fit the terminal's width, each row is
    printed as its own block of ``header  value`` lines instead, so that nothing is
    cut at 80 columns.
    """
    stream = sys.stderr if err else sys.stdout
    room = terminal_width(stream)
    cells = [["" if v is None else str(v) for v in row] for row in rows]
    lines: list[str] = []
    if _fits(columns, cells, room) or not cells:
        widths = _widths(columns, cells, room)
        if title:
            lines.append(paint(title, "italic", stream))

        def rule(left: str, fill: str, mid: str, right: str) -> str:
            return left + mid.join(fill * (w + 2) for w in widths) + right

        lines.append(rule("┏", "━", "┳", "┓"))
        lines.append("┃" + "┃".join(" " + paint(_pad(h, w), "bold", stream) + " " for (h, _), w in zip(columns, widths)) + "┃")
        lines.append(rule("┡", "━", "╇", "┩"))
        for row in cells:
            parts = [wrap(value, w) if kind == TEXT else (value.splitlines() or [""]) for value, (_, kind), w in zip(row, columns, widths)]
            for n in range(max(len(p) for p in parts)):
                lines.append("│" + "│".join(" " + _pad(p[n] if n < len(p) else "", w) + " " for p, w in zip(parts, widths)) + "│")
        lines.append(rule("└", "─", "┴", "┘"))
    else:
        if title:
            lines.append(paint(title, "bold", stream))
        width = max(cell_len(h) for h, _ in columns)
        for n, row in enumerate(cells):
            if n:
                lines.append("")
            for (header, _kind), value in zip(columns, row):
                head = paint(_pad(header, width), "bold", stream)
                for k, line in enumerate(wrap(value, max(1, room - width - 2))):
                    lines.append((head if k == 0 else " " * width) + "  " + line)
    stream.write("\n".join(lines) + "\n")
    stream.flush()
