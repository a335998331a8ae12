"""The CLI starts quickly because it imports lazily (issue 14): importing it pulls in
no heavy dependency, ``plugwire --help`` imports no command module and lists every
registered command with the help its module gives, and ``connections list`` loads
no plugin, no cipher and no pydantic. Checked through ``sys.modules`` in a fresh
interpreter, never by timing (bench/bench_startup.py measures)."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys

import pytest

from plugwire.core.cli.lazy import COMMANDS, available, load_command

HEAVY = [
    "starlette", "uvicorn", "jinja2", "authlib", "cryptography", "rapidfuzz", "plugwire.knowledge.index",
    "pydantic", "httpx2", "yaml",
]
COMMAND_MODULES = sorted({module for module, _help in COMMANDS.values()})


def _loaded_after(code: str, tmp_path, *, env: dict[str, str] | None = None) -> set[str]:
    """Run ``code`` in a fresh interpreter and return the modules it had imported."""
    script = code + "\nimport sys, json\nprint('MODULES=' + json.dumps(sorted(sys.modules)))\n"
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=120,
        env={**os.environ, "PLUGWIRE_HOME": str(tmp_path / "home"), "COLUMNS": "120", **(env or {})},
    )
    assert proc.returncode == 0, proc.stderr
    line = [x for x in proc.stdout.splitlines() if x.startswith("MODULES=")][-1]
    return set(json.loads(line[len("MODULES="):]))


def _with_prefix(modules: set[str], names: list[str]) -> list[str]:
    return sorted(m for m in modules for n in names if m == n or m.startswith(n + "."))


def test_importing_the_cli_pulls_in_no_heavy_dependency(tmp_path):
    loaded = _loaded_after("import plugwire.core.cli", tmp_path)
    assert _with_prefix(loaded, HEAVY) == []
    assert _with_prefix(loaded, COMMAND_MODULES) == []


def _run_main(args: list[str]) -> str:
    return f"""
from plugwire.core.cli import main
try:
    main({args!r})
except SystemExit as exc:
    assert not exc.code, exc.code
"""


def test_root_help_imports_no_command_module_and_lists_every_registered_command(tmp_path):
    loaded = _loaded_after(_run_main(["--help"]), tmp_path)
    assert _with_prefix(loaded, COMMAND_MODULES) == []
    assert _with_prefix(loaded, HEAVY) == []
    proc = subprocess.run(
        [sys.executable, "-m", "plugwire", "--help"], capture_output=True, text=True, cwd=tmp_path, timeout=120,
        env={**os.environ, "PLUGWIRE_HOME": str(tmp_path / "home"), "COLUMNS": "200"},
    )
    assert proc.returncode == 0, proc.stderr
    names = available()
    assert {"connections", "actions", "suggest", "knowledge", "recipes", "jobs", "serve", "worker", "plugins"} <= set(names)
    for name in names:
        assert f" {name} " in proc.stdout, name
        assert " ".join(COMMANDS[name][1].split()) in " ".join(proc.stdout.split()), name


@pytest.mark.parametrize("name", available())
def test_the_registered_help_is_the_modules_own(name):
    """The root's help shows the registry's texts: they must not drift from the
    modules' (change both together)."""
    command = load_command(name)
    own = " ".join(inspect.cleandoc(command.help or "").split("\n\n")[0].split())
    assert own == COMMANDS[name][1], f"update COMMANDS[{name!r}] in core/cli/lazy.py to {own!r}"


def test_connections_list_loads_no_plugin_cipher_or_model(tmp_path, monkeypatch):
    from plugwire.core.cli import main

    monkeypatch.setenv("PLUGWIRE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BENCH_KEY", "s3cr3t-value-123")
    with pytest.raises(SystemExit) as info:
        main(["connections", "add", "crm", "--auth", "query", "--secret", "params.api_key=env:BENCH_KEY",
              "--test-url", "https://api.example.com/me"])
    assert info.value.code == 0
    code = _run_main(["connections", "list"]) + "\nassert 'plugwire.core.connections.model' not in sys.modules\n"
    loaded = _loaded_after("import sys\n" + code, tmp_path)
    assert _with_prefix(loaded, HEAVY + ["plugwire.core.plugincore.manager", "plugwire.plugins"]) == []


def test_an_unknown_command_is_answered_with_the_close_registered_names(run_cli):
    code, out, err = run_cli("conections", "list")
    assert code == 2
    assert "No such command 'conections'" in err and "'connections'" in err
