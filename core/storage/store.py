"""The one small storage layer: every read and write of plugwire's records.

The embedded default is TinyDB in a single JSON file in the data folder. TinyDB has
no locking and writes in place, so this layer adds what it lacks: a file lock held
for each transaction (several processes writing at once lose nothing), and an
atomic write (temporary file, fsync, rename) so a crash never leaves half a file.
Because the file is only ever replaced whole, a plain read of it is one committed
state: :meth:`Store.all` reads it without the lock (and without importing filelock,
which costs ``plugwire connections list`` about a third of its start-up).

Records are JSON documents addressed by ``(table, key)``. Nothing above the storage
room knows TinyDB exists: :class:`plugwire.core.storage.backend.ConfigStore` is the
seam, and the PostgreSQL store implements the same methods.
"""

from __future__ import annotations

import json
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from tinydb import Query, TinyDB
from tinydb.storages import Storage

from plugwire.core.base.errors import AlreadyExistsError, StorageError
from plugwire.core.storage.backend import ConfigStore, lock_file_name

if TYPE_CHECKING:
    from filelock import FileLock

__all__ = ["Store", "StoreWatch", "Transaction", "make_data_folder"]

#: What a data folder plugwire creates holds, so that git never offers to commit it.
GITIGNORE = "# plugwire's data folder: secret.key, api-token and sealed credentials. Never commit it.\n*\n"


def make_data_folder(folder: Path) -> None:
    """Create the data ``folder`` (0700) when it is missing, with a ``.gitignore`` of
    ``*`` in it: a data folder inside a repository (the README's ``.plugwire-data``)
    holds the secret key and the API token. An existing ``.gitignore`` is kept.

    Raises ``StorageError`` (field ``PLUGWIRE_HOME``) when the folder cannot be made.
    """
    existed = folder.is_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise StorageError(
            f"Cannot create the data folder {folder}: {exc.strerror}.",
            field="PLUGWIRE_HOME",
            fix="set PLUGWIRE_HOME to a folder you can write",
        ) from None
    if existed:
        return
    try:
        # "x": two processes creating the folder at once write it once, and a file
        # already there (the user's own) is never replaced.
        with open(folder / ".gitignore", "x", encoding="utf-8") as fh:
            fh.write(GITIGNORE)
    except FileExistsError:
        pass

_KEY = "_key"


