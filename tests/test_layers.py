"""The shape of the house, kept by tests: the import layers and the absence of import
circles (import-linter, contracts in pyproject.toml), the public plugin API that
plugins, contrib packages and scaffold templates import from, and the rooms' size.

grimp (under import-linter) finds a package's modules by walking its folder, and
plugwire's three folders are mapped into one package by pyproject.toml; so the check
runs on a copy of them laid out as that one package."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import plugwire
from plugwire import testing

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).parent / "lint-imports"
ROOMS = ["base", "storage", "plugincore", "connections", "http", "curl", "wizard", "recipes"]
FRONT_DOORS = ["cli", "server", "web", "testing"]


def _mirror(target: Path) -> Path:
    """Copy plugwire's Python files into ``target/plugwire`` as one package, with
    pyproject.toml beside it; returns ``target``."""
    package = target / "plugwire"
    package.mkdir(parents=True)
    for path in (ROOT / "plugwire").glob("*.py"):
        shutil.copy(path, package / path.name)
    for folder in ("core", "plugins", "knowledge"):
        for path in (ROOT / folder).rglob("*.py"):
            dest = package / folder / path.relative_to(ROOT / folder)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, dest)
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def _lint(tree: Path) -> subprocess.CompletedProcess:
    # Run from the copy with only the copy on the path: the installed (editable)
    # plugwire must not be the one analysed.
    return subprocess.run([str(LINT), "--no-cache"], cwd=tree, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin", "COLUMNS": "400"},
                          capture_output=True, text=True, timeout=120)


def _broken(output: str) -> set[str]:
    """Return the names of the contracts the report says are broken (each is a
    heading, underlined with dashes, under "Broken contracts")."""
    lines = output.split("Broken contracts", 1)[-1].splitlines()
    return {line.strip() for line, under in zip(lines, lines[1:])
            if line.strip() and set(under.strip()) == {"-"} and len(under.strip()) == len(line.strip())}


def test_the_import_contracts_hold(tmp_path):
    done = _lint(_mirror(tmp_path))
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "5 kept, 0 broken" in done.stdout


BREAKS = {
    # where, what is added, the contract it breaks (start of its name)
    "an engine module importing a front door, lazily": (
        "core/base/errors.py", "\n\ndef _late():\n    from plugwire.core.server import serve\n", "Rooms"),
    "a room importing a room above it, for a type only": (
        "core/http/send.py", "\n\nif False:\n    from plugwire.core.wizard.actions import Action\n", "Rooms"),
    "two modules importing each other": (
        "core/wizard/apply.py", "\n\ndef _late():\n    from plugwire.core.wizard import steps\n", "No import circles"),
    "a built-in plugin importing an internal module": (
        "plugins/auth/none.py", "\nfrom plugwire.core.base.errors import UserInputError\n", "Built-in plugins"),
    "the knowledge base importing a front door": (
        "knowledge/models.py", "\n\ndef _late():\n    from plugwire.core.cli import main\n", "Rooms"),
    "the engine importing the package root": (
        "core/recipes/runner.py", "\n\ndef _late():\n    from plugwire import hookimpl\n", "The engine and the knowledge base never import the package root"),
}


@pytest.mark.parametrize("case", sorted(BREAKS))
def test_the_contracts_catch_a_break(tmp_path, case):
    where, added, contract = BREAKS[case]
    tree = _mirror(tmp_path)
    path = tree / "plugwire" / where
    path.write_text(path.read_text() + added)
    done = _lint(tree)
    assert done.returncode != 0, done.stdout[-3000:]
    assert any(name.startswith(contract) for name in _broken(done.stdout)), done.stdout[-3000:]


# -- the public plugin API -----------------------------------------------------------

def _imports(source: str) -> list[tuple[int, str]]:
    """Return (line, module) of every import in ``source``, lazy ones included; a
    relative import is returned as ``.``."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            out.append((node.lineno, "." if node.level else node.module or ""))
    return out


def _foreign(source: str, allowed: tuple[str, ...]) -> list[str]:
    """Return the plugwire modules ``source`` imports that are not ``allowed``
    (a module or a package prefix ending in '.')."""
    bad = []
    for line, module in _imports(source):
        if module != "plugwire" and not module.startswith("plugwire."):
            continue
        if module in allowed or any(a.endswith(".") and module.startswith(a) for a in allowed):
            continue
        bad.append(f"line {line}: {module}")
    return bad


def _template_source(path: Path) -> str:
    # The scaffold's placeholders, as plain names, so the template parses.
    return re.sub(r"__[A-Z_]+__", "placeholder", path.read_text())


