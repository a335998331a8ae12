"""The one plugin manager, how plugins are loaded, and the registries built from them.

Built-in plugins are entry points of the ``plugwire`` distribution in the group
``plugwire``, exactly as a third party declares its own: nothing built in is
privileged. ``PLUGWIRE_LOAD_PLUGINS`` (a comma-separated list of entry-point or
distribution names) limits which plugins load; an empty value loads none. While
plugwire's own tests run (``PLUGWIRE_TESTING=1``) only plugwire's own entry points
are loaded, so an installed third-party plugin cannot change the results.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Generic, TypeVar

import pluggy

from plugwire.core.base.errors import PluginError
from plugwire.core.plugincore import hookindex, hookspecs

__all__ = [
    "ENTRY_POINT_GROUP",
    "LoadProblem",
    "Registry",
    "auth_types",
    "catalogue_sources",
    "get_plugin_manager",
    "load_problems",
    "plugin_summaries",
    "suggesters",
    "triggers",
]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "plugwire"
_OWN_DISTRIBUTION = "plugwire"  # normalized
_NAME_RE = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")

pm = pluggy.PluginManager("plugwire")
pm.add_hookspecs(hookspecs)

_load_lock = threading.Lock()
_loaded = False  # every wanted entry point was tried
_hooks_loaded: set[str] = set()  # hooks whose plugins were loaded (_load_for)
_tried: set[tuple[str, str, str]] = set()  # (name, distribution, value) imported or refused


@dataclass(frozen=True)
class LoadProblem:
    """A plugin that was refused at load or registration, and why."""

    plugin: str
    reason: str


_problems: list[LoadProblem] = []


def _wanted(ep: hookindex.Point, dist: str) -> bool:
    if os.environ.get("PLUGWIRE_TESTING") == "1" and dist != _OWN_DISTRIBUTION:
        return False
    limit = os.environ.get("PLUGWIRE_LOAD_PLUGINS")
    if limit is None:
        return True
    names = {n.strip() for n in limit.split(",") if n.strip()}
    return ep.name in names or dist in {hookindex.normalize(n) for n in names}


def _api_problem(module: Any) -> str | None:
    """Return why ``module`` is incompatible with this plugin API, or None."""
    declared = getattr(module, "PLUGWIRE_PLUGIN_API", None)
    if declared is None:
        return None
    text = str(declared).strip()
    match = re.fullmatch(r"(>=|==)?\s*(\d+)", text)
    if not match:
        return f"PLUGWIRE_PLUGIN_API = {declared!r} is not a version such as 1 or '>=1'"
    op, wanted = match.group(1) or "==", int(match.group(2))
    have = hookspecs.PLUGIN_API_VERSION
    ok = have >= wanted if op == ">=" else have == wanted
    if not ok:
        return (
            f"needs plugin API {op}{wanted} but this plugwire offers {have}; "
            "upgrade plugwire or install a version of the plugin made for it"
        )
    return None


def _load_entry_points(hooks: frozenset[str] | None = None) -> None:
    """Import and register the wanted entry points not loaded yet; with ``hooks``,
    only those that implement one of them by the hook index (or that it does not
    know), leaving the rest for a later call."""
    data = hookindex.read()
    known, changed = data["hooks"], False
    points = hookindex.cached_points(data)
    if points is None:
        points, changed = hookindex.scan(ENTRY_POINT_GROUP), True
        hookindex.remember_points(data, points)
    learned: dict[str, list[str]] = {}
    deferred: set[str] = set()
    # plugwire's own entry points first: on a name clash the later plugin is the one
    # refused, so a third party cannot take over a built-in name (such as "basic").
    for ep in sorted(points, key=lambda p: p.dist != _OWN_DISTRIBUTION):
        key = (ep.name, ep.dist, ep.value)
        if not _wanted(ep, ep.dist) or key in _tried or pm.get_plugin(ep.name) is not None:
            continue
        if ep.name in deferred:
            continue  # an earlier entry point of this name was left for later: it comes first
        mark = hookindex.stamp(ep)
        if hooks is not None and mark is not None and mark in known and not hooks.intersection(known[mark]):
            deferred.add(ep.name)
            continue
        _tried.add(key)
        module = _load_one(ep)
        if module is not None and mark is not None:
            learned[mark] = sorted(h.name for h in pm.get_hookcallers(module) or [])
    if changed or any(known.get(mark) != found for mark, found in learned.items()):
        data["hooks"] = {**{k: v for k, v in known.items() if k not in learned}, **learned}
        hookindex.write(data)


def _load_one(ep: hookindex.Point) -> Any:
    """Import entry point ``ep`` and register its module; return the module, or None
    when it was refused (the reason kept in the load problems)."""
    try:
        module = ep.load()
    except (Exception, SystemExit) as exc:  # a broken plugin (even one calling sys.exit) must not take plugwire down
        _problems.append(LoadProblem(ep.label(), f"failed to import: {type(exc).__name__}: {exc}"))
        log.warning("plugin %s was not loaded: %s", ep.label(), exc)
        return None
    problem = _api_problem(module)
    if problem:
        _problems.append(LoadProblem(ep.label(), problem))
        log.warning("plugin %s was not loaded: %s", ep.label(), problem)
        return None
    try:
        pm.register(module, name=ep.name)
    except Exception as exc:
        _problems.append(LoadProblem(ep.label(), f"refused by the plugin manager: {exc}"))
        return None
    return module


def get_plugin_manager() -> pluggy.PluginManager:
    """Return the plugin manager, loading every entry-point plugin on first use."""
    global _loaded
    if not _loaded:
        with _load_lock:
            if not _loaded:
                _load_entry_points()
                _loaded = True
    return pm


def _load_for(hook_name: str) -> None:
    """Load the entry-point plugins that implement ``hook_name`` (all of them, unless
    the hook index knows better), once per hook."""
    if _loaded or hook_name in _hooks_loaded:
        return
    with _load_lock:
        if not _loaded and hook_name not in _hooks_loaded:
            _load_entry_points(frozenset((hook_name,)))
            _hooks_loaded.add(hook_name)


def load_problems() -> list[LoadProblem]:
    """Return the plugins refused so far (at import, API check or registration)."""
    get_plugin_manager()
    return list(_problems) + [p for reg in _REGISTRIES for p in reg.problems()]


T = TypeVar("T")


@dataclass
class _Snapshot(Generic[T]):
    key: tuple
    items: dict[str, T]
    owners: dict[str, str]
    problems: list[LoadProblem] = field(default_factory=list)


class Registry(Generic[T]):
    """Things of one kind that plugins registered through one hook, by unique name.

    Rebuilt whenever the set of registered plugins changes, so a test that
    registers and unregisters a plugin sees the change at once.
    """

    def __init__(self, hook_name: str, kind: str, expected: str | type, *, named: bool = True):
        self.hook_name = hook_name
        self.kind = kind
        # "module:Class", imported when the registry is first built: the base classes
        # of auth types and triggers import pydantic, which `plugwire suggest` never needs.
        self._expected = expected
        self._named = named
        self._lock = threading.Lock()
        self._snapshot: _Snapshot[T] | None = None

    def _build(self, key: tuple) -> _Snapshot[T]:
        expected = self._expected
        if isinstance(expected, str):
            module, _, attr = expected.partition(":")
            expected = self._expected = getattr(importlib.import_module(module), attr)
        snap: _Snapshot[T] = _Snapshot(key, {}, {})
        hook = getattr(pm.hook, self.hook_name)
        for impl in hook.get_hookimpls():
            plugin = impl.plugin_name
            register = self._register_for(plugin, expected, snap)
            try:
                impl.function(register=register)
            except PluginError as exc:
                snap.problems.append(LoadProblem(plugin, str(exc)))
                log.warning("%s", exc)
            except (Exception, SystemExit) as exc:  # a plugin's own bug: report it, keep the rest
                msg = f"plugin {plugin!r} failed in {self.hook_name}: {type(exc).__name__}: {exc}"
                snap.problems.append(LoadProblem(plugin, msg))
                log.warning("%s", msg)
        return snap

    def _register_for(self, plugin: str, expected: type, snap: _Snapshot[T]) -> Callable[[Any], None]:
        def register(item: Any) -> None:
            if self._named:
                if not isinstance(item, expected):
                    raise PluginError(
                        f"plugin {plugin!r} registered {item!r} as a {self.kind}, "
                        f"but it is not a {expected.__name__}.",
                        fix=f"pass an instance of a plugwire.{expected.__name__} subclass",
                    )
                name = getattr(item, "name", None)
                if not isinstance(name, str) or not _NAME_RE.match(name):
                    raise PluginError(
                        f"plugin {plugin!r} registered a {self.kind} with the invalid name {name!r}.",
                        fix="use lower-case letters, digits, '_', '-' or '.', starting with a letter",
                    )
                if name in snap.items:
                    raise PluginError(
                        f"plugin {plugin!r} registered the {self.kind} {name!r}, "
                        f"which plugin {snap.owners[name]!r} already registered.",
                        fix="rename one of them or disable one plugin with PLUGWIRE_LOAD_PLUGINS",
                    )
            else:
                path = Path(item) if isinstance(item, (str, os.PathLike)) else None
                if path is None or not path.exists():
                    raise PluginError(
                        f"plugin {plugin!r} registered the {self.kind} {item!r}, which does not exist.",
                        fix="register the path of a catalogue file or folder shipped with the plugin",
                    )
                name = str(path.resolve())
                item = path
                if name in snap.items:
                    return
            snap.items[name] = item
            snap.owners[name] = plugin

        return register

    def _current(self) -> _Snapshot[T]:
        _load_for(self.hook_name)
        key = tuple((name, id(plugin)) for name, plugin in pm.list_name_plugin())
        snap = self._snapshot
        if snap is None or snap.key != key:
            with self._lock:
                snap = self._snapshot
                if snap is None or snap.key != key:
                    snap = self._build(key)
                    self._snapshot = snap
        return snap

    def items(self) -> dict[str, T]:
        """Return every registered item by name (a copy)."""
        return dict(self._current().items)

    def owners(self) -> dict[str, str]:
        """Return the name of the plugin that registered each item."""
        return dict(self._current().owners)

    def problems(self) -> list[LoadProblem]:
        """Return the registrations refused while building this registry."""
        return list(self._current().problems)

    def get(self, name: str) -> T | None:
        """Return the item registered under ``name``, or None."""
        return self._current().items.get(name)

    def names(self) -> list[str]:
        """Return the registered names, sorted."""
        return sorted(self._current().items)


auth_types: Registry = Registry("register_auth_types", "auth type", "plugwire.core.plugincore.auth:AuthType")
triggers: Registry = Registry("register_triggers", "trigger", "plugwire.core.plugincore.triggers:TriggerType")
suggesters: Registry = Registry("register_suggesters", "suggester", "plugwire.core.plugincore.suggesters:Suggester")
catalogue_sources: Registry = Registry(
    "register_catalogue_sources", "catalogue source", object, named=False
)
_REGISTRIES = (auth_types, triggers, suggesters, catalogue_sources)


def plugin_summaries() -> list[dict[str, Any]]:
    """Return, per loaded plugin, its name, distribution, module, hooks and what it provides."""
    get_plugin_manager()
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    provided: dict[str, dict[str, list[str]]] = {}
    for reg in _REGISTRIES:
        for item, owner in reg.owners().items():
            provided.setdefault(owner, {}).setdefault(reg.kind, []).append(item)
    out = []
    for name, plugin in sorted(pm.list_name_plugin()):
        if plugin is None:
            continue
        dist = dists.get(id(plugin))
        ep_dist = None
        from importlib import metadata

        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP, name=name):
            ep_dist = ep.dist
        d = dist or ep_dist
        out.append(
            {
                "name": name,
                "distribution": getattr(d, "project_name", None) or getattr(d, "name", None),
                "version": getattr(d, "version", None),
                "module": getattr(plugin, "__name__", type(plugin).__name__),
                "builtin": getattr(plugin, "__name__", "").startswith("plugwire."),
                "hooks": sorted(h.name for h in pm.get_hookcallers(plugin) or []),
                "provides": provided.get(name, {}),
            }
        )
    return out

