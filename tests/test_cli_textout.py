"""Tables and labelled lines drawn without rich (core/cli/textout.py, issue 14):
ids and names whole at any width, free text wrapped at words, a block per row when
even the names do not fit, text printed as typed, styles only on a terminal."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys

import pytest

from plugwire.core.cli.textout import KEY, SHORT, TEXT, cell_len, print_table, say, wrap

ID = "j_1a234f96c0d4e5f60718293a4b5c6d7e"
LONG = "The upstream API answered 400 because the field country must hold two letters such as US or DE"


def _table(capsys, monkeypatch, columns, rows, width, **kw) -> list[str]:
    monkeypatch.setenv("COLUMNS", str(width))
    print_table(columns, rows, **kw)
    return capsys.readouterr().out.splitlines()


def test_a_table_keeps_ids_whole_and_wraps_text_to_the_width(capsys, monkeypatch):
    lines = _table(capsys, monkeypatch, [("id", KEY), ("status", SHORT), ("error", TEXT)], [[ID, "failed", LONG]], 80)
    assert all(cell_len(line) <= 80 for line in lines), lines
    assert lines[0].startswith("┏") and lines[-1].startswith("└") and "┃ id " in lines[1]
    assert any(ID in line for line in lines)
    body = [line for line in lines if line.startswith("│")]
    assert len(body) > 1  # the error wrapped
    text = " ".join(line.split("│")[3].strip() for line in body)
    assert text == LONG  # wrapped at words, nothing lost
    assert len({len(line) for line in lines}) == 1  # every line as wide as the table


def test_a_narrow_terminal_prints_blocks_with_everything_whole(capsys, monkeypatch):
    lines = _table(capsys, monkeypatch, [("id", KEY), ("recipe", KEY), ("error", TEXT)],
                   [[ID, "nightly-invoice-export-to-the-ledger", LONG], ["j_2", "x", "ok"]], 60)
    assert all(cell_len(line) <= 60 for line in lines), lines
    assert not any(ch in "".join(lines) for ch in "┏│└")
    assert f"id      {ID}" in lines and "" in lines  # a blank line between rows
    assert " ".join(line[8:] for line in lines[2:lines.index("")]) == LONG


def test_a_word_longer_than_its_column_is_folded_not_cut():
    assert wrap("a " + "x" * 40, 16) == ["a", "x" * 16, "x" * 16, "x" * 8]
    assert wrap("two\nlines", 16) == ["two", "lines"]


def test_wide_characters_count_two_columns(capsys, monkeypatch):
    lines = _table(capsys, monkeypatch, [("name", KEY), ("note", TEXT)], [["请求", "日本語のテキスト " * 6]], 50)
    assert len({cell_len(line) for line in lines}) == 1 and cell_len(lines[0]) <= 50


def test_text_is_printed_as_typed_and_unstyled_off_a_terminal(capsys, monkeypatch):
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    say("Why:", "[bold]not markup[/] \\[x]")
    lines = _table(capsys, monkeypatch, [("a", KEY)], [["[red]x[/red]"]], 80)
    assert "[red]x[/red]" in "".join(lines) and "\x1b" not in "".join(lines)


def test_styles_follow_force_color_term_dumb_and_no_color(capsys, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("NO_COLOR", raising=False)
    say("Warning:", "x", style="yellow", err=True)
    assert capsys.readouterr().err == "\x1b[33mWarning:\x1b[0m x\n"
    monkeypatch.setenv("NO_COLOR", "1")
    say("Warning:", "x", style="bold yellow")
    assert capsys.readouterr().out == "\x1b[1mWarning:\x1b[0m x\n"  # colour dropped, bold kept
    monkeypatch.setenv("TERM", "dumb")
    say("Why:", "x")
    assert capsys.readouterr().out == "Why: x\n"


def test_an_empty_table_still_shows_its_headers(capsys, monkeypatch):
    lines = _table(capsys, monkeypatch, [("name", KEY), ("about", TEXT)], [], 80, title="Nothing yet")
    assert lines[0] == "Nothing yet" and "┃ name ┃" in lines[2]


@pytest.mark.skipif(sys.platform == "win32", reason="pty is POSIX")
def test_on_a_terminal_the_width_is_the_terminals_and_headers_are_bold(tmp_path):
    """Through a real pseudo-terminal: no COLUMNS, the terminal's own width."""
    code = (
        "import fcntl, struct, termios, sys\n"
        "fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 50, 0, 0))\n"
        "from plugwire.core.cli.textout import print_table, KEY, TEXT\n"
        f"print_table([('id', KEY), ('error', TEXT)], [[{ID!r}, {LONG!r}]])\n"
    )
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR", "NO_COLOR", "TERM")}
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=follower, stdout=follower, stderr=subprocess.PIPE, env=env)
    os.close(follower)
    out = io.BytesIO()
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        out.write(chunk)
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    os.close(leader)
    text = out.getvalue().decode()
    assert "\x1b[1mid" in text
    plain = text.replace("\x1b[1m", "").replace("\x1b[0m", "")
    assert all(cell_len(line) <= 50 for line in plain.splitlines()) and ID in plain
