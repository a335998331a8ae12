"""The configuration store in PostgreSQL (``PLUGWIRE_DATABASE_URL``): the same records,
transactions, named locks and change watch as the embedded store, shared by every
process on every machine that uses the database.

Records are rows of ``plugwire_records (tbl, key, doc jsonb)``, kept exactly as given
(the model layer has sealed their secrets already). A transaction is one database
transaction holding a store-wide transaction-level advisory lock: writers follow one
another as they do behind the embedded store's file lock, and a transaction opened
inside another in the same thread joins it. Every transaction that wrote bumps a
version counter, which :class:`PgWatch` reads. Named locks are session-level advisory
locks, keyed by a 64-bit hash of the name, on a connection held while the lock is.
"""

from __future__ import annotations

import threading
import weakref
import time
from contextlib import contextmanager
from typing import Any, Iterator

from plugwire.core.base.errors import AlreadyExistsError, StorageError, UserInputError
from plugwire.core.storage.backend import DATABASE_URL_ENV, ConfigStore
from plugwire.core.storage.pg import Link, advisory_key, driver, redact, translated

__all__ = ["PgStore", "PgTransaction", "PgWatch"]

_STORE_KEY = advisory_key("store")
_VERSION_SQL = "SELECT version FROM plugwire_record_version"
_GET_SQL = "SELECT doc FROM plugwire_records WHERE tbl = %s AND key = %s"
_ALL_SQL = "SELECT key, doc FROM plugwire_records WHERE tbl = %s ORDER BY seq"


def _milliseconds(seconds: float) -> str:
    return f"{max(1, int(seconds * 1000))}ms"  # 0 would mean "wait for ever" to PostgreSQL


class PgTransaction:
    """Reads and writes inside one transaction of a :class:`PgStore` (it holds the store's lock)."""

    def __init__(self, conn: Any):
        self._conn = conn
        self.wrote = False

    def get(self, table: str, key: str) -> dict[str, Any] | None:
        """Return the record ``key`` of ``table``, or None."""
        row = self._conn.execute(_GET_SQL, (table, key)).fetchone()
        return row["doc"] if row is not None else None

    def all(self, table: str) -> dict[str, dict[str, Any]]:
        """Return every record of ``table`` by key, in the order they were first written."""
        return {row["key"]: row["doc"] for row in self._conn.execute(_ALL_SQL, (table,))}

    def put(self, table: str, key: str, record: dict[str, Any]) -> None:
        """Insert or replace the record ``key``."""
        self._conn.execute(
            "INSERT INTO plugwire_records (tbl, key, doc) VALUES (%s, %s, %s) "
            "ON CONFLICT (tbl, key) DO UPDATE SET doc = EXCLUDED.doc", (table, key, _jsonb(record)),
        )
        self.wrote = True

    def insert(self, table: str, key: str, record: dict[str, Any]) -> None:
        """Insert a new record; raises ``AlreadyExistsError`` when ``key`` is taken (the
        transaction stays usable: nothing failed in the database)."""
        cur = self._conn.execute(
            "INSERT INTO plugwire_records (tbl, key, doc) VALUES (%s, %s, %s) ON CONFLICT (tbl, key) DO NOTHING",
            (table, key, _jsonb(record)),
        )
        if cur.rowcount == 0:
            what = table[:-1] if table.endswith("s") else table
            raise AlreadyExistsError(f"{'An' if what[:1] in 'aeiou' else 'A'} {what} named {key!r} already exists.", field="name",
                                     fix="choose another name, or edit the existing one")
        self.wrote = True

    def delete(self, table: str, key: str) -> bool:
        """Delete the record ``key``; returns whether it existed."""
        gone = self._conn.execute("DELETE FROM plugwire_records WHERE tbl = %s AND key = %s", (table, key)).rowcount > 0
        self.wrote = self.wrote or gone
        return gone


def _jsonb(record: dict[str, Any]) -> Any:
    from psycopg.types.json import Jsonb  # the driver is optional; PgStore checked it is there

    where = _nul_at(record, "")
    if where is not None:  # jsonb refuses it; the embedded store would have kept it
        raise UserInputError(
            f"{where or 'A value'} holds the NUL character (\\u0000), which PostgreSQL cannot store.",
            field=where or None, fix="remove the NUL character from that value",
        )
    return Jsonb(record)


