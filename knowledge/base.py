"""Loading the whole catalogue once, keeping it fresh, and caching the index on disk.

:func:`get_knowledge` returns the process-wide :class:`KnowledgeBase` for a data
folder. It loads every source (see :mod:`plugwire.knowledge.sources`), builds the
:class:`~plugwire.knowledge.index.Index`, and reloads only when something changed:
the user's catalogue files (by their folder's stat on every call, which sees every
file plugwire writes, adds, removes or renames at once; and every file's mtime and
size at most every 2 s, for a file edited in place by hand: ``FreshnessCheck``), the
set of plugin sources, or the built-in and contrib folders (by folder mtime). Each file is
compiled once per version of it; the merged index is also pickled into the cache
folder (``PLUGWIRE_CACHE_DIR``, else ``$XDG_CACHE_HOME/plugwire``; none while
plugwire's own tests run unless ``PLUGWIRE_CACHE_DIR`` is set), so a large catalogue
loads from one file.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
import pickle
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from plugwire.core.base.cachedir import cache_dir  # re-exported: it was defined here
from plugwire.knowledge.index import Index
from plugwire.knowledge.sources import (
    Conflict,
    FreshnessCheck,
    ProviderRecord,
    Source,
    compile_file,
    default_sources,
    merge,
    source_files,
)

if TYPE_CHECKING:
    from plugwire.knowledge.loader import CatalogueProblem

__all__ = ["Catalogue", "KnowledgeBase", "cache_dir", "get_knowledge", "load_catalogue"]

log = logging.getLogger(__name__)

_CODE_FILES = ("models.py", "normalize.py", "index.py", "sources.py", "loader.py", "base.py", "bounds.py")
_compiled: dict[tuple, tuple[list[ProviderRecord], list[CatalogueProblem]]] = {}
#: The key each file is compiled under now (by path): an older version is dropped in
#: one look-up, not a scan of every file's entry (quadratic at a thousand files).
_compiled_keys: dict[str, tuple] = {}
_compiled_lock = threading.Lock()


@dataclass
class Catalogue:
    """The loaded catalogue: its index, the sources read, what was overridden and
    every problem met (a bad file is reported here and skipped)."""

    index: Index
    sources: list[Source]
    files: dict[str, Source]
    conflicts: list[Conflict] = field(default_factory=list)
    problems: list[CatalogueProblem] = field(default_factory=list)
    from_cache: bool = False


def _stat_key(path: Path) -> tuple[str, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (str(path), st.st_mtime_ns, st.st_size)


def _code_stamp() -> str:
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for name in _CODE_FILES:
        key = _stat_key(here / name)
        h.update(repr(key).encode())
    return h.hexdigest()[:16]


def _stored_name(path: Path) -> str:
    return hashlib.sha256(str(path).encode()).hexdigest()[:24] + ".pickle"


def _compile(path: Path, source: Source, store: tuple[Path, str] | None = None) -> tuple[list[ProviderRecord], list[CatalogueProblem]]:
    """Return the compiled records and problems of one file: from this process's
    memory, else from ``store`` (a folder of one pickle per file, for the user's
    catalogue, and the stamp of the code that compiles), else by reading the file
    (and then writing it to ``store``)."""
    stat = _stat_key(path)
    key = (stat, source.kind, source.owner)
    cached = _compiled.get(key) if stat else None
    if cached is not None:
        return cached
    stored = store[0] / _stored_name(path) if store is not None and stat else None
    result = _read_stored(stored, (store[1], key)) if stored is not None else None
    if result is None:
        result = compile_file(path, source)
        if stored is not None:
            _write_stored(stored, ((store[1], key), result))
    if stat:
        with _compiled_lock:
            old = _compiled_keys.get(stat[0])
            if old is not None and old != key:
                _compiled.pop(old, None)  # an older version of the same file
            _compiled_keys[stat[0]] = key
            _compiled[key] = result
    return result


def _read_stored(path: Path, key: tuple) -> Any:
    """Return the stored compile result at ``path`` when it was made from the same
    version of the file by the same code; None otherwise."""
    stored = _read_cache(path)  # a stale or truncated entry is compiled again, never fatal
    if isinstance(stored, tuple) and len(stored) == 2 and stored[0] == key:
        return stored[1]
    return None


def _write_stored(path: Path, value: Any) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError as exc:  # a read-only cache folder only costs speed
        log.info("could not write %s: %s", path, exc)


def _prune_stored(store: Path, files: list[Path]) -> None:
    """Remove the stored entries of files the user's catalogue no longer has."""
    keep = {_stored_name(f) for f in files}
    try:
        for entry in store.iterdir():
            if entry.name not in keep and not entry.name.startswith("."):  # another process's file in the making
                entry.unlink(missing_ok=True)
    except OSError:
        pass


