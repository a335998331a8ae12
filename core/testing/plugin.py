"""plugwire's pytest plugin for plugin authors (the ``pytest11`` entry point).

Installed with plugwire, it is active in every test run of an environment where
plugwire is installed. Its fixtures carry a ``plugwire_`` prefix so they never
shadow a project's own:

``plugwire_home``
    a fresh data folder for the test, set as ``PLUGWIRE_HOME``.
``plugwire_plugin``
    a :class:`~plugwire.core.testing.helpers.PluginRegistrar`: ``plugwire_plugin(module)``
    registers your plugin with plugwire's plugin manager; it is always
    unregistered after the test, whether the test passed or failed.
``plugwire_api``
    a :class:`~plugwire.core.testing.server.ProgrammableAPI`: a real HTTP server on
    127.0.0.1 whose routes and replies the test sets, recording every request.
``plugwire_connections``
    a :class:`~plugwire.core.testing.helpers.ConnectionFactory` on the test's data
    folder: create connections of any auth type and get the client plugwire uses.
``plugwire_catalogue``
    a :class:`~plugwire.core.testing.helpers.CatalogueLoader`: validate one
    catalogue file and ask the knowledge suggester with only that file.
``plugwire_cli``
    run ``plugwire ARGS`` in-process on the test's data folder (with the plugins the
    test registered): returns ``(exit code, stdout, stderr)``.

While tests run, installed plugwire plugins are not loaded from their entry points
(``PLUGWIRE_TESTING=1``), so another installed plugin cannot change your results;
your plugin comes in through ``plugwire_plugin``. Set the ini option
``plugwire_isolate = false`` to load every installed plugin instead.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Iterator

import pytest

if TYPE_CHECKING:  # only for annotations: pytest start-up stays light
    from plugwire.core.testing.helpers import CatalogueLoader, ConnectionFactory, PluginRegistrar
    from plugwire.core.testing.server import ProgrammableAPI

__all__ = [
    "plugwire_api",
    "plugwire_catalogue",
    "plugwire_cli",
    "plugwire_connections",
    "plugwire_home",
    "plugwire_plugin",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "plugwire_isolate",
        type="bool",
        default=True,
        help="plugwire: keep installed plugwire plugins out of the test run (default true)",
    )


def pytest_configure(config: pytest.Config) -> None:
    # Entry points load lazily on first use, so setting this before any test runs is early enough.
    if config.getini("plugwire_isolate"):
        os.environ.setdefault("PLUGWIRE_TESTING", "1")


@pytest.fixture
def plugwire_home(tmp_path, monkeypatch):
    """A fresh plugwire data folder (a ``Path``), set as ``PLUGWIRE_HOME`` for the test."""
    folder = tmp_path / "plugwire-home"
    folder.mkdir()
    monkeypatch.setenv("PLUGWIRE_HOME", str(folder))
    return folder


@pytest.fixture
def plugwire_plugin() -> Iterator["PluginRegistrar"]:
    """Register plugins for this test only: ``plugwire_plugin(module)``."""
    from plugwire.core.testing.helpers import PluginRegistrar

    registrar = PluginRegistrar()
    try:
        yield registrar
    finally:
        registrar.cleanup()


@pytest.fixture
def plugwire_api() -> Iterator["ProgrammableAPI"]:
    """A programmable HTTP API on 127.0.0.1, stopped after the test."""
    from plugwire.core.testing.server import ProgrammableAPI

    api = ProgrammableAPI()
    api.start()
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture
def plugwire_connections(plugwire_home) -> "ConnectionFactory":
    """Create connections of any auth type on the test's data folder."""
    from plugwire.core.testing.helpers import ConnectionFactory

    return ConnectionFactory(plugwire_home)


@pytest.fixture
def plugwire_catalogue() -> "CatalogueLoader":
    """Validate a catalogue file and ask the knowledge suggester with only that file."""
    from plugwire.core.testing.helpers import CatalogueLoader

    return CatalogueLoader()


@pytest.fixture
def plugwire_cli(plugwire_home, capsys, monkeypatch):
    """Run ``plugwire ARGS`` in-process with an empty stdin and wide output; returns
    ``(exit code, stdout, stderr)``."""
    import io
    import sys

    from plugwire.core.cli import main

    monkeypatch.setenv("COLUMNS", "200")  # keep rich tables from wrapping

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(""))
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return code, out, err

    return run
