"""What the pytest fixtures of :mod:`plugwire.core.testing.plugin` hand a test:
a plugin registrar, a connection factory and a catalogue loader.

They are plain classes so that a plugin author can also use them outside pytest.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["CatalogueLoader", "ConnectionFactory", "PluginRegistrar"]


class PluginRegistrar:
    """Registers plugins with plugwire's one plugin manager and removes them again.

    Call it with a module or object holding ``@hookimpl`` functions. By default the
    registration is checked at once: every hook the plugin implements is run, and a
    refusal (a wrong type, a clashing or invalid name, an exception) fails loudly
    with plugwire's own message instead of being recorded quietly.
    """

    def __init__(self) -> None:
        from plugwire.core.plugincore.manager import get_plugin_manager

        self.pm = get_plugin_manager()
        self._added: list[Any] = []

    def __call__(self, plugin: Any, name: str | None = None, *, check: bool = True) -> Any:
        """Register ``plugin`` (under ``name``, default its module name); returns it.

        Raises ``PluginError`` when ``check`` is on and plugwire refused anything
        the plugin registered, or when its declared ``PLUGWIRE_PLUGIN_API`` is
        incompatible; the plugin is then not left registered.
        """
        from plugwire.core.base.errors import PluginError
        from plugwire.core.plugincore.manager import _api_problem

        label = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        api = _api_problem(plugin)
        if api:
            raise PluginError(f"plugin {label!r} was refused: {api}.", field="PLUGWIRE_PLUGIN_API")
        registered = self.pm.register(plugin, name=name)
        self._added.append(plugin)
        if check:
            problems = self.problems(registered)
            if problems:
                self.unregister(plugin)
                raise PluginError(f"plugin {registered!r} was refused: " + "; ".join(problems))
        return plugin

    def problems(self, plugin_name: str | None = None) -> list[str]:
        """Return the refusals recorded for ``plugin_name`` (default: every plugin
        registered through this registrar), running each registration hook."""
        from plugwire.core.plugincore import manager as plugins

        names = {plugin_name} if plugin_name else {self.pm.get_name(p) for p in self._added if self.pm.is_registered(p)}
        out = []
        for reg in (plugins.auth_types, plugins.triggers, plugins.suggesters, plugins.catalogue_sources):
            out += [p.reason for p in reg.problems() if p.plugin in names]
        return out

    def from_distribution(self, distribution: str, *, check: bool = True) -> list[Any]:
        """Load and register every ``plugwire`` entry point of an installed
        distribution, exactly as plugwire would load it; returns the modules.

        This proves the package's entry points point at the right modules even
        while installed plugins are kept out of the test run. Raises
        ``LookupError`` when the distribution declares no ``plugwire`` entry point.
        """
        from plugwire.core.plugincore.manager import ENTRY_POINT_GROUP

        eps = [ep for ep in metadata.distribution(distribution).entry_points if ep.group == ENTRY_POINT_GROUP]
        if not eps:
            raise LookupError(f"the distribution {distribution!r} declares no [project.entry-points.{ENTRY_POINT_GROUP}]")
        out = []
        for ep in eps:
            module = ep.load()
            if not self.pm.is_registered(module):
                self(module, name=ep.name, check=check)
            out.append(module)
        return out

    def unregister(self, plugin: Any) -> None:
        """Unregister ``plugin`` if it is still registered."""
        if self.pm.is_registered(plugin):
            self.pm.unregister(plugin)

    def cleanup(self) -> None:
        """Unregister everything this registrar registered (newest first)."""
        while self._added:
            self.unregister(self._added.pop())


class ConnectionFactory:
    """Connections on a throw-away data folder, of any auth type.

    ``create("basic", {"username": "u", "password": "p"})`` validates and saves a
    connection exactly as ``plugwire connections add`` would; ``client(conn)``
    returns the ``httpx2`` client plugwire itself would send with.
    """

    def __init__(self, home_path: Path | str):
        from plugwire.core.connections.model import Connections
        from plugwire.core.storage.home import Home

        self.home = Home(home_path)
        self.service = Connections(self.home)
        self._count = 0

    def create(self, auth_type: str, settings: dict[str, Any] | None = None, *, name: str | None = None, **options: Any):
        """Validate and save a connection; returns the ``Connection``.

        ``options`` are connection options (``test_url``, ``base_url``, ``timeout``...).
        Raises ``UserInputError`` naming the bad field, as the CLI would show it.
        """
        self._count += 1
        data = {"name": name or f"{auth_type}-{self._count}", "auth_type": auth_type, "settings": settings or {}, **options}
        return self.service.create(data)

    def get(self, name: str):
        """Return the saved connection ``name`` (read back from the store)."""
        return self.service.get(name)

    def client(self, connection: Any, *, asynchronous: bool = False, **kwargs: Any):
        """Return an ``httpx2.Client`` (or ``AsyncClient``) sending as ``connection``
        (a ``Connection`` or its name). Close it, or use it in a ``with`` block."""
        from plugwire.core.http.client import client_for

        conn = self.get(connection) if isinstance(connection, str) else connection
        return client_for(conn, self.service, asynchronous=asynchronous, **kwargs)


class CatalogueLoader:
    """Load and validate one catalogue file, and ask the knowledge suggester with
    only that file, so a test proves what the file alone recommends."""

    def problems(self, path: Path | str) -> list[str]:
        """Return every problem of the file, as ``plugwire knowledge validate`` prints them."""
        from plugwire.knowledge.loader import validate_files

        _, problems = validate_files([Path(path)])
        return [str(p) for p in problems]

    def load(self, path: Path | str) -> list[Any]:
        """Return the providers (``CatalogueFile`` models) of a valid file.

        Raises ``AssertionError`` listing every problem when it is not valid.
        """
        from plugwire.knowledge.loader import read_catalogue

        providers, problems = read_catalogue(Path(path), label=str(path))
        if problems or not providers:
            raise AssertionError("catalogue file is not valid:\n" + "\n".join(str(p) for p in problems))
        return providers

    def suggest(self, path: Path | str, method: str, url: str, *, limit: int = 5) -> list[Any]:
        """Return the knowledge suggester's ``Suggestion`` list for ``method`` and
        ``url`` using only this file. Raises ``AssertionError`` for an invalid file."""
        from plugwire.knowledge.base import load_catalogue
        from plugwire.knowledge.sources import Source
        from plugwire.knowledge.suggestions import suggest_from_index

        self.load(path)
        catalogue = load_catalogue([Source("plugin", Path(path), owner="test")], use_cache=False)
        return suggest_from_index(catalogue.index, method.upper(), url, limit=limit)

    def best(self, path: Path | str, method: str, url: str) -> Any:
        """Return the best ``Suggestion`` from this file alone, or None."""
        found = self.suggest(path, method, url, limit=1)
        return found[0] if found else None