def load_catalogue(sources: list[Source], *, use_cache: bool = True) -> Catalogue:
    """Load, merge and index every file of ``sources`` (lowest priority first).

    Returns a :class:`Catalogue`; bad files become ``problems`` and are skipped.
    With ``use_cache`` the merged index is read from (or written to) the cache
    folder, keyed by every file's path, mtime and size; and each file of the user's
    catalogue is compiled once per version of it into ``compiled-<slot>/`` there,
    so that after an import or a learn only the file that changed is read again
    (the other sources change only with an upgrade).
    """
    files: list[tuple[Path, Source]] = [(f, s) for s in sources for f in source_files(s)]
    code = _code_stamp()
    stamp = hashlib.sha256(
        repr((code, [(_stat_key(f), s.kind, s.owner) for f, s in files])).encode()
    ).hexdigest()[:24]
    # One cache file per set of sources (a data folder has its own user catalogue), so
    # that two data folders used in turn do not throw each other's index away.
    slot = hashlib.sha256(repr([(str(s.path), s.kind, s.owner) for s in sources]).encode()).hexdigest()[:12]
    name = f"index-{slot}-{stamp}.pickle"
    folder = cache_dir() if use_cache else None
    enabled = gc.isenabled()
    # As when unpickling: reading the cached index, or compiling and indexing, allocate
    # millions of objects that all stay alive, and each collection meanwhile walks the
    # growing heap for nothing (a quarter of a cold load at 100,000 endpoints). The
    # collector comes back only after the heap is settled (see _settle_heap): back
    # before that, its first collection would walk every object made meanwhile (~0.13 s
    # at 100,000 endpoints). Garbage with cycles waits for the next collection after this.
    gc.disable()
    try:
        if folder is not None:
            cached = _read_cache(folder / name)
            if cached is not None:
                index, conflicts, problems = cached
                _settle_heap(index)
                return Catalogue(index, sources, {str(f): s for f, s in files}, conflicts, problems, from_cache=True)
        records: list[tuple[ProviderRecord, int]] = []
        problems = []
        store = (folder / f"compiled-{slot}", code) if folder is not None else None
        for path, source in files:
            recs, faults = _compile(path, source, store if source.kind == "user" else None)
            records.extend((r, source.priority) for r in recs)
            problems.extend(faults)
        if store is not None and store[0].is_dir():
            _prune_stored(store[0], [f for f, s in files if s.kind == "user"])
        merged, conflicts = merge(records)
        index = Index(merged)
        if folder is not None:
            _write_cache(folder, name, (index, conflicts, problems))
        _settle_heap(index)
    finally:
        if enabled:
            gc.enable()
    for p in problems:
        log.warning("catalogue problem: %s", p)
    return Catalogue(index, sources, {str(f): s for f, s in files}, conflicts, problems)


#: How many sets of sources (data folders) keep a cached index at once.
_CACHE_SLOTS = 8

#: From this many endpoints on, a loaded index is moved out of the garbage collector's sight.
FREEZE_AT = 20_000


