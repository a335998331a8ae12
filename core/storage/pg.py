"""PostgreSQL driver glue for :mod:`.pgstore` and :mod:`.pgjobs`: psycopg 3 imported on
first use, one connection pool per process and database URL (and an async pool per
event loop), the versioned schema migrations applied when a process first connects,
and every driver failure turned into a ``StorageError`` that names the variable and
never shows the password.

Statements are written once as *flows*: generators that yield ``(sql, params)`` and
receive the rows (or, for a statement that returns none, the row count). One flow
serves the synchronous pool (:func:`run_flow`) and the async one (:func:`arun_flow`),
as httpx's auth flows serve both of its clients.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import threading
import weakref
from contextlib import asynccontextmanager, contextmanager
from typing import Any, AsyncIterator, Generator, Iterator, TypeVar
from urllib.parse import unquote

from plugwire.core.base.errors import StorageError, UserInputError
from plugwire.core.storage.backend import DATABASE_URL_ENV

__all__ = [
    "MIGRATIONS", "SCHEMA_VERSION", "Flow", "Link", "advisory_key", "arun_flow", "driver", "migrate", "redact",
    "run_flow", "storage_error", "translated",
]

T = TypeVar("T")
#: A statement plan: yields ``(sql, params)``, receives rows or a row count, returns the answer.
Flow = Generator[tuple[str, Any], Any, T]

CONNECT_TIMEOUT = 5  # seconds to reach the server
POOL_TIMEOUT = 5.0  # seconds to wait for a free (or new) connection of a pool
POOL_MAX = 10
_FIX = "check that PostgreSQL is running and that PLUGWIRE_DATABASE_URL (host, port, user, password, database) is right"

# The ordered schema: (version, name, statements). A version is never edited once
# released; a change is a new version at the end.
MIGRATIONS: list[tuple[int, str, tuple[str, ...]]] = [
    (1, "configuration records", (
        # seq keeps the order records were first written in, as the embedded store does.
        ("CREATE TABLE plugwire_records (tbl text NOT NULL, key text NOT NULL, doc jsonb NOT NULL, "
         "seq bigint GENERATED ALWAYS AS IDENTITY, PRIMARY KEY (tbl, key))"),
        "CREATE INDEX plugwire_records_by_seq ON plugwire_records (tbl, seq)",
        # One row, bumped by every transaction that wrote: what change watches read.
        "CREATE TABLE plugwire_record_version (one boolean PRIMARY KEY DEFAULT true CHECK (one), version bigint NOT NULL)",
        "INSERT INTO plugwire_record_version (version) VALUES (0)",
    )),
    (2, "job history", (
        ("CREATE TABLE plugwire_jobs (seq bigserial PRIMARY KEY, id text NOT NULL UNIQUE, dedupe text UNIQUE, "
         "recipe text NOT NULL, status text NOT NULL, received_at text NOT NULL, started_at text, finished_at text, "
         "duration_ms double precision, error text, event text NOT NULL, steps text NOT NULL DEFAULT '[]', "
         "claimed_by text, published_at timestamptz)"),
        "CREATE INDEX plugwire_jobs_by_recipe ON plugwire_jobs (recipe, seq)",
        "CREATE INDEX plugwire_jobs_by_status ON plugwire_jobs (status, seq)",
        "CREATE INDEX plugwire_jobs_pending ON plugwire_jobs (seq) WHERE status = 'pending'",
    )),
    (3, "worker heartbeats", (
        "CREATE TABLE plugwire_workers (worker_id text PRIMARY KEY, last_seen timestamptz NOT NULL)",
    )),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def driver() -> tuple[Any, Any]:
    """Return the modules ``(psycopg, psycopg_pool)``; raises ``UserInputError`` when not installed."""
    try:  # imported here: the embedded default needs neither
        import psycopg
        import psycopg_pool
    except ImportError:
        raise UserInputError(
            f"{DATABASE_URL_ENV} is set, but the PostgreSQL driver (psycopg) is not installed.",
            field=DATABASE_URL_ENV, fix="pip install 'plugwire[scale]'",
        ) from None
    return psycopg, psycopg_pool


def advisory_key(name: str) -> int:
    """Return the signed 64-bit advisory lock key of ``name``."""
    return int.from_bytes(hashlib.sha256(f"plugwire:{name}".encode()).digest()[:8], "big", signed=True)


_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^@/?#]*)@")
_PASSWORD_PARAM = re.compile(r"([?&]password=)([^&#]*)", re.IGNORECASE)


def redact(url: str) -> str:
    """Return ``url`` with its password (in the user part or a ``password=`` parameter) as ``***``."""
    url = _USERINFO.sub(lambda m: f"{m[1]}{m[2].split(':', 1)[0]}{':***' if ':' in m[2] else ''}@", url)
    return _PASSWORD_PARAM.sub(r"\1***", url)


def _passwords(url: str) -> list[str]:
    found = [m[2].split(":", 1)[1] for m in [_USERINFO.match(url)] if m and ":" in m[2]]
    found += [m[2] for m in _PASSWORD_PARAM.finditer(url)]
    return [p for text in found if text for p in {text, unquote(text)}]


def storage_error(url: str, doing: str, exc: BaseException) -> StorageError:
    """Return the ``StorageError`` for ``exc``, raised while ``doing``, without any password of ``url``."""
    reason = " ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__
    for secret in _passwords(url):
        reason = reason.replace(secret, "***")
    return StorageError(f"PostgreSQL at {redact(url)} failed while {doing}: {reason}.", field=DATABASE_URL_ENV, fix=_FIX)


@contextmanager
def translated(url: str, doing: str) -> Iterator[None]:
    """Turn the driver's connection and operational failures inside the block into ``StorageError``."""
    psycopg = driver()[0]
    try:
        yield
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
        raise storage_error(url, doing, exc) from None


