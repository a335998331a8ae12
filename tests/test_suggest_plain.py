"""``plugwire suggest METHOD URL`` written plainly runs without typer (issue 14's
start-up time): the same command lines, run through typer and through the plain
reader, print the same and exit the same; anything the plain reader is not sure of
goes to typer."""

from __future__ import annotations

import io
import sys

import pytest

from plugwire.core.cli.root import run_typer
from plugwire.core.cli.suggest_run import plain_args

URL = "https://api.github.com/repos/octocat/hello/issues"


@pytest.mark.parametrize(
    "args",
    [
        ["suggest", "GET", URL],
        ["suggest", "get", URL, "--json"],
        ["suggest", "--json", "POST", URL, "-n", "1"],
        ["suggest", "GET", URL, "--limit=2"],
        ["suggest", "GET", URL, "--limit", "50"],
        ["suggest", "GET", "api.github.com/repos/octocat/hello"],  # https:// assumed, with a note
        ["suggest", "GET", "https://api.githib.com/repos/octocat/hello"],  # a mistyped host, corrected
        ["suggest", "GET", "https://nothing-known.invalid/x/y"],  # no suggestion
        ["suggest", "FETCH", URL],  # bad input: exit 2, the field and the fix
        ["suggest", "FETCH", URL, "--json"],
        ["suggest", URL],
        ["suggest", "GET"],
        ["suggest", "GET", "ftp://api.github.com/x"],
    ],
)
def test_the_plain_reader_and_typer_answer_alike(args, run_cli, capsys, monkeypatch):
    assert plain_args(args) is not None
    plain = run_cli(*args)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    capsys.readouterr()
    code = run_typer(list(args))
    out, err = capsys.readouterr()
    assert plain == (code, out, err)
    assert plain[1] or plain[2]


@pytest.mark.parametrize(
    "args",
    [
        ["suggest"],
        ["suggest", "--help"],
        ["suggest", "GET", URL, "-h"],
        ["suggest", "GET", URL, "-n", "0"],  # out of range: typer's own message
        ["suggest", "GET", URL, "--limit", "x"],
        ["suggest", "GET", URL, "--limit", "٣"],  # a digit, but not ASCII
        ["suggest", "GET", URL, "-n"],
        ["suggest", "GET", URL, "-n3"],
        ["suggest", "GET", URL, "--limit", "3", "--limit", "4"],
        ["suggest", "GET", URL, "--json", "--json"],
        ["suggest", "GET", URL, "extra"],
        ["suggest", "--", "GET", URL],
        ["suggest", "GET", URL, "--verbose"],
        ["connections", "list"],
        [],
    ],
)
def test_what_the_plain_reader_is_not_sure_of_goes_to_typer(args):
    assert plain_args(args) is None


def test_plain_reading_of_options_anywhere():
    assert plain_args(["suggest", "--limit", "7", "GET", "--json", URL]) == ("GET", URL, 7, True)
    assert plain_args(["suggest", "post", URL]) == ("post", URL, 5, False)
    assert plain_args(["suggest", "GET"]) == ("GET", None, 5, False)


def test_typers_answers_stay_for_what_goes_to_it(run_cli):
    code, out, err = run_cli("suggest", "GET", URL, "-n", "0")
    assert code == 2 and "--limit" in err and "Traceback" not in err
    code, out, err = run_cli("suggest", "--help")
    assert code == 0 and "How many suggestions at most." in " ".join(out.split())
