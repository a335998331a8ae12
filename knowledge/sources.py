"""Where catalogue files come from, and how providers from several sources merge.

Sources, lowest priority first:

1. ``builtin``: ``knowledge/catalogue/`` shipped with plugwire;
2. ``contrib``: ``contrib/catalogue/`` of the repository (community files);
3. ``plugin``: files and folders plugins register with ``register_catalogue_sources``;
4. ``user``: ``$PLUGWIRE_HOME/catalogue/`` (``learned.yaml`` is written by the wizard).

The conflict rule, per provider id: the provider's name, description, docs link
and auth hints come from the highest-priority file that defines the provider (auth
from the highest one that has any, and so is the ``rank``: from the highest file
that sets one); hosts are the union, highest first. Endpoints
merge per (method, base path + path): a higher-priority source replaces
an endpoint with the same key and adds the ones it has beyond it. Within one
priority, files are read in path order and the later file wins. Every replacement
is recorded as a :class:`Conflict` so ``plugwire knowledge list`` can show it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plugwire.knowledge.files import catalogue_files_in

if TYPE_CHECKING:
    from plugwire.knowledge.loader import CatalogueProblem
    from plugwire.knowledge.models import CatalogueFile

__all__ = [
    "BUILTIN_DIR",
    "CONTRIB_DIR",
    "Conflict",
    "FreshnessCheck",
    "LEARNED_FILE",
    "LEARNED_PREFIX",
    "MERGED_KEY",
    "MergedProvider",
    "PRIORITY",
    "ProviderRecord",
    "Source",
    "combine_learned",
    "compile_file",
    "default_sources",
    "merge",
    "source_files",
    "user_catalogue_dir",
]

PRIORITY = {"builtin": 0, "contrib": 1, "plugin": 2, "user": 3}
BUILTIN_DIR = Path(__file__).resolve().parent / "catalogue"
# contrib/ sits beside knowledge/ in the repository (and in editable installs).
CONTRIB_DIR = Path(__file__).resolve().parent.parent / "contrib" / "catalogue"
LEARNED_FILE = "learned.yaml"
#: Providers that ``learn`` names after a host the catalogue does not know (``learned-127-0-0-1``).
LEARNED_PREFIX = "learned-"
#: Set in a learned endpoint's JSON when it took the constraints of the catalogue
#: endpoint it replaced: where they came from, for the suggestion's reason.
MERGED_KEY = "constraints_from"
# What a catalogue endpoint knows that a learned one (a proven request) does not.
_CATALOGUE_KEYS = ("summary", "description", "docs_url", "tags", "path_params", "constraints", "response")


@dataclass(frozen=True)
class Source:
    """One place catalogue files come from: ``kind`` (builtin, contrib, plugin,
    user), a file or folder ``path``, and the plugin that registered it."""

    kind: str
    path: Path
    owner: str | None = None

    @property
    def priority(self) -> int:
        """Return the rank of this source in the conflict rule (higher wins)."""
        return PRIORITY[self.kind]

    @property
    def label(self) -> str:
        """Return a short human description, e.g. ``plugin jira-extra``."""
        return f"{self.kind} {self.owner}" if self.owner else self.kind


def user_catalogue_dir(home: Any) -> Path:
    """Return ``<data folder>/catalogue`` for a Home, a path, or None (the default)."""
    from plugwire.core.storage.home import default_home_path

    if home is None:
        base = default_home_path()
    else:
        base = Path(getattr(home, "path", home))
    return base / "catalogue"


def default_sources(home: Any = None, *, plugins: bool = True) -> list[Source]:
    """Return every catalogue source in priority order (lowest first).

    ``home`` is a :class:`plugwire.core.storage.home.Home`, a path or None (the default data
    folder); ``plugins=False`` leaves out plugin-registered sources.
    """
    out = [Source("builtin", BUILTIN_DIR)]
    if CONTRIB_DIR.is_dir():
        out.append(Source("contrib", CONTRIB_DIR))
    if plugins:
        from plugwire.core.plugincore.manager import catalogue_sources

        owners = catalogue_sources.owners()
        for name, path in sorted(catalogue_sources.items().items()):
            out.append(Source("plugin", Path(path), owner=owners.get(name)))
    out.append(Source("user", user_catalogue_dir(home)))
    return out


def _stat_key(path: Path) -> tuple[str, int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    # The inode too: a file replaced by rename within one tick of the file system's
    # clock, at the same size, is still another file.
    return (str(path), st.st_mtime_ns, st.st_size, st.st_ino)


#: A folder changed this recently (ns) may change again within the same tick of the
#: file system's coarse clock without its time moving: its files are stat-ed meanwhile.
_RACY_NS = 1_000_000_000


class FreshnessCheck:
    """Says cheaply whether the files of catalogue sources may have changed.

    A folder's change time moves whenever a file in it is created, removed or
    renamed, and every file plugwire writes (an import, ``learn``) is written beside
    and renamed into place: so the folder's stat alone sees them, with no listing and
    no stat of each file (with 1,000 user files that was ~88 % of a suggestion's
    time). A file edited in place by hand leaves the folder's time alone: each source's
    files are stat-ed again at most once every ``full_every`` seconds (and whenever
    the folder changed), which bounds how long such an edit goes unseen.
    A folder changed within the last second is not trusted (its time may not move
    for a second change in the same clock tick): its files are stat-ed until then.
    ``clock`` is the monotonic clock and ``wall`` the time in ns (a test passes its own).
    """

    def __init__(self, *, full_every: float = 2.0, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], int] = time.time_ns):
        self.full_every = full_every
        self._clock = clock
        self._wall = wall
        self._seen: dict[tuple, tuple[Any, float, tuple]] = {}
        self._lock = threading.Lock()

    def key(self, source: Source) -> tuple:
        """Return a value that changes when a file of ``source`` may have changed."""
        folder = _stat_key(source.path)
        if source.kind in ("builtin", "contrib"):
            return (source.kind, folder)  # shipped folders: files come and go only with an upgrade
        slot = (source.kind, source.owner, str(source.path))
        now = self._clock()
        seen = self._seen.get(slot)
        racy = folder is None or self._wall() - folder[1] < _RACY_NS
        if seen is not None and seen[0] == folder and now - seen[1] < self.full_every and not racy:
            return seen[2]
        full = (*slot, folder, tuple(_stat_key(f) for f in source_files(source)))
        with self._lock:
            self._seen[slot] = (folder, now, full)
        return full

    def keys(self, sources: list[Source]) -> tuple:
        """Return :meth:`key` of every source, as one comparable value."""
        return tuple(self.key(s) for s in sources)


def source_files(source: Source) -> list[Path]:
    """Return the catalogue files of one source (a missing folder has none)."""
    if source.path.is_dir():
        return catalogue_files_in(source.path)
    return [source.path] if source.path.is_file() else []


@dataclass
class ProviderRecord:
    """One provider as read from one file, reduced to what the index needs.

    Endpoints are ``(method, full path, summary, JSON of the endpoint)`` tuples: the
    JSON is decoded only for the few endpoints a suggestion shows.
    """

    provider: str
    name: str
    description: str | None
    docs_url: str | None
    hosts: tuple[str, ...]
    base_path: str
    auth: tuple[dict[str, Any], ...]
    endpoints: list[tuple[str, str, str, bytes]]
    file: str
    kind: str
    owner: str | None = None
    rank: int = 0


def compile_file(path: Path, source: Source) -> tuple[list[ProviderRecord], list[CatalogueProblem]]:
    """Read one file of ``source`` into :class:`ProviderRecord` objects.

    Returns ``(records, problems)``; never raises for a bad file.
    """
    # The YAML reader and the format's models load only when a file is (re)compiled: a
    # catalogue read back from the cache needs neither.
    from plugwire.knowledge.loader import read_catalogue

    label = str(path)
    providers, problems = read_catalogue(path, label=label)
    return [_record(p, label, source) for p in providers], problems


def _record(cat: CatalogueFile, label: str, source: Source) -> ProviderRecord:
    # loaded with the file reader, as in compile_file
    from plugwire.knowledge.models import Endpoint

    # pydantic's own JSON serialiser: the same JSON value as model_dump + json.dumps
    # (read back with json.loads), in a third of the time at 100,000 endpoints; called
    # without model_dump_json's wrapper, whose own cost showed at that size.
    to_json = Endpoint.__pydantic_serializer__.to_json
    base = cat.base_path
    eps = [(ep.method, base + ep.path, ep.summary, to_json(ep, exclude_defaults=True)) for ep in cat.endpoints]
    return ProviderRecord(
        provider=cat.provider,
        name=cat.name,
        description=cat.description,
        docs_url=cat.docs_url,
        hosts=tuple(cat.hosts),
        base_path=cat.base_path,
        auth=tuple(h.model_dump(mode="json") for h in cat.auth),
        endpoints=eps,
        file=label,
        kind=source.kind,
        owner=source.owner,
        rank=cat.rank,
    )


@dataclass(frozen=True)
class Conflict:
    """A provider or endpoint that a higher-priority file replaced."""

    provider: str
    what: str  # "provider" or "METHOD /path"
    winner: str  # file that won
    loser: str  # file that was overridden
    merged: bool = False  # a learned endpoint and a catalogue one, combined rather than replaced

    def __str__(self) -> str:
        if self.merged:
            return (f"{self.provider}: {self.what} from {self.loser} and {self.winner} are merged "
                    "(the learned sample values with the catalogue's constraints)")
        return f"{self.provider}: {self.what} from {self.loser} is overridden by {self.winner}"


@dataclass
class ProviderInfo:
    """What is known of one provider besides its endpoints (shared by the merge and the index)."""

    provider: str
    name: str
    description: str | None
    docs_url: str | None
    hosts: list[str]
    auth: tuple[dict[str, Any], ...]
    files: list[str]
    kinds: list[str]
    rank: int  # the user's tie-break between providers (CatalogueFile.rank): higher answers first


@dataclass
class MergedProvider(ProviderInfo):
    """A provider after the conflict rule: one entry per provider id.

    ``endpoints`` maps (method, full path) to ``(summary, JSON, file, learned)``.
    """

    endpoints: dict[tuple[str, str], tuple[str, bytes, str, bool]] = field(default_factory=dict)


def combine_learned(learned: bytes, catalogue: bytes, origin: str) -> tuple[str, bytes]:
    """Return ``(summary, endpoint JSON)`` of a learned endpoint (JSON text) that
    takes what the catalogue's endpoint for the same method and path knows beyond a
    proven request: its summary, docs, path parameters, field constraints and sample
    response. The request stays the learned one, except that an empty learned query
    value takes the catalogue's example. ``origin`` says where the constraints come
    from (kept under :data:`MERGED_KEY` for the suggestion's reason)."""
    mine, theirs = json.loads(learned), json.loads(catalogue)
    for key in _CATALOGUE_KEYS:
        if theirs.get(key) not in (None, "", [], {}) and (key == "summary" or mine.get(key) in (None, "", [], {})):
            mine[key] = theirs[key]
    example = (theirs.get("request") or {}).get("query") or {}
    query = (mine.get("request") or {}).get("query")
    if query:
        for name, value in query.items():
            if value in ("", None) and example.get(name) not in ("", None):
                query[name] = example[name]
    if theirs.get("constraints"):
        mine[MERGED_KEY] = origin
    return mine["summary"], json.dumps(mine, separators=(",", ":")).encode()


def merge(records: list[tuple[ProviderRecord, int]]) -> tuple[list[MergedProvider], list[Conflict]]:
    """Apply the conflict rule to ``(record, priority)`` pairs given in load order.

    Returns the merged providers (sorted by id) and every replacement made.
    """
    ordered = sorted(enumerate(records), key=lambda item: (item[1][1], item[0]))
    merged: dict[str, MergedProvider] = {}
    conflicts: list[Conflict] = []
    for _, (rec, _prio) in ordered:
        learned = rec.kind == "user" and Path(rec.file).name == LEARNED_FILE
        cur = merged.get(rec.provider)
        if cur is None:
            cur = merged[rec.provider] = MergedProvider(
                rec.provider, rec.name, rec.description, rec.docs_url, list(rec.hosts), rec.auth, [rec.file], [rec.kind],
                rec.rank,
            )
        else:
            # A later record has equal or higher priority: its metadata wins.
            if not learned:
                conflicts.append(Conflict(rec.provider, "provider", rec.file, cur.files[-1]))
                cur.name, cur.description = rec.name, rec.description or cur.description
                cur.docs_url = rec.docs_url or cur.docs_url
                cur.auth = rec.auth or cur.auth
                cur.rank = rec.rank or cur.rank
            cur.hosts = list(dict.fromkeys([*rec.hosts, *cur.hosts]))
            cur.files.append(rec.file)
            cur.kinds.append(rec.kind)
        if not cur.endpoints:
            # The first file of a provider (nearly every one): nothing to replace, so one
            # comprehension (a third fewer instructions for the merge of 100,000
            # endpoints), unless the record repeats a key: the loop records that.
            file = rec.file
            cur.endpoints = {(m, p): (s, b, file, learned) for m, p, s, b in rec.endpoints}
            if len(cur.endpoints) == len(rec.endpoints):
                continue
            cur.endpoints = {}
        for method, path, summary, blob in rec.endpoints:
            key = (method, path)
            old = cur.endpoints.get(key)
            if old is not None:
                conflicts.append(Conflict(rec.provider, f"{method} {path}", rec.file, old[2], merged=old[3] != learned))
                if old[3] != learned:
                    # A proven request and the catalogue's entry for the same endpoint:
                    # one endpoint with the learned values and the catalogue's constraints.
                    mine, theirs = ((blob, rec.file), old[1:3]) if learned else (old[1:3], (blob, rec.file))
                    summary, combined = combine_learned(mine[0], theirs[0], f"{cur.name}'s catalogue ({Path(theirs[1]).name})")
                    cur.endpoints[key] = (summary, combined, mine[1], True)
                    continue
            cur.endpoints[key] = (summary, blob, rec.file, learned)
    return [merged[k] for k in sorted(merged)], conflicts
