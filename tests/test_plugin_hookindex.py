"""The plugins' hook index (core/plugincore/hookindex.py): a command that needs one
kind of plugin imports only the plugins that provide it, and never misses one.

A fake third-party distribution on PYTHONPATH, loaded by the real ``plugwire``
command in fresh processes: ``hookplug_suggest`` registers a suggester, ``hookplug_auth``
an auth type (and notes every import of it in a file), and ``auth_basic`` (the name
of a built-in entry point) a suggester that must never answer, index or not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

PLUGWIRE = str(Path(sys.executable).with_name("plugwire"))
URL = "https://hookplug.example/things/7"

_SUGGESTER = """
from plugwire import SampleRequest, Suggester, Suggestion, hookimpl

class S(Suggester):
    name = {name!r}

    def suggest(self, method, url, connection=None, *, limit=5):
        return [Suggestion(suggester=self.name, score=0.9, reason="from " + self.name,
                           request=SampleRequest(method=method, url=url), endpoint=method + " /things/{{id}}")]

@hookimpl
def register_suggesters(register):
    register(S())
"""

_AUTH = """
import os
from pathlib import Path
from pydantic import BaseModel
from plugwire import AuthType, hookimpl

with open(os.environ["HOOKPLUG_MARKS"], "a") as marks:
    marks.write("imported\\n")

class NoSettings(BaseModel):
    pass

class A(AuthType):
    name = "hookplug"
    title = "Hookplug"
    Settings = NoSettings

    def build_auth(self, settings, context):
        return None

@hookimpl
def register_auth_types(register):
    register(A())
