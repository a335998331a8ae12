"""The plugin core: registration through hooks, refusals naming the plugin, the
environment switch that limits loading, third-party entry points kept out of the
project's own tests, `plugwire plugins`, and documented hookspecs."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pydantic import BaseModel, SecretStr

from plugwire import hookimpl
from plugwire.core.plugincore import hookspecs
from plugwire.core.plugincore.auth import AuthContext, AuthType
from plugwire.core.plugincore.manager import (
    _REGISTRIES,
    auth_types,
    catalogue_sources,
    get_plugin_manager,
    suggesters,
    triggers,
)

BUILTIN_AUTH = {"none": "auth_none", "basic": "auth_basic", "header": "auth_header", "query": "auth_query",
                "custom": "auth_custom", "digest": "auth_digest"}


class _TokenSettings(BaseModel):
    token: SecretStr


class _HawkAuth(AuthType):
    name = "in-test-hawk"
    title = "Hawk (in-test)"
    Settings = _TokenSettings

    def build_auth(self, settings, context: AuthContext):
        return None


class _Plugin:
    """An in-test plugin: registers whatever it is given."""

    def __init__(self, *items):
        self.items = items

    @hookimpl
    def register_auth_types(self, register):
        for item in self.items:
            register(item)


def test_in_test_plugin_appears_and_disappears(register_plugin, connections):
    plugin = register_plugin(_Plugin(_HawkAuth()), name="in-test-hawk-plugin")
    assert "in-test-hawk" in auth_types.names()
    assert auth_types.owners()["in-test-hawk"] == "in-test-hawk-plugin"
    # usable at once, as any built-in: its fields drive validation and masking
    conn = connections.create({"name": "h", "auth_type": "in-test-hawk", "settings": {"token": "HAWK-planted-1"}})
    assert conn.public()["settings"] == {"token": "••••••"}
    get_plugin_manager().unregister(plugin)
    assert "in-test-hawk" not in auth_types.names()
    assert set(BUILTIN_AUTH) <= set(auth_types.names())


def test_the_fixture_left_no_in_test_plugin_behind():
    # Runs after the test above (file order); passes trivially if run alone.
    names = [name for name, _ in get_plugin_manager().list_name_plugin()]
    assert not any(n.startswith("in-test") for n in names)
    assert "in-test-hawk" not in auth_types.names()


def test_builtins_register_through_entry_points_only():
    owners = auth_types.owners()
    for auth, plugin in BUILTIN_AUTH.items():
        assert owners[auth] == plugin
    from importlib import metadata

    eps = {ep.name: ep.value for ep in metadata.entry_points(group="plugwire")}
    for plugin in BUILTIN_AUTH.values():
        assert eps[plugin] == f"plugwire.plugins.auth.{plugin[5:]}"


def test_duplicate_name_is_refused_naming_both_plugins(register_plugin):
    class Impostor(_HawkAuth):
        name = "basic"

    register_plugin(_Plugin(Impostor()), name="impostor-plugin")
    assert auth_types.owners()["basic"] == "auth_basic"  # the first one keeps the name
    (problem,) = [p for p in auth_types.problems() if p.plugin == "impostor-plugin"]
    assert "plugin 'impostor-plugin' registered the auth type 'basic'" in problem.reason
    assert "'auth_basic' already registered" in problem.reason
    assert "PLUGWIRE_LOAD_PLUGINS" in problem.reason  # the fix


@pytest.mark.parametrize("registry", [auth_types, triggers, suggesters], ids=lambda r: r.hook_name)
def test_registering_the_wrong_type_is_refused_naming_the_plugin(registry, register_plugin):
    class Wrong:
        pass

    def hook(register):
        register({"name": "not-an-instance"})

    plugin = Wrong()
    setattr(plugin, registry.hook_name, hookimpl(hook))
    register_plugin(plugin, name="wrong-type-plugin")
    (problem,) = [p for p in registry.problems() if p.plugin == "wrong-type-plugin"]
    assert f"plugin 'wrong-type-plugin' registered {{'name': 'not-an-instance'}} as a {registry.kind}" in problem.reason
    assert "but it is not a" in problem.reason
    assert "not-an-instance" not in registry.names()


def test_invalid_name_and_a_crashing_plugin_are_reported(register_plugin):
    class BadName(_HawkAuth):
        name = "Has Spaces"

    class Crashing:
        @hookimpl
        def register_auth_types(self, register):
            raise RuntimeError("boom in plugin code")

    register_plugin(_Plugin(BadName()), name="bad-name-plugin")
    register_plugin(Crashing(), name="crashing-plugin")
    reasons = {p.plugin: p.reason for p in auth_types.problems()}
    assert "invalid name 'Has Spaces'" in reasons["bad-name-plugin"]
    assert "plugin 'crashing-plugin' failed in register_auth_types: RuntimeError: boom in plugin code" == reasons["crashing-plugin"]
    assert set(BUILTIN_AUTH) <= set(auth_types.names())  # the others are unaffected


def test_catalogue_sources_hook(register_plugin, tmp_path):
    folder = tmp_path / "catalogue"
    folder.mkdir()

    class Sources:
        @hookimpl
        def register_catalogue_sources(self, register):
            register(folder)
            register(str(folder))  # the same place twice counts once
            register(tmp_path / "missing.yaml")

    register_plugin(Sources(), name="sources-plugin")
    assert catalogue_sources.items()[str(folder.resolve())] == folder
    assert len([o for o in catalogue_sources.owners().values() if o == "sources-plugin"]) == 1
    (problem,) = [p for p in catalogue_sources.problems() if p.plugin == "sources-plugin"]
    assert "missing.yaml" in problem.reason and "does not exist" in problem.reason


def test_every_hookspec_is_documented_and_has_a_registry():
    specs = {name: fn for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(fn, "plugwire_spec")}
    assert set(specs) == {n for n in hookspecs.__all__ if n.startswith("register_")}
    served = {reg.hook_name for reg in _REGISTRIES}
    for name, fn in specs.items():
        doc = inspect.getdoc(fn)
        assert doc, f"hookspec {name} has no docstring"
        summary, _, rest = doc.partition("\n\n")
        assert summary.strip() and rest.strip(), f"hookspec {name}: a summary line, then when it is called"
        assert ":param register:" in doc and ":returns:" in doc, f"hookspec {name} must document its parameter and result"
        assert "Called" in doc, f"hookspec {name} must say when it is called"
        assert name in served, f"hookspec {name} has no registry calling it"
        assert list(inspect.signature(fn).parameters) == ["register"]


def test_plugins_command_lists_builtins_with_what_they_provide(capsys):
    from plugwire.core.cli import main

    with pytest.raises(SystemExit) as info:
        main(["plugins", "--all", "--json"])
    assert info.value.code == 0
    data = json.loads(capsys.readouterr().out)
    rows = {p["name"]: p for p in data["plugins"]}
    for auth, plugin in BUILTIN_AUTH.items():
        row = rows[plugin]
        assert row["builtin"] is True and row["distribution"] == "plugwire"
        assert row["provides"] == {"auth type": [auth]}
        assert row["hooks"] == ["register_auth_types"]
        assert row["module"] == f"plugwire.plugins.auth.{auth}"
    with pytest.raises(SystemExit):
        main(["plugins", "--json"])
    assert all(not p["builtin"] for p in json.loads(capsys.readouterr().out)["plugins"])
    with pytest.raises(SystemExit):
        main(["plugins", "--all"])
    table = capsys.readouterr().out
    assert "auth_digest" in table and "auth type: digest" in table


# -- loading in a fresh process --------------------------------------------------

_FAKE_DIST = {
    "fakeplug-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: fakeplug\nVersion: 1.0\n",
    "fakeplug-1.0.dist-info/entry_points.txt": textwrap.dedent(
        """
        [plugwire]
        fake_hawk = fakeplug_hawk
        fake_broken = fakeplug_broken
        fake_future = fakeplug_future
        """
    ),
    "fakeplug_hawk.py": textwrap.dedent(
        """
        from pydantic import BaseModel, SecretStr
        from plugwire import hookimpl
        from plugwire.core.plugincore.auth import AuthType

        class Settings(BaseModel):
            token: SecretStr

        class Hawk(AuthType):
            name = "hawk"
            title = "Hawk"
            Settings = Settings

            def build_auth(self, settings, context):
                return None

        @hookimpl
        def register_auth_types(register):
            register(Hawk())
        """
    ),
    "fakeplug_broken.py": "raise ImportError('needs libfoo, which is not installed')\n",
    "fakeplug_future.py": "PLUGWIRE_PLUGIN_API = '>=99'\n",
}


@pytest.fixture
def third_party(tmp_path):
    """A third-party distribution with plugwire entry points, on a PYTHONPATH."""
    site = tmp_path / "site"
    for rel, text in _FAKE_DIST.items():
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return site


def _fresh(code: str, site: Path | None = None, **env_changes: str | None) -> str:
    env = {**os.environ, "PLUGWIRE_HOME": "/nonexistent-plugwire-home"}
    if site is not None:
        env["PYTHONPATH"] = str(site)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


_NAMES = "from plugwire.core.plugincore.manager import auth_types, load_problems; import json; " \
         "print(json.dumps([auth_types.names(), [p.plugin for p in load_problems()]]))"


def test_load_plugins_variable_limits_loading():
    only = json.loads(_fresh(_NAMES, PLUGWIRE_LOAD_PLUGINS="auth_basic, auth_digest"))
    assert only[0] == ["basic", "digest"]
    assert json.loads(_fresh(_NAMES, PLUGWIRE_LOAD_PLUGINS=""))[0] == []
    every = json.loads(_fresh(_NAMES, PLUGWIRE_LOAD_PLUGINS="plugwire"))  # a distribution name
    assert set(BUILTIN_AUTH) <= set(every[0])


def test_third_party_plugins_load_outside_tests_and_not_inside(third_party):
    outside = json.loads(_fresh(_NAMES, third_party, PLUGWIRE_TESTING=None, PLUGWIRE_LOAD_PLUGINS=None))
    assert "hawk" in outside[0] and set(BUILTIN_AUTH) <= set(outside[0])
    assert {"fake_broken (fakeplug)", "fake_future (fakeplug)"} <= set(outside[1])
    inside = json.loads(_fresh(_NAMES, third_party, PLUGWIRE_TESTING="1", PLUGWIRE_LOAD_PLUGINS=None))
    assert "hawk" not in inside[0] and not any("fakeplug" in p for p in inside[1])
    limited = json.loads(_fresh(_NAMES, third_party, PLUGWIRE_TESTING=None, PLUGWIRE_LOAD_PLUGINS="fake_hawk"))
    assert limited == [["hawk"], []]


def test_plugins_command_shows_a_third_party_plugin_and_refusals(third_party):
    code = "import sys; from plugwire.core.cli import main; main(['plugins', '--json'])"
    data = json.loads(_fresh(code, third_party, PLUGWIRE_TESTING=None, PLUGWIRE_LOAD_PLUGINS=None))
    (row,) = data["plugins"]
    assert row["name"] == "fake_hawk" and row["distribution"] == "fakeplug" and row["version"] == "1.0"
    assert row["provides"] == {"auth type": ["hawk"]} and row["builtin"] is False
    reasons = {p["plugin"]: p["reason"] for p in data["problems"]}
    assert "needs libfoo" in reasons["fake_broken (fakeplug)"]
    assert "needs plugin API >=99 but this plugwire offers 1" in reasons["fake_future (fakeplug)"]


def test_loading_the_plugins_reads_no_distributions_metadata_file(monkeypatch):
    """Reading a distribution's name from METADATA parses the file (README and all)
    with the email package: the loader takes the name from the ``.dist-info`` folder
    instead (it was 30 parses on every `plugwire suggest`, then one)."""
    from importlib import metadata

    from plugwire.core.plugincore.hookindex import normalize, scan
    from plugwire.core.plugincore.manager import ENTRY_POINT_GROUP

    reads: list[int] = []
    original = metadata.PathDistribution.metadata

    def counted(self):
        reads.append(id(self))
        return original.fget(self)

    monkeypatch.setattr(metadata.PathDistribution, "metadata", property(counted))
    named = {ep.name: ep.dist for ep in scan(ENTRY_POINT_GROUP)}
    assert {"auth_oauth2", "auth_basic", "suggest_knowledge", "trigger_webhook"} <= set(named)
    assert {named[n] for n in named if n.startswith(("auth_", "trigger_", "suggest_"))} == {"plugwire"}
    assert reads == []
    assert normalize("Plugwire-Acme.CRM") == normalize("plugwire_acme_crm") == "plugwire_acme_crm"