class _Steps:
    """Walks a flow: :meth:`send` hands it the last answer and returns its next
    statement, or None when it is done (its answer is then :attr:`result`)."""

    def __init__(self, flow: Flow[Any]):
        self._flow = flow
        self.result: Any = None

    def send(self, answer: Any) -> tuple[str, Any] | None:
        try:
            return self._flow.send(answer)
        except StopIteration as done:
            self.result = done.value
            return None


def run_flow(conn: Any, flow: Flow[T]) -> T:
    """Run ``flow``'s statements on a sync connection; returns what the flow returns."""
    steps = _Steps(flow)
    statement = steps.send(None)
    while statement is not None:
        cur = conn.execute(*statement)
        statement = steps.send(cur.fetchall() if cur.description is not None else cur.rowcount)
    return steps.result


async def arun_flow(conn: Any, flow: Flow[T]) -> T:
    """The same on an async connection."""
    steps = _Steps(flow)
    statement = steps.send(None)
    while statement is not None:
        cur = await conn.execute(*statement)
        statement = steps.send(await cur.fetchall() if cur.description is not None else cur.rowcount)
    return steps.result


def migrate(conn: Any) -> list[int]:
    """Bring the schema of ``conn``'s database to :data:`SCHEMA_VERSION` in one transaction,
    under an advisory lock (processes starting together apply each version once).
    Returns the versions applied; raises ``StorageError`` for a newer database."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (advisory_key("schema"),))
        conn.execute("CREATE TABLE IF NOT EXISTS plugwire_schema (version integer PRIMARY KEY, name text NOT NULL, "
                     "applied_at timestamptz NOT NULL DEFAULT now())")
        row = conn.execute("SELECT coalesce(max(version), 0) AS v FROM plugwire_schema").fetchone()
        current = row["v"] if isinstance(row, dict) else row[0]
        if current > SCHEMA_VERSION:
            raise StorageError(
                f"The database's plugwire schema is version {current}, newer than this plugwire knows "
                f"(version {SCHEMA_VERSION}): a newer plugwire has used it.",
                field=DATABASE_URL_ENV, fix="upgrade plugwire (pip install -U plugwire) on this machine",
            )
        applied = []
        for version, name, statements in MIGRATIONS:
            if version > current:
                for sql in statements:
                    conn.execute(sql)
                conn.execute("INSERT INTO plugwire_schema (version, name) VALUES (%s, %s)", (version, name))
                applied.append(version)
        return applied


# -- pools -------------------------------------------------------------------------------
_POOLS: dict[tuple[int, str], list] = {}  # (pid, url) -> [pool, users]
_POOLS_LOCK = threading.Lock()


def _forget_pools_after_fork() -> None:
    # The parent's pools are the parent's: a child never uses or closes them.
    global _POOLS_LOCK
    _POOLS.clear()
    _POOLS_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools_after_fork)


def _options(url: str) -> dict[str, Any]:
    """Connection options: autocommit, rows as dicts; plugwire's timeout and name unless the URL sets them."""
    driver()
    from psycopg.rows import dict_row  # after driver(), which says plainly when psycopg is missing

    options: dict[str, Any] = {"autocommit": True, "row_factory": dict_row, "fallback_application_name": "plugwire"}
    if "connect_timeout" not in url:
        options["connect_timeout"] = CONNECT_TIMEOUT
    return options


class _LoopPool:
    """The async pool of one event loop, owned by a task of that loop which opens it,
    waits, and closes it when cancelled: by :meth:`close`, or by ``asyncio.run``
    cancelling every task at the loop's end. (psycopg_pool's workers outlive a
    cancellation that reaches them while connecting, so a pool left open would keep
    the loop's shutdown waiting.) The connections it opened are remembered, to be
    closed by hand if the loop was closed with the pool still open."""

    def __init__(self, loop: asyncio.AbstractEventLoop, link: "Link"):
        self.loop = loop
        self.conns: weakref.WeakSet = weakref.WeakSet()
        self.ready: asyncio.Future = loop.create_future()
        self.task = loop.create_task(self._life(link), name="plugwire-async-pool")

    @property
    def failed(self) -> bool:
        return self.ready.done() and (self.ready.cancelled() or self.ready.exception() is not None)

    async def _life(self, link: "Link") -> None:
        pool = None
        try:
            pool = await link._open_async(self)
            self.ready.set_result(pool)
            await self.loop.create_future()  # until cancelled
        except Exception as exc:
            self.ready.set_exception(exc)
        finally:
            if not self.ready.done():
                self.ready.cancel()
            if pool is not None:
                await pool.close()

    def close(self) -> None:
        """Close the pool: at once if the loop can run it, else its connections by hand."""
        if self.loop.is_closed() or self.task.done():
            for conn in list(self.conns):
                conn.pgconn.finish()
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:  # called from a coroutine: the task closes the pool next
            self.task.cancel()
        elif self.loop.is_running():
            self.loop.call_soon_threadsafe(self.task.cancel)
        elif running is None:  # a stopped loop (kept between run_until_complete calls)
            self.task.cancel()
            self.loop.run_until_complete(asyncio.gather(self.task, return_exceptions=True))
        else:
            for conn in list(self.conns):
                conn.pgconn.finish()


