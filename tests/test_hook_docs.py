"""Every hook is documented in docs/hooks.md (exact signature, an example that runs)
and has a test of its own, declared with ``@pytest.mark.hook("register_...")``.

The test suite's items are collected in a fresh ``pytest --collect-only`` process,
so the check does not depend on how this run was started (one file, ``-k``, ``-x``).
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import re
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from plugwire.core.plugincore import hookspecs
from plugwire.core.plugincore import manager as plugins

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "hooks.md"
HERE = Path(__file__).name

_REGISTRY = {reg.hook_name: reg for reg in plugins._REGISTRIES}

# A plugin for the inner pytest: writes {nodeid: [hook names]} for every collected item.
_COLLECTOR = '''
import json, os

def pytest_collection_finish(session):
    out = {}
    for item in session.items:
        hooks = [m.args[0] if m.args else None for m in item.iter_markers("hook")]
        out[item.nodeid] = hooks
    with open(os.environ["PLUGWIRE_HOOK_REPORT"], "w") as fh:
        json.dump(out, fh)
'''


def hook_names() -> list[str]:
    """Return every hook declared in plugwire.core.plugincore.hookspecs."""
    return sorted(
        name for name, obj in vars(hookspecs).items()
        if inspect.isfunction(obj) and getattr(obj, "plugwire_spec", None) is not None
    )


def declared_signature(name: str) -> str:
    """Return ``def name(args) -> ret`` as written in hookspecs.py."""
    tree = ast.parse(Path(hookspecs.__file__).read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            node.body, node.decorator_list = [ast.Pass()], []
            return ast.unparse(node).splitlines()[0].removesuffix(":")
    raise LookupError(name)


def sections() -> dict[str, str]:
    """Return the text of each ``## name`` section of docs/hooks.md."""
    parts = re.split(r"^## (\S+)\s*$", DOC.read_text(), flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def code_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> dict[str, list]:
    folder = tmp_path_factory.mktemp("hook-report")
    (folder / "_plugwire_hook_report.py").write_text(_COLLECTOR)
    report = folder / "report.json"
    env = {**os.environ, "PLUGWIRE_HOOK_REPORT": str(report),
           "PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "-p", "_plugwire_hook_report", str(ROOT / "tests")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert report.exists(), f"collecting the test suite failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(report.read_text())


def test_every_hook_has_a_section_with_its_exact_signature():
    docs = sections()
    for name in hook_names():
        assert name in docs, f"docs/hooks.md has no '## {name}' section"
        signature = declared_signature(name)
        assert signature in docs[name], f"the {name} section does not show its signature:\n{signature}"
        for heading in ("**When it is called**", "**What it gets**", "**What it returns**", "**Example**"):
            assert heading in docs[name], f"the {name} section lacks {heading}"


def test_no_section_documents_a_hook_that_does_not_exist():
    stale = set(sections()) - set(hook_names())
    assert not stale, f"docs/hooks.md documents hooks that core/hookspecs.py does not declare: {sorted(stale)}"


def test_every_hook_has_a_test_of_its_own(collected):
    known = set(hook_names())
    covered: dict[str, list[str]] = {name: [] for name in known}
    for nodeid, hooks in collected.items():
        for hook in hooks:
            assert hook in known, f"{nodeid} is marked hook({hook!r}), which is not a hook"
            if not nodeid.split("::")[0].endswith(HERE):  # the doc examples below do not count
                covered[hook].append(nodeid)
    missing = sorted(name for name, tests in covered.items() if not tests)
    assert not missing, (
        f"no test is marked @pytest.mark.hook(...) for: {missing}; "
        "write one that registers an implementation and checks its effect"
    )


def test_the_coverage_check_sees_markers(collected):
    # Guards the check above against a collector that silently finds no marks.
    marked = [nodeid for nodeid, hooks in collected.items() if hooks]
    assert len(collected) > 50 and marked


def _example_module(name: str, tmp_path: Path) -> types.ModuleType:
    (example,) = [b for b in code_blocks(sections()[name]) if "@hookimpl" in b]
    module = types.ModuleType(f"hook_doc_example_{name}")
    module.__file__ = str(tmp_path / "plugin.py")
    exec(compile(example, f"docs/hooks.md ({name} example)", "exec"), module.__dict__)
    return module


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.hook(n)) for n in hook_names()])
def test_the_documented_example_registers_cleanly(name, tmp_path, plugwire_plugin, plugwire_home):
    catalogue = tmp_path / "catalogue"
    catalogue.mkdir()
    (catalogue / "example.yaml").write_text(textwrap.dedent("""\
        format: 1
        provider: hookdocs
        name: Hook docs example
        hosts: [api.hookdocs.example]
        endpoints:
          - {method: GET, path: /v1/ping, summary: Ping}
    """))
    module = _example_module(name, tmp_path)
    assert module.PLUGWIRE_PLUGIN_API == hookspecs.PLUGIN_API_VERSION
    registry = _REGISTRY[name]
    before = set(registry.items())
    plugwire_plugin(module, name=f"hook-docs-{name}")  # refuses loudly on any problem
    added = set(registry.items()) - before
    assert added, f"the {name} example registered nothing"
    assert {registry.owners()[k] for k in added} == {f"hook-docs-{name}"}