def _nul_at(value: Any, path: str) -> str | None:
    """Return the dotted path of the first string (key or value) holding a NUL character, or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for k, v in value.items():
            inner = f"{path}.{k}" if path else str(k)
            if "\x00" in str(k):
                return inner
            found = _nul_at(v, inner)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found = _nul_at(v, f"{path}[{i}]")
            if found is not None:
                return found
    return None


class PgStore(ConfigStore):
    """The configuration store in the PostgreSQL database at ``url``.

    ``lock_timeout`` (seconds) bounds the wait for the store's lock, as the embedded
    store's does. Nothing connects until the first use; raises ``UserInputError`` at
    once when psycopg is not installed."""

    def __init__(self, url: str, *, lock_timeout: float = 30.0):
        self.url = url
        self._link = Link(url)
        self._lock_timeout = lock_timeout
        self._local = threading.local()
        self._spare_sessions: dict[str, Any] = {}  # try_hold sessions that lost, kept for the next try

    def __repr__(self) -> str:
        return f"PgStore({redact(self.url)!r})"

    @contextmanager
    def transaction(self) -> Iterator[PgTransaction]:
        """Hold the store's lock (across threads, processes and machines) for a group of
        operations, committed together when the block ends; an exception inside the
        block writes nothing. A transaction opened inside another (same thread) joins
        it. Raises ``StorageError`` when the lock stays taken past the lock timeout."""
        active = getattr(self._local, "tx", None)
        if active is not None:
            yield active
            return
        errors = driver()[0].errors
        with self._link.connection() as conn, conn.transaction():
            try:
                conn.execute("SELECT set_config('lock_timeout', %s, true), pg_advisory_xact_lock(%s)",
                             (_milliseconds(self._lock_timeout), _STORE_KEY))
            except errors.LockNotAvailable:
                raise StorageError(f"The store in {redact(self.url)} stayed locked by another process.",
                                   field=DATABASE_URL_ENV, fix="wait for the other plugwire process to finish, then try again") from None
            tx = self._local.tx = PgTransaction(conn)
            try:
                yield tx
                if tx.wrote:
                    conn.execute("UPDATE plugwire_record_version SET version = version + 1")
            finally:
                self._local.tx = None

    # Reads outside a transaction are one statement each, without the lock.
    def get(self, table: str, key: str) -> dict[str, Any] | None:
        """Return the record or None (inside a transaction of this thread: as that transaction sees it)."""
        active = getattr(self._local, "tx", None)
        if active is not None:
            return active.get(table, key)
        with self._link.connection() as conn:
            row = conn.execute(_GET_SQL, (table, key)).fetchone()
        return row["doc"] if row is not None else None

    def all(self, table: str) -> dict[str, dict[str, Any]]:
        """Return every record of ``table`` by key, in the order they were first written."""
        active = getattr(self._local, "tx", None)
        if active is not None:
            return active.all(table)
        with self._link.connection() as conn:
            return {row["key"]: row["doc"] for row in conn.execute(_ALL_SQL, (table,))}

    @contextmanager
    def lock(self, name: str, *, timeout: float | None = None) -> Iterator[None]:
        """Hold the lock ``name`` across threads, processes and machines (an advisory lock
        on a connection kept for the block). Raises ``StorageError`` when another holder
        keeps it past ``timeout`` seconds (None: the store's lock timeout)."""
        wait = self._lock_timeout if timeout is None else timeout
        key = advisory_key(f"lock:{name}")
        errors = driver()[0].errors
        with self._link.connection() as conn:
            try:
                if wait <= 0:
                    got = conn.execute("SELECT pg_try_advisory_lock(%s) AS got", (key,)).fetchone()["got"]
                else:
                    with conn.transaction():  # the timeout is the transaction's; the lock is the session's
                        conn.execute("SELECT set_config('lock_timeout', %s, true), pg_advisory_lock(%s)", (_milliseconds(wait), key))
                    got = True
            except errors.LockNotAvailable:
                got = False
            if not got:
                raise StorageError(f"The lock {name!r} stayed held by another process.", field=DATABASE_URL_ENV,
                                   fix="wait for the other plugwire process to finish, then try again")
            try:
                yield
            finally:
                try:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
                except driver()[0].Error:
                    conn.close()  # a session that cannot say it let go is not lent again

    def try_hold(self, name: str) -> "_HeldSession | None":
        """Take the lock ``name`` without waiting, on a connection of its own kept open
        until :meth:`_HeldSession.release`; None when another session holds it. The lock
        goes with the session: when this process dies or loses the connection."""
        key = advisory_key(f"lock:{name}")
        conn = self._spare_sessions.pop(name, None)
        if conn is None or conn.closed:
            # Keepalives and a TCP timeout make a dead network show as a dead session within seconds.
            conn = self._link.connect(keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=3,
                                      tcp_user_timeout=10_000)
        try:
            with translated(self.url, f"trying the lock {name!r}"):
                got = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]
        except BaseException:
            conn.close()
            raise
        if not got:
            # Kept for the next try: a server that is not the leader tries every second,
            # and a new session each time would cost PostgreSQL a backend process each.
            self._spare_sessions[name] = conn
            return None
        return _HeldSession(conn, key)

    def watch(self, refresh_seconds: float = 0.25) -> "PgWatch":
        """Return a :class:`PgWatch` of this store's change counter."""
        return PgWatch(self, refresh_seconds)

    def version(self) -> int:
        """Return the change counter: how many transactions have written (one statement)."""
        with self._link.connection() as conn:
            return conn.execute(_VERSION_SQL).fetchone()["version"]

    def close(self) -> None:
        """Let this store's connections go (it opens them again when used)."""
        spare, self._spare_sessions = list(self._spare_sessions.values()), {}
        for conn in spare:
            conn.close()
        self._link.close()