class Link:
    """One store's connections to the database at ``url``: the process's shared sync pool
    (opened on first use, after the migrations), an async pool per event loop, and
    dedicated connections. Raises ``UserInputError`` when psycopg is missing."""

    def __init__(self, url: str):
        driver()
        self.url = url
        self._pool: Any = None
        self._pid = 0
        self._loops: dict[int, _LoopPool] = {}

    def __repr__(self) -> str:
        return f"Link({redact(self.url)!r})"

    def connect(self, **options: Any) -> Any:
        """Return a new connection of its own (tuple rows); raises ``StorageError``."""
        psycopg = driver()[0]
        from psycopg.rows import tuple_row

        with translated(self.url, "connecting"):
            return psycopg.connect(self.url, **{**_options(self.url), "row_factory": tuple_row, **options})

    def pool(self) -> Any:
        """Return this process's pool for the URL, opening it (and migrating) on first use."""
        if self._pool is not None and self._pid == os.getpid():
            return self._pool
        key = (os.getpid(), self.url)
        with _POOLS_LOCK:
            if self._pool is not None and self._pid == os.getpid():  # another thread of this store got it
                return self._pool
            entry = _POOLS.get(key)
            if entry is None:
                conn = self.connect()
                try:
                    with translated(self.url, "updating the schema"):
                        migrate(conn)
                finally:
                    conn.close()
                pool = driver()[1].ConnectionPool(
                    self.url, kwargs=_options(self.url), min_size=1, max_size=POOL_MAX, open=False,
                    timeout=POOL_TIMEOUT, check=driver()[1].ConnectionPool.check_connection, name="plugwire",
                )
                pool.open(wait=False)
                entry = _POOLS[key] = [pool, 0]
            entry[1] += 1
            self._pool, self._pid = entry[0], os.getpid()
        return self._pool

    @contextmanager
    def connection(self) -> Iterator[Any]:
        """Lend a pooled connection (autocommit, dict rows); failures become ``StorageError``."""
        pool = self.pool()
        with translated(self.url, "running a query"):
            with pool.connection() as conn:
                yield conn

    async def apool(self) -> Any:
        """Return the running event loop's async pool, opened on first use; raises ``StorageError``."""
        loop = asyncio.get_running_loop()
        slot = self._loops.get(id(loop))
        if slot is None or slot.loop is not loop or slot.failed:
            for key, old in list(self._loops.items()):  # pools of loops that are gone, or of this one
                if old.loop.is_closed() or old.loop is loop:
                    old.close()
                    del self._loops[key]
            slot = self._loops[id(loop)] = _LoopPool(loop, self)
        return await asyncio.shield(slot.ready)

    async def _open_async(self, slot: _LoopPool) -> Any:
        if self._pool is None or self._pid != os.getpid():
            await asyncio.to_thread(self.pool)  # the migrations, once per process
        psycopg_pool = driver()[1]

        async def remember(conn: Any) -> None:
            slot.conns.add(conn)

        pool = psycopg_pool.AsyncConnectionPool(
            self.url, kwargs=_options(self.url), min_size=1, max_size=POOL_MAX, open=False, timeout=POOL_TIMEOUT,
            configure=remember, check=psycopg_pool.AsyncConnectionPool.check_connection, name="plugwire-async",
        )
        await pool.open(wait=False)
        return pool

    @asynccontextmanager
    async def aconnection(self) -> AsyncIterator[Any]:
        """Lend a connection of the running loop's async pool; failures become ``StorageError``."""
        pool = await self.apool()
        with translated(self.url, "running a query"):
            async with pool.connection() as conn:
                yield conn

    def close(self) -> None:
        """Let the shared pool go (closed when its last user lets go) and close the async pools."""
        loops, self._loops = list(self._loops.values()), {}
        for slot in loops:
            slot.close()
        pool, self._pool = self._pool, None
        if pool is None or self._pid != os.getpid():
            return
        with _POOLS_LOCK:
            entry = _POOLS.get((self._pid, self.url))
            if entry is None or entry[0] is not pool:
                return
            entry[1] -= 1
            if entry[1] > 0:
                return
            del _POOLS[(self._pid, self.url)]
        pool.close()
