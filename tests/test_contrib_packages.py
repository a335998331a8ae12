"""Each example plugin package in contrib/ installs into a fresh virtual environment
(with plugwire from this checkout and the package's own declared dependencies) and
its own test suite passes there."""

from __future__ import annotations

import pytest

from plugin_venv import ROOT, copy_package, shared_venv

PACKAGES = sorted(p.parent for p in (ROOT / "contrib").glob("plugwire-*/pyproject.toml"))


def test_the_example_packages_are_there():
    names = {p.name for p in PACKAGES}
    assert {"plugwire-aws-sigv4", "plugwire-postmark-endpoints", "plugwire-polling-trigger"} <= names


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    venv = shared_venv(tmp_path_factory)
    folder = tmp_path_factory.mktemp("contrib")
    copies = {p.name: copy_package(p, folder) for p in PACKAGES}
    venv.pip_install(*(f"{copy}[test]" for copy in copies.values()))
    return venv, copies


@pytest.mark.parametrize("name", [p.name for p in PACKAGES])
def test_package_installs_and_its_tests_pass(installed, name):
    venv, copies = installed
    done = venv.pytest(copies[name])
    assert done.returncode == 0, f"{name}'s tests failed:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    assert " passed" in done.stdout.splitlines()[-1]