class _HeldSession:
    """A lock held by a database session of its own (see :meth:`PgStore.try_hold`)."""

    def __init__(self, conn: Any, key: int):
        self._conn = conn
        self._key = key

    def alive(self) -> bool:
        """Return whether the session (and so the lock) is still there: one round trip."""
        if self._conn.closed:
            return False
        try:
            self._conn.execute("SELECT 1")
        except driver()[0].Error:
            return False
        return True

    def release(self) -> None:
        """Let the lock go and close the session (harmless when both are gone already)."""
        if self._conn.closed:
            return
        try:
            self._conn.execute("SELECT pg_advisory_unlock(%s)", (self._key,))
        except driver()[0].Error:
            pass  # a broken session holds no lock
        finally:
            self._conn.close()


class PgWatch:
    """Tells whether any process wrote to a :class:`PgStore` since the last look. A
    thread of its own reads the change counter every ``refresh_seconds``, so that
    :meth:`changed` never waits for the database: a server asks on every webhook, and a
    database that is away must not hold up its event loop (the cached records serve
    meanwhile). The thread ends when the watch is dropped."""

    def __init__(self, store: PgStore, refresh_seconds: float = 0.25):
        self._store = store
        self._refresh_seconds = refresh_seconds
        self._latest: int | None = None  # the counter as the thread last read it
        self._seen: int | None = None
        self._forced = True
        self._thread: threading.Thread | None = None

    def changed(self) -> bool:
        """Return True on the first look, after :meth:`forget`, and when the counter
        moved since the last True."""
        if self._thread is None:
            self._thread = threading.Thread(target=_watch_loop, args=(weakref.ref(self),), name="plugwire-pg-watch",
                                            daemon=True)
            self._thread.start()
        latest = self._latest
        if self._forced:
            self._forced, self._seen = False, latest
            return True
        if latest is not None and latest != self._seen:
            self._seen = latest
            return True
        return False

    def forget(self) -> None:
        """Make the next :meth:`changed` say True (after a change this process made)."""
        self._forced = True


def _watch_loop(ref: "weakref.ref[PgWatch]") -> None:
    while True:
        watch = ref()
        if watch is None:
            return
        store, pause = watch._store, watch._refresh_seconds
        try:
            watch._latest = store.version()
        except Exception:  # the database is away: the last reading stands
            pass
        del watch
        time.sleep(pause)

    def changed(self) -> bool:
        """Return True when the counter moved (or on the first look) since the last True;
        raises ``StorageError`` when the database cannot be read."""
        if time.monotonic() < self._next_look:
            return False
        self._next_look = time.monotonic() + self._refresh_seconds
        version = self._store.version()
        moved, self._seen = version != self._seen, version
        return moved

    def forget(self) -> None:
        """Make the next :meth:`changed` say True (after a change this process made)."""
        self._seen = self._UNSEEN
        self._next_look = 0.0