class _AtomicJSONStorage(Storage):
    """TinyDB storage for one transaction: reads the file once, keeps changes in
    memory and writes them at :meth:`commit` with one atomic replace, so a
    transaction that fails half-way leaves the file exactly as it was."""

    def __init__(self, path: str):
        self._path = Path(path)
        self._data: dict[str, Any] | None = None
        self._loaded = False
        self._dirty = False

    def read(self) -> dict[str, Any] | None:
        if not self._loaded:
            self._data = _read_file(self._path)
            self._loaded = True
        return self._data

    def write(self, data: dict[str, Any]) -> None:
        self._data = data
        self._loaded = True
        self._dirty = True

    def commit(self) -> None:
        """Write the transaction's changes, if any, to the file (atomically)."""
        if self._dirty and self._data is not None:
            self._replace(self._data)
            self._dirty = False

    def _replace(self, data: dict[str, Any]) -> None:
        import tempfile

        fd, tmp = tempfile.mkstemp(prefix=".plugwire-", suffix=".tmp", dir=self._path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, separators=(",", ":"), sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self._path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise

    def close(self) -> None:
        pass


def _read_file(path: Path) -> dict[str, Any] | None:
    """Return the store file's content (None when it is missing or empty).

    Raises ``StorageError`` (field ``PLUGWIRE_HOME``) when it is not JSON."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise StorageError(
            f"The store file {path} is not valid JSON ({exc}).",
            field="PLUGWIRE_HOME",
            fix="restore it from a backup, or point PLUGWIRE_HOME at another folder",
        ) from None


class Transaction:
    """Reads and writes inside one locked transaction; get one from :meth:`Store.transaction`."""

    def __init__(self, db: TinyDB):
        self._db = db

    def get(self, table: str, key: str) -> dict[str, Any] | None:
        """Return the record ``key`` of ``table`` (without the key field), or None."""
        doc = self._db.table(table).get(Query()[_KEY] == key)
        return _strip(doc) if doc is not None else None

    def all(self, table: str) -> dict[str, dict[str, Any]]:
        """Return every record of ``table`` by key."""
        return {d[_KEY]: _strip(d) for d in self._db.table(table).all()}

    def put(self, table: str, key: str, record: dict[str, Any]) -> None:
        """Insert or replace the record ``key``."""
        doc = dict(record)
        doc[_KEY] = key
        self._db.table(table).upsert(doc, Query()[_KEY] == key)

    def insert(self, table: str, key: str, record: dict[str, Any]) -> None:
        """Insert a new record; raises ``AlreadyExistsError`` when ``key`` is taken."""
        if self._db.table(table).contains(Query()[_KEY] == key):
            raise AlreadyExistsError(
                f"{_a(table[:-1] if table.endswith('s') else table)} named {key!r} already exists.",
                field="name",
                fix="choose another name, or edit the existing one",
            )
        self.put(table, key, record)

    def delete(self, table: str, key: str) -> bool:
        """Delete the record ``key``; returns whether it existed."""
        return bool(self._db.table(table).remove(Query()[_KEY] == key))


def _a(noun: str) -> str:
    """``noun`` with its indefinite article: "An action", "A recipe"."""
    return ("An " if noun[:1].lower() in "aeiou" else "A ") + noun


def _strip(doc: dict[str, Any]) -> dict[str, Any]:
    out = dict(doc)
    out.pop(_KEY, None)
    return out


class Store(ConfigStore):
    """The embedded store in ``folder`` (created 0700 if missing)."""

    FILE = "plugwire.json"

    def __init__(self, folder: Path, *, lock_timeout: float = 30.0):
        self.folder = Path(folder)
        make_data_folder(self.folder)
        self.path = self.folder / self.FILE
        self._lock_timeout = lock_timeout
        self._file_lock: FileLock | None = None  # made by the first transaction
        self._thread_lock = threading.RLock()
        self._active: Transaction | None = None

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Hold the store's lock (across threads and processes) for a group of
        operations, written together when the block ends; an exception inside the
        block writes nothing. A transaction opened inside another (same thread)
        joins it, so the inner one cannot write over the outer one's changes."""
        with self._thread_lock:
            if self._active is not None:  # only the thread holding the lock gets here
                yield self._active
                return
            from filelock import FileLock, Timeout

            if self._file_lock is None:
                self._file_lock = FileLock(str(self.path) + ".lock", timeout=self._lock_timeout)
            try:
                self._file_lock.acquire()
            except Timeout:
                raise StorageError(
                    f"The store {self.path} stayed locked by another process.",
                    field="PLUGWIRE_HOME",
                    fix="wait for the other plugwire process to finish, then try again",
                ) from None
            try:
                db = TinyDB(str(self.path), storage=_AtomicJSONStorage)
                self._active = Transaction(db)
                yield self._active
                # Only a transaction that finished without an exception is written.
                db.storage.commit()
            finally:
                self._active = None
                self._file_lock.release()

    def all(self, table: str) -> dict[str, dict[str, Any]]:
        """Return every record of ``table`` by key, as last committed, without taking
        the lock: every write replaces the file whole (:meth:`_AtomicJSONStorage._replace`),
        so one read of it is one committed state, the same a locked read would give. In
        a transaction of this store (this thread's, or another thread's that this one
        then waits for), the transaction's own view instead."""
        if self._active is not None:
            return super().all(table)
        docs = (_read_file(self.path) or {}).get(table) or {}
        return {d[_KEY]: _strip(d) for d in docs.values()}

    def _lock_file(self, name: str, timeout: float) -> FileLock:
        """Return the (not yet taken) lock file of ``name`` in the data folder's ``locks/``;
        a new file descriptor per call, so threads exclude each other too."""
        from filelock import FileLock

        folder = self.folder / "locks"
        folder.mkdir(exist_ok=True, mode=0o700)
        return FileLock(str(folder / lock_file_name(name)), timeout=timeout, thread_local=False)

    @contextmanager
    def lock(self, name: str, *, timeout: float | None = None) -> Iterator[None]:
        """Hold the named lock across threads and processes: a lock file in the data
        folder's ``locks/``. Raises ``StorageError`` when it stays held past ``timeout``
        seconds (None: the store's lock timeout)."""
        from filelock import Timeout

        lock = self._lock_file(name, self._lock_timeout if timeout is None else timeout)
        try:
            lock.acquire()
        except Timeout:
            raise StorageError(
                f"The lock {name!r} stayed held by another process.",
                field="PLUGWIRE_HOME",
                fix="wait for the other plugwire process to finish, then try again",
            ) from None
        try:
            yield
        finally:
            lock.release()

    def try_hold(self, name: str) -> "_HeldFile | None":
        """Take the lock file of ``name`` without waiting; None when another process holds it.
        The operating system lets it go when this process dies."""
        from filelock import Timeout

        lock = self._lock_file(name, 0)
        try:
            lock.acquire()
        except Timeout:
            return None
        return _HeldFile(lock)

    def watch(self, refresh_seconds: float = 0.25) -> "StoreWatch":
        """Return a :class:`StoreWatch` of the store file."""
        return StoreWatch(self.path, refresh_seconds)


class _HeldFile:
    """A lock file held by this process (see :meth:`Store.try_hold`)."""

    def __init__(self, lock: FileLock):
        self._lock = lock

    def alive(self) -> bool:
        return self._lock.is_locked

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release(force=True)


class StoreWatch:
    """Tells whether the store file changed since the last look, looking at most every
    ``refresh_seconds``: a stat per lookup would cost more than what the caches that
    use this save. The store is replaced atomically on every write, so a change shows
    in the file's inode, time or size; one made by another process (the CLI) is seen
    within ``refresh_seconds``."""

    def __init__(self, path: Path | str, refresh_seconds: float = 0.25):
        self._path = path
        self._refresh_seconds = refresh_seconds
        self._stamp: tuple | None = ()
        self._checked = 0.0

    def changed(self) -> bool:
        """Return True when the file changed (or appeared, or went) since the last True."""
        now = time.monotonic()
        if now - self._checked < self._refresh_seconds:
            return False
        self._checked = now
        try:
            st = os.stat(self._path)
            stamp: tuple | None = (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        return True

    def forget(self) -> None:
        """Make the next :meth:`changed` say True (after a change this process made)."""
        self._checked = 0.0
        self._stamp = ()