"""


@pytest.fixture()
def site(tmp_path) -> Path:
    folder = tmp_path / "site"
    info = folder / "hookplug-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hookplug\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[plugwire]\nhookplug_suggest = hookplug_suggest\nhookplug_auth = hookplug_auth\nauth_basic = hookplug_clash\n"
    )
    (folder / "hookplug_suggest.py").write_text(textwrap.dedent(_SUGGESTER.format(name="hookplug")))
    (folder / "hookplug_auth.py").write_text(textwrap.dedent(_AUTH))
    (folder / "hookplug_clash.py").write_text(textwrap.dedent(_SUGGESTER.format(name="clash")))
    return folder


def _suggest(site: Path, tmp_path: Path) -> tuple[dict, list[str]]:
    """Run `plugwire suggest GET URL --json`; return its answer and the modules the
    fake distribution's auth plugin noted as imported (then forgotten)."""
    marks = tmp_path / "marks"
    env = {k: v for k, v in os.environ.items() if k not in ("PLUGWIRE_TESTING", "PLUGWIRE_LOAD_PLUGINS")}
    env.update(PYTHONPATH=str(site), PLUGWIRE_HOME=str(tmp_path / "home"), PLUGWIRE_CACHE_DIR=str(tmp_path / "cache"),
               HOOKPLUG_MARKS=str(marks))
    done = subprocess.run([PLUGWIRE, "suggest", "GET", URL, "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    noted = marks.read_text().split() if marks.exists() else []
    marks.unlink(missing_ok=True)
    return json.loads(done.stdout), noted


def _answering(result: dict) -> list[str]:
    return sorted({s["suggester"] for s in result["suggestions"]})


def test_the_index_skips_plugins_without_the_hook_and_notices_a_changed_module(site, tmp_path):
    first, noted = _suggest(site, tmp_path)
    assert noted == ["imported"]  # no index yet: every plugin is imported, and recorded
    assert _answering(first) == ["hookplug"]  # the built-in auth_basic came first: "clash" is refused
    entries = json.loads((tmp_path / "cache" / "plugin-hooks.json").read_text())["hooks"]
    assert any(k.startswith("hookplug_auth=") and v == ["register_auth_types"] for k, v in entries.items())
    assert any(k.startswith("hookplug_suggest=") and v == ["register_suggesters"] for k, v in entries.items())

    second, noted = _suggest(site, tmp_path)
    assert noted == []  # the auth plugin registers no suggester: not imported
    assert second == first

    # The auth plugin's module changes and now also suggests: its stamp changes, so
    # the next run imports it again and its suggester answers.
    module = site / "hookplug_auth.py"
    also = textwrap.dedent(_SUGGESTER.format(name="hookplug2")).replace("class S(", "class S2(").replace("register(S())", "register(S2())")
    module.write_text(module.read_text() + also)
    os.utime(module, ns=(time.time_ns(), time.time_ns() + 10**9))
    third, noted = _suggest(site, tmp_path)
    assert noted == ["imported"]
    assert _answering(third) == ["hookplug", "hookplug2"]
    fourth, noted = _suggest(site, tmp_path)
    assert noted == ["imported"]  # it registers a suggester now: imported every time
    assert _answering(fourth) == ["hookplug", "hookplug2"]


def test_a_garbled_index_costs_speed_only(site, tmp_path):
    _suggest(site, tmp_path)
    index = tmp_path / "cache" / "plugin-hooks.json"
    from plugwire.core.plugincore.hookindex import _VERSION

    garbled = [
        "{not json", json.dumps([1, 2]),
        json.dumps({"version": _VERSION, "hooks": {"x": "not a list"}, "points": {"y": 1}}),
        json.dumps({"version": _VERSION, "hooks": [], "points": {"y": {"points": [[1]], "files": {}}}}),
    ]
    for garbage in garbled:
        index.write_text(garbage)
        result, noted = _suggest(site, tmp_path)
        assert noted == ["imported"] and _answering(result) == ["hookplug"]
        assert json.loads(index.read_text())["version"] == _VERSION  # written again


def test_the_entry_points_are_read_again_only_when_a_distribution_changes(site, tmp_path):
    """Read through importlib.metadata (``hookindex.scan``) only when a folder of
    sys.path or a plugin distribution's entry_points.txt changed; `plugwire suggest`
    then imports no importlib.metadata at all (test_cli_startup.py)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PLUGWIRE_TESTING", "PLUGWIRE_LOAD_PLUGINS")}
    env.update(PYTHONPATH=str(site), PLUGWIRE_HOME=str(tmp_path / "home"), PLUGWIRE_CACHE_DIR=str(tmp_path / "cache"),
               HOOKPLUG_MARKS=str(tmp_path / "marks"))
    code = textwrap.dedent(
        f"""
        import json
        from plugwire.core.plugincore import hookindex
        scans = []
        scan = hookindex.scan
        hookindex.scan = lambda group: scans.append(group) or scan(group)
        from plugwire.core.wizard.suggest import suggest_data
        names = sorted({{s["suggester"] for s in suggest_data("GET", {URL!r})["suggestions"]}})
        print(json.dumps([names, bool(scans)]))
        """
    )

    # `python -c` puts the working folder on sys.path: one where nothing is written
    quiet = tmp_path / "cwd"
    quiet.mkdir()

    def run() -> tuple[list[str], bool]:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, cwd=quiet)
        assert done.returncode == 0, done.stderr
        names, metadata = json.loads(done.stdout)
        return names, metadata

    assert run() == (["hookplug"], True)  # the first run reads them
    # (its imports may write the plugins' bytecode into the site folder, a change of a
    # sys.path folder: then the second run reads them again, as after any change)
    run()
    assert run() == (["hookplug"], False)
    assert run() == (["hookplug"], False)
    # A new distribution appears in a folder of sys.path: read again, and it answers.
    info = site / "hookplug_more-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hookplug-more\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[plugwire]\nhookplug_more = hookplug_more\n")
    (site / "hookplug_more.py").write_text(textwrap.dedent(_SUGGESTER.format(name="hookplug3")))
    os.utime(site, ns=(time.time_ns(), time.time_ns() + 2 * 10**9))  # a coarse clock must not hide it
    assert run() == (["hookplug", "hookplug3"], True)
    run()  # (its bytecode, maybe)
    assert run() == (["hookplug", "hookplug3"], False)
    # Its entry points edited in place (the folder's time unchanged): read again too.
    (info / "entry_points.txt").write_text("[plugwire]\n")
    stamp = (info / "entry_points.txt").stat()
    os.utime(info / "entry_points.txt", ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 10**9))
    assert run() == (["hookplug"], True)


def test_a_full_load_after_a_partial_one_adds_the_rest(site, tmp_path):
    """In one process: the suggesters first (the index says the auth plugin has
    none), then everything, as a command that lists auth types would."""
    _suggest(site, tmp_path)
    code = textwrap.dedent(
        """
        import json, sys
        from plugwire.core.plugincore.manager import auth_types, plugin_summaries, suggesters
        names = sorted(suggesters.items())
        assert "hookplug_auth" not in sys.modules, "imported for suggesters"
        assert "hookplug" in auth_types.items()
        assert sorted(suggesters.items()) == names
        print(json.dumps([names, sorted(p["name"] for p in plugin_summaries() if p["name"].startswith(("hookplug", "auth_basic")))]))
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PLUGWIRE_TESTING", "PLUGWIRE_LOAD_PLUGINS")}
    env.update(PYTHONPATH=str(site), PLUGWIRE_HOME=str(tmp_path / "home"), PLUGWIRE_CACHE_DIR=str(tmp_path / "cache"),
               HOOKPLUG_MARKS=str(tmp_path / "marks"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    names, plugins = json.loads(done.stdout)
    assert "hookplug" in names and "clash" not in names
    assert plugins == ["auth_basic", "hookplug_auth", "hookplug_suggest"]