def _plugin_files() -> list[tuple[str, str, tuple[str, ...]]]:
    """Every file that is plugin code or a plugin's test, with the imports it may make."""
    out = []
    for path in sorted((ROOT / "plugins").rglob("*.py")):
        out.append((str(path.relative_to(ROOT)), path.read_text(), ("plugwire", "plugwire.plugins.")))
    for package in sorted((ROOT / "contrib").glob("plugwire-*/")):
        for path in sorted((package / "src").rglob("*.py")):
            out.append((str(path.relative_to(ROOT)), path.read_text(), ("plugwire",)))
        for path in sorted((package / "tests").rglob("*.py")):
            out.append((str(path.relative_to(ROOT)), path.read_text(), ("plugwire", "plugwire.testing")))
    for path in sorted((ROOT / "core" / "plugincore" / "templates").rglob("*.py.tmpl")):
        allowed = ("plugwire", "plugwire.testing") if path.name.startswith("test") else ("plugwire",)
        out.append((str(path.relative_to(ROOT)), _template_source(path), allowed))
    return out


def test_plugins_contrib_packages_and_templates_import_only_the_public_api():
    files = _plugin_files()
    kinds = {name.split("/")[0] for name, _, _ in files}
    assert kinds == {"plugins", "contrib", "core"} and len(files) > 30
    problems = {name: bad for name, source, allowed in files if (bad := _foreign(source, allowed))}
    assert problems == {}, "import from plugwire (or plugwire.testing in tests) instead:\n" + "\n".join(
        f"{name}: {', '.join(bad)}" for name, bad in problems.items())


def test_the_import_check_sees_internal_imports_lazy_or_not():
    source = "from plugwire import hookimpl\nimport plugwire.core.base.errors\n\ndef f():\n    from plugwire.knowledge.base import get_knowledge\n"
    assert _foreign(source, ("plugwire",)) == ["line 2: plugwire.core.base.errors", "line 5: plugwire.knowledge.base"]
    assert _foreign("from plugwire.testing import Reply\n", ("plugwire", "plugwire.testing")) == []
    assert _foreign("from plugwire.testing import Reply\n", ("plugwire",)) == ["line 1: plugwire.testing"]


def test_every_name_of_the_public_api_resolves():
    for name in plugwire.__all__:
        assert getattr(plugwire, name) is not None, name
    assert set(plugwire.__all__) <= set(dir(plugwire))
    for name in ("hookimpl", "AuthType", "AuthContext", "TriggerType", "Suggester", "Suggestion", "SampleRequest",
                 "PollContext", "InboundRequest", "Received", "TriggerRefused", "PlugwireError", "UserInputError", "PluginError"):
        assert name in plugwire.__all__
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        plugwire.Nothing  # noqa: B018
    for name in testing.__all__:
        assert getattr(testing, name) is not None, name


def test_the_public_types_are_the_engines_own():
    from plugwire.core.plugincore.auth import AuthType
    from plugwire.core.plugincore.manager import auth_types

    assert plugwire.AuthType is AuthType and testing.auth_types is auth_types


def test_the_writer_process_does_not_import_the_public_api_eagerly():
    # The job store's writer child imports plugwire.*: the root must stay light.
    code = "import sys, plugwire.core.storage.jobprocess; print('pydantic' in sys.modules, 'httpx2' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["False", "False"], done.stderr


# -- the rooms -------------------------------------------------------------------------

def test_core_is_a_handful_of_rooms_each_saying_what_it_holds():
    folders = sorted(p.name for p in (ROOT / "core").iterdir() if p.is_dir() and (p / "__init__.py").exists())
    assert folders == sorted(ROOMS + FRONT_DOORS)
    assert [p.name for p in (ROOT / "core").glob("*.py")] == ["__init__.py"]
    for room in folders:
        doc = ast.get_docstring(ast.parse((ROOT / "core" / room / "__init__.py").read_text()))
        assert doc and len(doc) > 80, f"core/{room}/__init__.py needs a paragraph saying what lives there"
    index = ast.get_docstring(ast.parse((ROOT / "core" / "__init__.py").read_text()))
    assert all(f"``{room}``" in index for room in ROOMS + FRONT_DOORS)


def test_modules_stay_small():
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines())
             for folder in ("core", "plugins", "knowledge") for p in (ROOT / folder).rglob("*.py")}
    assert {name: n for name, n in sizes.items() if n > 420} == {}


def test_the_type_checking_imports_of_the_root_match_its_lazy_exports():
    # Type checkers read the TYPE_CHECKING block, the interpreter reads _EXPORTS:
    # the two must name the same things from the same modules.
    tree = ast.parse((ROOT / "plugwire" / "__init__.py").read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", None) == "TYPE_CHECKING")
    static = {alias.name: node.module for node in block.body if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert static == plugwire._EXPORTS
