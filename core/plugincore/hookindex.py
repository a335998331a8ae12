"""Which hooks each installed plugin implements, remembered between runs, so that a
command needing one kind of plugin imports only the plugins that provide it.

``plugwire suggest`` needs the suggesters and catalogue sources; importing every
auth type and trigger as well (and pydantic with them) cost it a third of its
start-up. The index maps an entry point's *stamp* to the hook names its module
implemented when it was last imported. A stamp changes whenever the module could
have: it holds the entry point, its distribution's ``.dist-info`` folder (whose name
carries the version) and the module file's path, size and modification time. An
entry point whose stamp is not in the index is imported, as before, and recorded.

The index lives in the cache folder (:func:`plugwire.core.base.cachedir.cache_dir`);
without one (caching off) every plugin is imported. Losing or garbling the file,
or two processes writing it at once, only costs speed: whatever it does not vouch
for is imported.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
from pathlib import Path
from typing import Any

from plugwire.core.base.cachedir import cache_dir

__all__ = ["FILE", "read", "stamp", "write"]

log = logging.getLogger(__name__)

FILE = "plugin-hooks.json"
_VERSION = 1
_MAX_ENTRIES = 512  # the oldest stamps (plugins since changed or removed) go first


def _path() -> Path | None:
    folder = cache_dir()
    return None if folder is None else folder / FILE


def stamp(ep: Any, dist: str) -> str | None:
    """Return the stamp of entry point ``ep`` of distribution ``dist``, or None when
    its module's file cannot be found without importing the module itself."""
    module = ep.value.split(":", 1)[0].strip()
    try:
        spec = importlib.util.find_spec(module)  # imports the parent packages only
    except (Exception, SystemExit):  # a broken parent package: the import will say so
        return None
    origin = getattr(spec, "origin", None)
    if not origin or not os.path.isfile(origin):
        return None
    try:
        st = os.stat(origin)
    except OSError:
        return None
    folder = getattr(ep.dist, "_path", None)
    return f"{ep.name}={ep.value}|{dist}|{folder}|{origin}|{st.st_size}|{st.st_mtime_ns}"


def read() -> dict[str, list[str]]:
    """Return the index (stamp -> hook names); empty when there is none or it cannot
    be read."""
    path = _path()
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    entries = data.get("entries") if isinstance(data, dict) and data.get("version") == _VERSION else None
    if not isinstance(entries, dict):
        return {}
    return {k: v for k, v in entries.items() if isinstance(v, list) and all(isinstance(h, str) for h in v)}


def write(entries: dict[str, list[str]]) -> None:
    """Replace the index with ``entries`` (the newest last), atomically; a cache
    folder that cannot be written only costs speed."""
    path = _path()
    if path is None:
        return
    kept = dict(list(entries.items())[-_MAX_ENTRIES:])
    tmp = path.with_name(f"{FILE}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps({"version": _VERSION, "entries": kept}), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        log.info("could not write the plugin hook index %s: %s", path, exc)
        try:
            tmp.unlink()
        except OSError:
            pass
