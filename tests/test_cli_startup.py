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
    # rich too: tables are drawn by core/cli/textout.py; and typer and click: written
    # alone, `connections list` is read without them (core/cli/connections_list.py);
    # and filelock: the store file is read whole, without the lock (Store.all)
    assert _with_prefix(loaded, HEAVY + ["plugwire.core.plugincore.manager", "plugwire.plugins", "rich", "typer", "click",
                                         "filelock", "hashlib", "tempfile"]) == []


def test_connections_list_read_plainly_prints_what_typer_prints(tmp_path, monkeypatch):
    from plugwire.core.cli import main

    monkeypatch.setenv("PLUGWIRE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BENCH_KEY", "s3cr3t-value-123")
    typer_code = "from plugwire.core.cli.root import run_typer; import sys; sys.exit(run_typer(['connections', 'list']))"
    plain_code = "from plugwire.core.cli import main; main(['connections', 'list'])"
    outputs = []
    for step in range(3):  # none yet, one, one with a route
        if step == 1:
            args = ["connections", "add", "crm", "--auth", "query", "--secret", "params.api_key=env:BENCH_KEY",
                    "--test-url", "https://api.example.com/a-rather-long/path/to/the/me/endpoint?with=query"]
        elif step == 2:
            args = ["connections", "add", "inside", "--auth", "none", "--private-network", "--agent-url", "http://127.0.0.1:9"]
        if step:
            with pytest.raises(SystemExit) as info:
                main(args)
            assert info.value.code == 0
        for code in (plain_code, typer_code):
            proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                                  env={**os.environ, "COLUMNS": "80"})
            assert proc.returncode == 0, proc.stderr
            outputs.append(proc.stdout)
        assert outputs[-1] == outputs[-2]
    assert "No connections yet." in outputs[0] and "crm" in outputs[2] and "private network" in outputs[4]


def test_an_unknown_command_is_answered_with_the_close_registered_names(run_cli):
    code, out, err = run_cli("conections", "list")
    assert code == 2
    assert "No such command 'conections'" in err and "'connections'" in err


# What loading every plugin and answering from the cached index must not import: the
# OAuth2 plugin's authlib (and joserfc, cryptography), the scheduler's croniter, the
# server's stack, the HTTP layer and the configuration store.
SUGGEST_HEAVY = [
    "authlib", "joserfc", "cryptography", "croniter", "starlette", "uvicorn", "jinja2",
    "httpx2", "anyio", "plugwire.core.http", "tinydb", "filelock",
]
SUGGEST_URL = "https://api.github.com/repos/octocat/hello"


def _suggest_env(tmp_path) -> dict[str, str]:
    return {"PLUGWIRE_CACHE_DIR": str(tmp_path / "cache")}


def test_a_suggestion_from_the_cached_index_loads_no_auth_library_server_or_store(tmp_path):
    code = (
        "import sys\n"
        "from plugwire.core.plugincore.manager import auth_types, suggesters, triggers\n"
        "assert {'oauth2', 'basic', 'header', 'query', 'custom'} <= set(auth_types.items())\n"
        "assert {'scheduler', 'webhook'} <= set(triggers.items())\n"
        "from plugwire.core.wizard.suggest import suggest\n"
        f"assert suggest('GET', {SUGGEST_URL!r}).best.endpoint == 'GET /repos/{{owner}}/{{repo}}'\n"
    )
    env = _suggest_env(tmp_path)
    _loaded_after(code, tmp_path, env=env)  # builds the cached index
    loaded = _loaded_after(code, tmp_path, env=env)
    assert "plugwire.plugins.auth.oauth2" in loaded and "plugwire.plugins.triggers.scheduler" in loaded
    assert _with_prefix(loaded, SUGGEST_HEAVY) == []


def test_the_suggest_command_loads_no_auth_library_server_store_typer_or_rich(tmp_path):
    env = _suggest_env(tmp_path)
    code = _run_main(["suggest", "GET", SUGGEST_URL, "-n", "3"])
    _loaded_after(code, tmp_path, env=env)
    loaded = _loaded_after(code, tmp_path, env=env)
    # A plain `suggest METHOD URL -n N` is read without typer (core/cli/suggest_run.py),
    # and the table and the labelled lines are textout's, not rich's; the suggestions
    # are plain data (no pydantic), and the hook index, written by the first run, let
    # it import only the plugins that register suggesters or catalogue sources.
    assert _with_prefix(loaded, SUGGEST_HEAVY + ["typer", "rich", "pydantic", "importlib.metadata", "email"]) == []
    # (the packages holding them are imported to find the modules' files: no plugin in them)
    assert [m for m in loaded if m.startswith(("plugwire.plugins.auth.", "plugwire.plugins.triggers."))] == []
    assert "plugwire.plugins.suggest_knowledge" in loaded
    # Through typer (an option it must read), its pydantic TypeAdapters are still skipped
    code = _run_main(["suggest", "-n3", "GET", SUGGEST_URL])
    loaded = _loaded_after(code, tmp_path, env=env)
    assert "typer" in loaded and _with_prefix(loaded, SUGGEST_HEAVY + ["typer._adapters", "rich"]) == []


def _typers_own_error(command_name: str, option: str, value: str) -> str:
    """The message typer's own (pydantic) coercion gives for ``value``."""
    from typer._click import Context
    from typer._click.exceptions import BadParameter
    from typer._coercion import build_runtime_param

    command = load_command(command_name)
    param = next(p for p in command.params if option in p.opts)
    with pytest.raises(BadParameter) as info:
        build_runtime_param(param.type_descriptor).coerce(value, param=param, ctx=Context(command))
    return info.value.message


@pytest.mark.parametrize("value", ["99", "0", "x", "1.5", "-3", ""])
def test_a_value_past_typers_adapters_is_refused_as_typer_refuses_it(run_cli, value):
    code, out, err = run_cli("suggest", "GET", SUGGEST_URL, "--limit", value)
    assert code == 2
    assert _typers_own_error("suggest", "--limit", value) in " ".join(err.split())


@pytest.mark.parametrize(
    "option, value",
    [("--limit", "2"), ("--limit", "007"), ("--limit", " 3"), ("--limit", "50"), ("--limit", 5),
     ("method", "GET"), ("method", "pöst"), ("url", "https://api.example.com/a b")],
)
def test_plain_values_are_read_as_typer_reads_them(option, value):
    from typer._click import Context
    from typer._coercion import build_runtime_param

    command = load_command("suggest")
    param = next(p for p in command.params if option in p.opts)
    ours = param.get_runtime_param()
    assert type(ours).__name__ == "PlainParam"  # the plain coercion is in front
    ctx = Context(command)
    theirs = build_runtime_param(param.type_descriptor).coerce(value, param=param, ctx=ctx)
    assert ours.coerce(value, param=param, ctx=ctx) == theirs
    assert type(ours.coerce(value, param=param, ctx=ctx)) is type(theirs)


def test_a_number_typer_reads_is_read_end_to_end(run_cli):
    code, out, err = run_cli("suggest", "GET", SUGGEST_URL, "--limit", "007", "--json")
    assert code == 0, err
    assert json.loads(out)["suggestions"][0]["endpoint"] == "GET /repos/{owner}/{repo}"


def test_the_http_exchange_models_import_no_cryptography(tmp_path):
    """The request and response models mask with core.base.redact's MASK: the cipher
    module (cryptography, 0.02 s) loads only where secrets are sealed or opened."""
    loaded = _loaded_after("import plugwire.core.http.exchange", tmp_path)
    assert _with_prefix(loaded, ["cryptography", "plugwire.core.base.secrets"]) == []
