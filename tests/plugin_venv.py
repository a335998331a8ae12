"""One fresh virtual environment per test session for plugin packages: plugwire
installed from this checkout, nothing else from the test run's own environment.

It is made without pip (the running pip installs into it with ``--python``) and
without byte-compiling, which brings it from about 45 s to about 12 s; packages
are built with ``--no-build-isolation`` against the setuptools installed in it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_lock = threading.Lock()
_venv: "Venv | None" = None


@dataclass
class Venv:
    path: Path

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def pip_install(self, *args: str, cwd: Path | None = None) -> None:
        """Install into this environment; raises ``AssertionError`` with pip's output on failure."""
        cmd = [sys.executable, "-m", "pip", "--python", str(self.python), "install", "-q",
               "--disable-pip-version-check", "--no-compile", "--no-build-isolation", *args]
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"pip install {' '.join(args)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"

    def pytest(self, folder: Path) -> subprocess.CompletedProcess:
        """Run the test suite of the package in ``folder`` with this environment."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PLUGWIRE_", "PYTEST_")) and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        return subprocess.run([str(self.python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                              cwd=folder, env=env, capture_output=True, text=True, timeout=600)


def shared_venv(tmp_path_factory) -> Venv:
    """Return the session's environment, creating it on first use."""
    global _venv
    with _lock:
        if _venv is None:
            path = tmp_path_factory.getbasetemp() / "plugin-venv"
            subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
            venv = Venv(path)
            venv.pip_install("setuptools>=77", "pytest>=8")
            venv.pip_install("-e", str(ROOT))
            _venv = venv
        return _venv


def copy_package(source: Path, target_parent: Path) -> Path:
    """Copy a package's sources (no build leftovers) to ``target_parent``; returns the copy.

    Building in place would leave build/ and *.egg-info in the checkout.
    """
    target = target_parent / source.name
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", ".pytest_cache"))
    return target
