"""What the command line prints (issue 14): with ``--json`` an error is JSON on
stdout too, ``{"error", "field", "fix"}``, with the exit code it has without
(2 bad input and usage errors, 1 failed); ``plugwire --version``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata

import pytest


def _error(out: str, err: str) -> dict:
    doc = json.loads(out)
    assert set(doc) == {"error", "field", "fix"} and err == "", (out, err)
    return doc


def test_a_failure_with_json_is_a_json_document_exit_1(run_cli):
    code, out, err = run_cli("connections", "show", "nope", "--json")
    assert code == 1
    doc = _error(out, err)
    assert doc == {"error": "No connection named 'nope'.", "field": "name", "fix": "list them with `plugwire connections list`"}


def test_bad_input_with_json_is_a_json_document_exit_2(run_cli):
    code, out, err = run_cli("connections", "add", "x", "--auth", "basic", "--secret", "password=hunter2-typed", "--json")
    assert code == 2
    doc = _error(out, err)
    assert doc["field"] == "settings.password" and "command line" in doc["error"] and "env:VAR" in doc["fix"]
    assert "Fix:" not in doc["error"]  # the fix has its own key
    assert "hunter2-typed" not in out


@pytest.mark.parametrize(("args", "field", "words"), [
    (["connections", "show", "--bogus", "--json"], None, "No such option: --bogus"),
    (["connections", "show", "--json"], "name", "Missing argument"),
    (["connections", "add", "x", "--timeout", "soon", "--json"], "timeout", "--timeout"),
])
def test_a_usage_error_with_json_is_a_json_document_exit_2(run_cli, args, field, words):
    code, out, err = run_cli(*args)
    assert code == 2
    doc = _error(out, err)
    assert doc["field"] == field and words in doc["error"]
    assert doc["fix"].startswith("see `plugwire connections") and doc["fix"].endswith("--help`")


def test_without_json_errors_stay_text_on_stderr(run_cli):
    code, out, err = run_cli("connections", "show", "nope")
    assert code == 1 and out == "" and err.startswith("Error: No connection named 'nope'. Fix: list them")
    code, out, err = run_cli("connections", "show", "--bogus")
    assert code == 2 and out == "" and "No such option" in err


def test_json_after_a_double_dash_is_not_the_option(run_cli):
    from plugwire.core.cli.errors_out import wants_json

    assert wants_json(["actions", "show", "x", "--json"])
    assert not wants_json(["actions", "new", "--", "--json"])


def test_version_comes_from_the_installed_distribution(tmp_path):
    done = subprocess.run([sys.executable, "-m", "plugwire", "--version"], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PLUGWIRE_HOME": str(tmp_path / "h")}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"plugwire {metadata.version('plugwire')}\n"
    assert not (tmp_path / "h").exists()  # asking the version touches no data folder


@pytest.mark.parametrize("args", [["--help"], ["connections", "add", "--help"], ["connections", "edit", "--help"],
                                  ["plugins", "--help"], ["worker", "--help"]])
def test_help_shows_no_bool_type(run_cli, args):
    code, out, err = run_cli(*args)
    assert code == 0, err
    assert "--help" in out and "<bool>" not in out
