"""Which plugins are installed and which hooks each implements, remembered between
runs, so that a command needing one kind of plugin imports only the plugins that
provide it, and finds them without importlib.metadata.

``plugwire suggest`` needs the suggesters and catalogue sources; importing every
auth type and trigger as well (and pydantic with them) cost it a third of its
start-up. The index maps an entry point's *stamp* to the hook names its module
implemented when it was last imported. A stamp changes whenever the module could
have: it holds the entry point, its distribution's ``.dist-info`` folder (whose name
carries the version) and the module file's path, size and modification time. An
entry point whose stamp is not in the index is imported, as before, and recorded.

The entry points themselves are remembered too (:class:`Point`): reading them
through importlib.metadata costs more than a bare Python start (its import pulls in
the email package). They are kept per ``sys.path``, with each path entry's
modification time (installing or removing a distribution adds or removes a folder
there) and each plugin distribution's ``entry_points.txt`` time; anything else is a
fresh scan (:func:`scan`).

The index lives in the cache folder (:func:`plugwire.core.base.cachedir.cache_dir`);
without one (caching off) every plugin is imported. Losing or garbling the file,
or two processes writing it at once, only costs speed: whatever it does not vouch
for is imported.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import logging
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugwire.core.base.cachedir import cache_dir

__all__ = ["FILE", "Point", "cached_points", "normalize", "read", "remember_points", "scan", "stamp", "write"]

log = logging.getLogger(__name__)

FILE = "plugin-hooks.json"
_VERSION = 2
_MAX_ENTRIES = 512  # the oldest stamps (plugins since changed or removed) go first
_MAX_PATHS = 8  # sys.path variants whose entry points are kept (a venv's script, python -c, tests)
# EntryPoint's own pattern for its value: module, then optional :attr and [extras]
_VALUE_RE = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")


@dataclass(frozen=True)
class Point:
    """An entry point of the group: its name and value, its distribution's normalized
    name (from its ``.dist-info`` folder's name) and that folder."""

    name: str
    value: str
    dist: str
    folder: str | None

    def label(self) -> str:
        """``name (distribution)`` for a message, the distribution as it names itself
        (read from its METADATA file: only when there is something to say)."""
        written = "?"
        if self.folder:
            from importlib import metadata

            try:
                written = metadata.PathDistribution(Path(self.folder)).name or "?"
            except Exception:  # a distribution without readable metadata still gets its plugin named
                pass
        return f"{self.name} ({written})"

    def load(self) -> Any:
        """Import the module (and attribute) the value names, as EntryPoint.load does."""
        match = _VALUE_RE.match(self.value)
        if match is None:
            raise ValueError(f"entry point value {self.value!r} is not MODULE[:ATTR]")
        module = importlib.import_module(match.group("module"))
        attrs = [a for a in (match.group("attr") or "").split(".") if a]
        return functools.reduce(getattr, attrs, module)


def normalize(name: str) -> str:
    """A distribution name as the packaging rules compare them (``Plugwire-Acme`` and
    ``plugwire_acme`` are one)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def scan(group: str) -> list[Point]:
    """Return the installed entry points of ``group`` from importlib.metadata. The
    distribution's name is taken from its ``.dist-info`` folder's name: reading it
    from the METADATA file parses the file (README and all) with the email package. A
    distribution found some other way is read once."""
    from importlib import metadata

    out = []
    seen: dict[int, tuple[str, str | None]] = {}  # id of a distribution object, alive until we return
    for ep in metadata.entry_points(group=group):
        dist = ep.dist
        if dist is None:
            out.append(Point(ep.name, ep.value, "", None))
            continue
        if id(dist) not in seen:
            folder = getattr(dist, "_normalized_name", None)  # PathDistribution's, from the folder's name
            path = getattr(dist, "_path", None)
            seen[id(dist)] = (normalize(folder if isinstance(folder, str) and folder else dist.name), None if path is None else str(path))
        norm, path = seen[id(dist)]
        out.append(Point(ep.name, ep.value, norm, path))
    return out


def _path_key() -> str:
    parts = []
    for entry in sys.path:
        try:
            mtime = os.stat(entry or ".").st_mtime_ns
        except (OSError, ValueError):
            mtime = -1
        parts.append(f"{entry}\t{mtime}")
    return "\n".join(parts)


def _points_mtimes(points: list[Point]) -> dict[str, int]:
    out = {}
    for folder in sorted({p.folder for p in points if p.folder}):
        try:
            out[folder] = os.stat(os.path.join(folder, "entry_points.txt")).st_mtime_ns
        except OSError:
            out[folder] = -1
    return out


def cached_points(data: dict[str, Any]) -> list[Point] | None:
    """Return the entry points remembered in ``data`` (what :func:`read` returned) for
    this ``sys.path``, or None when nothing vouches that they are still installed."""
    found = data.get("points", {}).get(_path_key())
    if not isinstance(found, dict):
        return None
    try:
        points = [Point(*row) for row in found["points"]]
    except (KeyError, TypeError):
        return None
    return points if found.get("files") == _points_mtimes(points) else None


def remember_points(data: dict[str, Any], points: list[Point]) -> None:
    """Keep ``points`` in ``data`` as this ``sys.path``'s entry points."""
    variants = dict(data.get("points", {}))
    key = _path_key()
    variants.pop(key, None)
    variants[key] = {"points": [[p.name, p.value, p.dist, p.folder] for p in points], "files": _points_mtimes(points)}
    data["points"] = dict(list(variants.items())[-_MAX_PATHS:])


def _path() -> Path | None:
    folder = cache_dir()
    return None if folder is None else folder / FILE


def stamp(ep: Point) -> str | None:
    """Return the stamp of entry point ``ep``, or None when its module's file cannot
    be found without importing the module itself."""
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
    return f"{ep.name}={ep.value}|{ep.dist}|{ep.folder}|{origin}|{st.st_size}|{st.st_mtime_ns}"


def read() -> dict[str, Any]:
    """Return the index as stored (``hooks``: stamp -> hook names; ``points``: the
    entry points per ``sys.path``), empty where it cannot be read."""
    path = _path()
    data: Any = None
    if path is not None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
    if not isinstance(data, dict) or data.get("version") != _VERSION:
        return {"hooks": {}, "points": {}}
    hooks = data.get("hooks")
    hooks = {k: v for k, v in hooks.items() if isinstance(v, list) and all(isinstance(h, str) for h in v)} if isinstance(hooks, dict) else {}
    points = data.get("points") if isinstance(data.get("points"), dict) else {}
    return {"hooks": hooks, "points": points}


def write(data: dict[str, Any]) -> None:
    """Replace the index with ``data`` (the newest hooks last), atomically; a cache
    folder that cannot be written only costs speed."""
    path = _path()
    if path is None:
        return
    hooks = dict(list(data.get("hooks", {}).items())[-_MAX_ENTRIES:])
    tmp = path.with_name(f"{FILE}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps({"version": _VERSION, "hooks": hooks, "points": data.get("points", {})}), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        log.info("could not write the plugin hook index %s: %s", path, exc)
        try:
            tmp.unlink()
        except OSError:
            pass
