"""Compatibility: a plugin declares the plugin API it needs (PLUGWIRE_PLUGIN_API); an
incompatible or broken plugin is refused at load with a message naming it and the
reason, and the rest of plugwire keeps working.

Third-party plugins come from a fake installed distribution (a ``*.dist-info`` with
``entry_points.txt`` on PYTHONPATH) loaded by the real ``plugwire`` command in a
fresh process with PLUGWIRE_TESTING unset, as a user's machine would load them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from plugwire import PLUGIN_API_VERSION
from plugwire.core.plugincore.manager import _api_problem

PLUGWIRE = str(Path(sys.executable).with_name("plugwire"))

_AUTH = """
from pydantic import BaseModel, SecretStr
from plugwire import hookimpl
from plugwire.core.plugincore.auth import AuthType

PLUGWIRE_PLUGIN_API = {api!r}

class Settings(BaseModel):
    token: SecretStr

class Kind(AuthType):
    name = {name!r}
    title = {name!r}
    Settings = Settings

    def build_auth(self, settings, context):
        return None

@hookimpl
def register_auth_types(register):
    register(Kind())
"""

MODULES = {
    # works: declares the version this plugwire offers, and the ">=" form
    "compat_good": _AUTH.format(api=PLUGIN_API_VERSION, name="compat_good"),
    "compat_atleast": _AUTH.format(api=f">={PLUGIN_API_VERSION}", name="compat_atleast"),
    # refused at load
    "compat_future": _AUTH.format(api=f"=={PLUGIN_API_VERSION + 1}", name="compat_future"),
    "compat_malformed": _AUTH.format(api="~1", name="compat_malformed"),
    "compat_raises": "raise RuntimeError('the vendor SDK is missing its licence file')\n",
    "compat_syntax": "def broken(:\n",
    "compat_missing_dep": "import plugwire_compat_no_such_sdk\n",
    "compat_exits": "import sys\nsys.exit('a plugin must not end the process')\n",
    "compat_bad_param": textwrap.dedent(
        """
        from plugwire import hookimpl

        @hookimpl
        def register_auth_types(reg):  # pluggy matches arguments by name
            pass
        """
    ),
    # loaded, but what they register is refused
    "compat_garbage": textwrap.dedent(
        """
        from plugwire import hookimpl

        @hookimpl
        def register_auth_types(register):
            register({"name": "dict-not-authtype"})

        @hookimpl
        def register_suggesters(register):
            raise KeyError("suggester table")

        @hookimpl
        def register_catalogue_sources(register):
            register("/nonexistent/compat/catalogue")
        """
    ),
    "compat_clash": _AUTH.format(api=PLUGIN_API_VERSION, name="basic"),
}

REFUSED_AT_LOAD = {
    "compat_future": f"needs plugin API =={PLUGIN_API_VERSION + 1} but this plugwire offers {PLUGIN_API_VERSION}",
    "compat_malformed": "PLUGWIRE_PLUGIN_API = '~1' is not a version",
    "compat_raises": "failed to import: RuntimeError: the vendor SDK is missing its licence file",
    "compat_syntax": "failed to import: SyntaxError",
    "compat_missing_dep": "failed to import: ModuleNotFoundError: No module named 'plugwire_compat_no_such_sdk'",
    "compat_exits": "failed to import: SystemExit",
    "compat_bad_param": "refused by the plugin manager",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """A folder holding the fake distribution ``compatplug`` and its modules."""
    folder = tmp_path_factory.mktemp("compat-site")
    info = folder / "compatplug-2.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: compatplug\nVersion: 2.0\n")
    (info / "entry_points.txt").write_text("[plugwire]\n" + "".join(f"{m} = {m}\n" for m in MODULES))
    for module, text in MODULES.items():
        (folder / f"{module}.py").write_text(text)
    return folder


def plugwire(site: Path, home: Path, *args: str) -> tuple[int, str, str]:
    """Run the real ``plugwire`` command with the fake distribution installed."""
    env = {k: v for k, v in os.environ.items() if k not in ("PLUGWIRE_TESTING", "PLUGWIRE_LOAD_PLUGINS")}
    env.update(PYTHONPATH=str(site), PLUGWIRE_HOME=str(home), COLUMNS="200", PLUGWIRE_CACHE_DIR=str(home / "cache"))
    done = subprocess.run([PLUGWIRE, *args], capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize(
    ("declared", "ok"),
    [
        (None, True),
        (PLUGIN_API_VERSION, True),
        (str(PLUGIN_API_VERSION), True),
        (f"=={PLUGIN_API_VERSION}", True),
        (f">={PLUGIN_API_VERSION}", True),
        (f">= {PLUGIN_API_VERSION - 1}", True),
        (PLUGIN_API_VERSION + 1, False),
        (f">={PLUGIN_API_VERSION + 1}", False),
        ("banana", False),
        ("~1", False),
        ("1.0", False),
    ],
)
def test_declared_plugin_api_versions(declared, ok):
    module = types.ModuleType("declares")
    if declared is not None:
        module.PLUGWIRE_PLUGIN_API = declared
    problem = _api_problem(module)
    assert (problem is None) == ok, problem
    if not ok:
        assert str(declared) in problem


def test_broken_and_incompatible_plugins_are_refused_by_name(site, tmp_path):
    code, out, err = plugwire(site, tmp_path, "plugins", "--json")
    assert code == 0, err
    data = json.loads(out)
    loaded = {row["name"]: row for row in data["plugins"]}
    assert loaded["compat_good"]["provides"] == {"auth type": ["compat_good"]}
    assert loaded["compat_atleast"]["distribution"] == "compatplug"
    reasons = {p["plugin"]: p["reason"] for p in data["problems"]}
    for module, reason in REFUSED_AT_LOAD.items():
        label = f"{module} (compatplug)"
        assert label in reasons, f"{label} was not reported; problems: {sorted(reasons)}"
        assert reason in reasons[label], reasons[label]
        assert module not in loaded
    # the table names each refused plugin with its reason too
    code, table, _ = plugwire(site, tmp_path, "plugins")
    assert code == 0 and "Refused compat_future (compatplug): needs plugin API" in table


@pytest.mark.hook("register_auth_types")
@pytest.mark.hook("register_suggesters")
@pytest.mark.hook("register_catalogue_sources")
def test_garbage_registrations_are_refused_naming_the_plugin(site, tmp_path):
    code, out, err = plugwire(site, tmp_path, "plugins", "--all", "--json")
    assert code == 0, err
    reasons = [(p["plugin"], p["reason"]) for p in json.loads(out)["problems"]]
    garbage = [r for plugin, r in reasons if plugin == "compat_garbage"]
    assert any("registered {'name': 'dict-not-authtype'} as a auth type" in r for r in garbage), garbage
    assert any("failed in register_suggesters: KeyError" in r for r in garbage), garbage
    assert any("/nonexistent/compat/catalogue" in r and "does not exist" in r for r in garbage), garbage
    clash = [r for plugin, r in reasons if plugin == "compat_clash"]
    assert clash and "'basic'" in clash[0] and "auth_basic" in clash[0]


def test_the_rest_of_plugwire_keeps_working(site, tmp_path):
    code, out, err = plugwire(site, tmp_path, "connections", "types", "--json")
    assert code == 0, err
    names = {t["name"] for t in json.loads(out)}
    assert {"basic", "header", "oauth2", "compat_good", "compat_atleast"} <= names
    assert not {"compat_future", "compat_malformed"} & names
    code, out, err = plugwire(site, tmp_path, "suggest", "POST", "https://www.eventbriteapi.com/v3/venues/", "--json")
    assert code == 0, err
    best = json.loads(out)["suggestions"][0]
    assert best["provider"] == "eventbrite" and "venue" in best["request"]["body"]
    code, out, err = plugwire(site, tmp_path, "connections", "add", "mine", "--auth", "compat_good",
                              "--secret", "token=env:HOME", "--json")
    assert code == 0, err
    assert json.loads(out)["auth_type"] == "compat_good"