def _settle_heap(index: Index) -> None:
    """Keep the garbage collector off a large index: a full collection walks every
    object it holds (~120 ms at 100,000 endpoints), a pause that otherwise lands in
    some unlucky suggestion now and then. ``gc.freeze`` moves everything alive now
    to a generation that is never scanned; it is freed as usual by reference count
    when the catalogue is replaced. Small catalogues (tests, most users) are left alone.
    """
    if index.endpoint_count >= FREEZE_AT:
        gc.freeze()


def _read_cache(path: Path) -> Any:
    enabled = gc.isenabled()
    # Unpickling allocates millions of objects, none of them garbage: without this
    # the collector runs (and walks the growing heap) thousands of times meanwhile.
    gc.disable()
    try:
        with path.open("rb") as fh:
            return pickle.load(fh)
    except FileNotFoundError:
        return None
    except Exception as exc:  # a stale or truncated cache is rebuilt, never fatal
        log.info("ignoring catalogue cache %s: %s", path, exc)
        return None
    finally:
        if enabled:
            gc.enable()


def _write_cache(folder: Path, name: str, value: Any) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{name}.{os.getpid()}.tmp"
        with tmp.open("wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, folder / name)
        slot = name.split("-")[1]
        others = []
        for old in folder.glob("index-*.pickle"):
            parts = old.name.split("-")
            if old.name == name:
                continue
            if len(parts) != 3 or parts[1] == slot:
                old.unlink(missing_ok=True)  # an older index of the same sources (or of an older plugwire)
            else:
                others.append(old)
        # other sets of sources (other data folders) keep theirs, the most recent few
        others.sort(key=lambda p: (_stat_key(p) or ("", 0, 0))[1], reverse=True)
        for old in others[_CACHE_SLOTS - 1:]:
            old.unlink(missing_ok=True)
    except OSError as exc:  # a read-only cache folder only costs speed
        log.info("could not write the catalogue cache in %s: %s", folder, exc)


class KnowledgeBase:
    """The catalogue of one data folder, reloaded when its sources change."""

    def __init__(self, home: Any = None, *, sources: Callable[[], list[Source]] | None = None, use_cache: bool = True):
        self._home = home
        self._sources_fn = sources or (lambda: default_sources(home))
        self._use_cache = use_cache
        self._lock = threading.Lock()
        self._catalogue: Catalogue | None = None
        self._fresh_key: Any = None
        self._check = FreshnessCheck()

    def _freshness(self, sources: list[Source]) -> tuple:
        # Listing and stat-ing every user file on each call was ~88 % of a suggestion's
        # time with 1,000 of them: the folder's stat says when to look closer.
        return self._check.keys(sources)

    def catalogue(self) -> Catalogue:
        """Return the loaded catalogue, reloading it when a source changed."""
        sources = self._sources_fn()
        key = self._freshness(sources)
        cat = self._catalogue
        if cat is not None and key == self._fresh_key:
            return cat
        with self._lock:
            if self._catalogue is None or key != self._fresh_key:
                self._catalogue = load_catalogue(sources, use_cache=self._use_cache)
                self._fresh_key = key
            return self._catalogue

    def invalidate(self) -> None:
        """Forget the loaded catalogue; the next call reloads it."""
        with self._lock:
            self._catalogue = None
            self._fresh_key = None


_bases: dict[str, KnowledgeBase] = {}
_bases_lock = threading.Lock()


def get_knowledge(home: Any = None) -> KnowledgeBase:
    """Return the shared :class:`KnowledgeBase` of ``home`` (a Home, a path, or None
    for the data folder named by ``PLUGWIRE_HOME``)."""
    from plugwire.knowledge.sources import user_catalogue_dir

    key = str(user_catalogue_dir(home))
    kb = _bases.get(key)
    if kb is None:
        with _bases_lock:
            kb = _bases.setdefault(key, KnowledgeBase(Path(key).parent))
    return kb
