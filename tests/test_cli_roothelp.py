"""``plugwire --help`` and ``--version`` written alone are answered without typer,
click or rich (core/cli/roothelp.py, issue 14's start-up time), and say exactly what
typer says: the outputs are compared byte for byte, each from a fresh process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

_TYPER = "from plugwire.core.cli.root import run_typer; import sys; sys.exit(run_typer({args!r}))"
_PLAIN = "from plugwire.core.cli import main\ntry:\n    main({args!r})\nexcept SystemExit as exc:\n    assert not exc.code, exc.code"
_MODULES = "\nimport sys, json; print('MODULES=' + json.dumps(sorted(sys.modules)), file=sys.stderr)"


def _run(code: str, tmp_path, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR", "TERM", "COLUMNS")}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={**base, "PLUGWIRE_HOME": str(tmp_path / "home"), **env},
    )


def _both(args: list[str], tmp_path, **env: str) -> tuple[str, str]:
    plain = _run(_PLAIN.format(args=args), tmp_path, **env)
    typer = _run(_TYPER.format(args=args), tmp_path, **env)
    assert plain.returncode == typer.returncode == 0, (plain.stderr, typer.stderr)
    return plain.stdout, typer.stdout


@pytest.mark.parametrize("width", [50, 57, 64, 72, 80, 99, 100, 132, 200])
def test_the_root_help_is_typers_byte_for_byte(tmp_path, width):
    plain, typer = _both(["--help"], tmp_path, COLUMNS=str(width))
    assert plain == typer
    assert "Commands" in plain and "connections" in plain


def test_below_fifty_columns_typer_draws_the_help(tmp_path):
    from plugwire.core.cli.roothelp import NARROW, plain_root

    proc = _run(_PLAIN.format(args=["--help"]) + _MODULES, tmp_path, COLUMNS=str(NARROW - 1))
    assert proc.returncode == 0, proc.stderr
    assert "typer" in json.loads(proc.stderr.split("MODULES=")[-1])
    os.environ["COLUMNS"] = str(NARROW - 1)
    try:
        assert plain_root(["--help"]) is None
    finally:
        del os.environ["COLUMNS"]


def test_the_version_is_typers(tmp_path):
    plain, typer = _both(["--version"], tmp_path)
    assert plain == typer and re.fullmatch(r"plugwire \d+\.\d+\.\d+\S*\n", plain)


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_help_and_version_import_no_typer_click_or_rich(tmp_path, args):
    proc = _run(_PLAIN.format(args=args) + _MODULES, tmp_path, COLUMNS="100")
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stderr.split("MODULES=")[-1])
    assert [m for m in loaded if m.split(".")[0] in ("typer", "click", "rich", "pydantic", "pluggy")] == []


def test_on_a_terminal_the_help_takes_rich_styles_and_no_color_drops_the_colours(tmp_path):
    unstyled, _ = _both(["--help"], tmp_path, COLUMNS="90")
    styled = _run(_PLAIN.format(args=["--help"]), tmp_path, COLUMNS="90", FORCE_COLOR="1").stdout
    assert "\x1b[1;36m--version\x1b[0m" in styled and "\x1b[2m╭─ Options" in styled
    assert re.sub(r"\x1b\[[0-9;]*m", "", styled) == unstyled
    no_colour = _run(_PLAIN.format(args=["--help"]), tmp_path, COLUMNS="90", FORCE_COLOR="1", NO_COLOR="1").stdout
    assert "\x1b[1m--version\x1b[0m" in no_colour and "36m" not in no_colour and "33m" not in no_colour


@pytest.mark.parametrize("args", [[], ["--help", "--version"], ["-h"], ["connections", "--help"]])
def test_anything_else_goes_through_typer(args):
    from plugwire.core.cli.roothelp import plain_root

    assert plain_root(args) is None
