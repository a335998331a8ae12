"""Fixtures every test may use: an isolated data folder, in-test plugins, and real
HTTP servers on 127.0.0.1 started in a thread."""

from __future__ import annotations

import os

# Set before plugwire is imported: only plugwire's own entry points load during its
# tests, and no test touches the user's real data folder.
os.environ["PLUGWIRE_TESTING"] = "1"
os.environ.pop("PLUGWIRE_LOAD_PLUGINS", None)
os.environ.pop("PLUGWIRE_SECRET_KEY", None)

import socket
from contextlib import contextmanager
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, settings

from plugwire.core.plugincore.manager import get_plugin_manager
from plugwire.core.testing.server import ServerThread

# With CI=true nothing skips: every skip fails naming its reason (tests/ci_noskip.py).
from ci_noskip import pytest_runtest_makereport  # noqa: E402,F401


# The fuzzing campaign (tests marked ``fuzz``): bounded and derandomized in the suite so
# that it stays fast and deterministic; bench/fuzz_long.py selects "long" for a real
# campaign with fresh random examples.
settings.register_profile(
    # No example database: a failure saved by one run would be replayed first by the
    # next, so the suite's outcome would depend on what ran before on this machine.
    "suite", max_examples=60, deadline=None, derandomize=True, print_blob=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "long", max_examples=int(os.environ.get("PLUGWIRE_FUZZ_EXAMPLES", "5000")), deadline=None, derandomize=False, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("PLUGWIRE_FUZZ_PROFILE", "suite"))


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh data folder for this test, set as PLUGWIRE_HOME."""
    from plugwire.core.storage.home import Home

    folder = tmp_path / "plugwire-home"
    monkeypatch.setenv("PLUGWIRE_HOME", str(folder))
    return Home(folder)


@pytest.fixture
def connections(home):
    """The connections service on the test's data folder."""
    from plugwire.core.connections.model import Connections

    return Connections(home)


@pytest.fixture
def register_plugin():
    """Register an in-test plugin (module or object); always unregistered afterwards."""
    pm = get_plugin_manager()
    added: list[Any] = []

    def register(plugin: Any, name: str | None = None) -> Any:
        pm.register(plugin, name=name)
        added.append(plugin)
        return plugin

    yield register
    for plugin in added:
        if pm.is_registered(plugin):
            pm.unregister(plugin)


# The same threaded uvicorn server that plugwire's pytest plugin gives plugin authors.
LiveServer = ServerThread


@contextmanager
def running(app, **kw) -> Iterator[LiveServer]:
    """Run ``app`` on 127.0.0.1 for the duration of the ``with`` block."""
    server = LiveServer(app, **kw).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def live_server():
    """Factory: ``live_server(app, ssl_options=None)`` starts a real server, stopped at teardown."""
    servers: list[LiveServer] = []

    def start(app, **kw) -> LiveServer:
        server = LiveServer(app, **kw).start()
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.stop()


def free_port() -> int:
    """Return a port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def run_cli(home, capsys, monkeypatch):
    """Run ``plugwire ARGS`` in-process with an empty stdin; returns
    ``(exit code, stdout, stderr)`` and fails the test on any traceback."""
    import io
    import sys

    from plugwire.core.cli import main

    monkeypatch.setenv("COLUMNS", "200")  # keep rich tables from wrapping

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(""))
        capsys.readouterr()
        with pytest.raises(SystemExit) as info:
            main(list(args))
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return info.value.code or 0, out, err

    return run
