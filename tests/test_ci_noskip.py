"""tests/ci_noskip.py: with CI=true every kind of skip fails the run naming its
reason, an xfail stays an xfail, and without CI the same tests skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

SKIPPING = '''
import pytest

@pytest.mark.skipif(True, reason="the-marker-reason")
def test_marker():
    pass

def test_call():
    pytest.skip("the-call-reason")

def test_import():
    pytest.importorskip("no_such_module_for_ci_noskip")

@pytest.mark.xfail(reason="known", strict=True)
def test_expected_failure():
    assert False

def test_passes():
    pass
'''


def _run(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess:
    (tmp_path / "test_skipping.py").write_text(SKIPPING)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "ci_noskip", "-p", "no:cacheprovider", "-p", "no:plugwire", "-rA", "-q", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )


def test_under_ci_every_skip_fails_naming_its_reason(tmp_path):
    run = _run(tmp_path, "true")
    assert run.returncode == 1, run.stdout
    for reason in ("the-marker-reason", "the-call-reason", "no_such_module_for_ci_noskip"):
        assert reason in run.stdout and "with CI=true nothing may skip" in run.stdout
    assert "1 passed" in run.stdout and "1 xfailed" in run.stdout and "skipped" not in run.stdout.splitlines()[-1]


def test_without_ci_the_same_tests_skip(tmp_path):
    run = _run(tmp_path, None)
    assert run.returncode == 0, run.stdout
    assert "1 passed, 3 skipped, 1 xfailed" in run.stdout.splitlines()[-1]


def test_the_suite_loads_the_plugin(request):
    import ci_noskip
    import conftest

    # tests/conftest.py carries the hook, so every test of the suite is under it.
    assert request.config.pluginmanager.is_registered(conftest)
    assert conftest.pytest_runtest_makereport is ci_noskip.pytest_runtest_makereport
