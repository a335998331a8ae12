"""`plugwire plugins new NAME --kind ...` writes a package that installs into a fresh
virtual environment and passes its own tests as generated, for every kind."""

from __future__ import annotations

import json
import tomllib

import pytest

from plugin_venv import shared_venv
from plugwire.core.plugincore.scaffold import KINDS

NAMES = {kind: f"scaffolded-{kind}" for kind in KINDS}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Every kind generated through the CLI (in a fresh process) and installed."""
    import subprocess
    import sys
    from pathlib import Path

    folder = tmp_path_factory.mktemp("scaffold")
    plugwire = str(Path(sys.executable).with_name("plugwire"))
    roots = {}
    for kind, name in NAMES.items():
        done = subprocess.run([plugwire, "plugins", "new", name, "--kind", kind, "--dir", str(folder), "--json"],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        roots[kind] = Path(json.loads(done.stdout)["package"])
    venv = shared_venv(tmp_path_factory)
    venv.pip_install(*(f"{root}[test]" for root in roots.values()))
    return venv, roots


def test_a_package_has_the_entry_point_the_api_version_tests_and_readme(generated):
    _, roots = generated
    for kind, root in roots.items():
        meta = tomllib.loads((root / "pyproject.toml").read_text())
        package = f"plugwire_{NAMES[kind].replace('-', '_')}"
        assert meta["project"]["entry-points"]["plugwire"] == {NAMES[kind]: package}
        assert "plugwire>=" in meta["project"]["dependencies"][0]
        assert "PLUGWIRE_PLUGIN_API = 1" in (root / "src" / package / "__init__.py").read_text()
        assert (root / "README.md").exists() and list((root / "tests").glob("test_*.py"))


@pytest.mark.parametrize("kind", KINDS)
def test_the_generated_package_passes_its_own_tests(generated, kind):
    venv, roots = generated
    done = venv.pytest(roots[kind])
    assert done.returncode == 0, f"{kind}:\n{done.stdout[-5000:]}\n{done.stderr[-2000:]}"
    assert " passed" in done.stdout.splitlines()[-1] and " failed" not in done.stdout


def test_bad_names_and_existing_folders_are_refused(run_cli, tmp_path):
    code, out, err = run_cli("plugins", "new", "Not A Name", "--kind", "auth", "--dir", str(tmp_path))
    assert code == 2 and "NAME 'not a name'" in out + err
    code, out, err = run_cli("plugins", "new", "fine", "--kind", "widget", "--dir", str(tmp_path))
    assert code == 2 and "--kind 'widget'" in out + err and "auth, trigger, suggester, catalogue" in out + err
    assert run_cli("plugins", "new", "fine", "--kind", "auth", "--dir", str(tmp_path))[0] == 0
    code, out, err = run_cli("plugins", "new", "plugwire-fine", "--kind", "trigger", "--dir", str(tmp_path))
    assert code == 1 and "exists already; nothing was written" in out + err
