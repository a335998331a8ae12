"""The job store: every trigger event and the job it became, in SQLite.

Configuration lives in the TinyDB store, which rewrites its whole file per write:
fine for a few hundred records, ruinous for a history that grows by one record per
event. Jobs therefore live in their own embedded database in the data folder,
``jobs.sqlite3`` (stdlib ``sqlite3``, nothing to install): WAL journal, one row per
job, indexes on the recipe and on the status (pending jobs are found without reading the rest), so an insert, a claim and a page
of history cost the same at ten or ten million jobs.

Durability: an event is inserted as a ``pending`` job and committed (with
``synchronous=FULL`` by default) before the webhook is answered. Concurrent inserts
share one commit (group commit, in the writer process of
:mod:`plugwire.core.storage.jobprocess`), so the fsync
cost is paid once per batch, not once per event. A worker takes a job with an
atomic claim or take (``pending`` -> ``running`` in one UPDATE; a take, for a job
this process just stored, reads nothing back), so no job runs twice; a job
found ``running`` at start-up was cut short by a crash and is marked failed, not
re-run, because its requests may already have reached the API.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Callable

from plugwire.core.base.clock import now_iso
from plugwire.core.base.errors import NotFoundError, UserInputError
from plugwire.core.base.jsontext import dumps_json, loads_json
from plugwire.core.storage.jobprocess import WriterProcess
from plugwire.core.storage.jobwriter import Claim, Finish, Insert, Take, job_row

__all__ = ["JOB_STATUSES", "FreshJob", "JobStore", "new_job_id", "now_iso", "pick_job", "rerun_key", "with_rerun"]

JOB_STATUSES = ("pending", "running", "succeeded", "failed")
INTERRUPTED = "interrupted: the server stopped while this job ran; it was not run again, to avoid sending twice"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    dedupe TEXT UNIQUE,
    recipe TEXT NOT NULL,
    status TEXT NOT NULL,
    received_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    duration_ms REAL,
    error TEXT,
    event TEXT NOT NULL,
    steps TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS jobs_by_recipe ON jobs(recipe, seq);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs(status, seq);
"""

_COLUMNS = "id, recipe, status, received_at, started_at, finished_at, duration_ms, error"




class FreshJob:
    """A job this process has just stored, as it was stored: handed straight to a
    worker, it is taken without reading the event back from the store."""

    __slots__ = ("id", "recipe", "received_at", "event_text")

    def __init__(self, job_id: str, recipe: str, received_at: str, event_text: str):
        self.id, self.recipe, self.received_at, self.event_text = job_id, recipe, received_at, event_text

    def event(self) -> dict[str, Any]:
        """Return the event exactly as stored (parsed from the stored text)."""
        return loads_json(self.event_text)



# Job ids need to be unique, not secret (reading a job takes the API token), so they
# are made from the clock, a counter and a per-process random part: a random id per
# job costs a system call, which on some machines is a noticeable part of a webhook.
_PROCESS = secrets.token_hex(3)
_COUNTER = itertools.count()


def new_job_id() -> str:
    """Return a new unique job id: ``j_``, milliseconds, a counter and a per-process part (sortable by time)."""
    return f"j_{int(time.time() * 1000):011x}{next(_COUNTER) & 0xFFFFF:05x}{_PROCESS}"


# A rerun's dedupe key names the job it reruns (and is its own, so it never merges with
# another). It records the link without a column of its own, in either store: no
# other key starts with '~' (they start with a recipe's name, a letter or digit).
_RERUN = "~rerun:"
#: Matches listed when an id prefix is ambiguous.
_SHOWN = 10


def rerun_key(of: str, job_id: str) -> str:
    """Return the dedupe key of ``job_id``, a rerun of the job ``of``."""
    return f"{_RERUN}{of}:{job_id}"


def with_rerun(job: dict[str, Any], dedupe: str | None) -> dict[str, Any]:
    """Return ``job``, with ``rerun_of`` (the job it reruns, read from its ``dedupe``
    key) when it is a rerun; other jobs read as they always did."""
    if dedupe and dedupe.startswith(_RERUN):
        job["rerun_of"] = dedupe[len(_RERUN):].split(":", 1)[0]
    return job


def pick_job(prefix: str, matches: list[str]) -> str:
    """Return the one id of ``matches`` (the ids starting with ``prefix``, at most
    ``_SHOWN + 1`` of them). Raises ``NotFoundError`` when there is none and
    ``UserInputError`` listing them when there are several."""
    if not matches:
        raise NotFoundError(f"No job with id {prefix!r}.", field="job", fix="list them with `plugwire jobs list`")
    if len(matches) > 1:
        listed = ", ".join(matches[:_SHOWN]) + (" and more" if len(matches) > _SHOWN else "")
        raise UserInputError(f"The id prefix {prefix!r} is ambiguous: it starts {listed}.", field="job",
                             fix="give more of the id, enough for one job")
    return matches[0]


class JobStore:
    """The jobs of one data folder (``folder/jobs.sqlite3``).

    ``synchronous`` is SQLite's setting: ``FULL`` (the default) survives a power
    cut once a commit returns; ``NORMAL`` survives a crash of the process only.
    """

    FILE = "jobs.sqlite3"

    def __init__(self, folder: Path | str, *, synchronous: str = "FULL"):
        if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise UserInputError(
                f"synchronous={synchronous!r} is not a durable setting.", field="synchronous", fix="use FULL or NORMAL"
            )
        self.path = Path(folder) / self.FILE
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._synchronous = synchronous.upper()
        self._local = threading.local()
        # One writer process per event loop that writes (a server has one; tests run
        # several loops one after the other).
        self._writers: dict[int, WriterProcess] = {}
        self._writers_lock = threading.Lock()
        with self._conn() as conn:  # creates the file and schema once
            conn.executescript(_SCHEMA)
        self.path.chmod(0o600)

    # -- connections ----------------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self._synchronous}")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._open()
        return conn

    def _write_sync(self, op: Callable[[sqlite3.Connection], Any]) -> Any:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = op(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    async def _write(self, op: Callable[[sqlite3.Connection], Any]) -> Any:
        """Commit ``op`` in the writer process, batched with other writes; returns its result once committed."""
        return await self._writer().submit(op)

    async def astart(self) -> None:
        """Start this event loop's writer process now (a server calls it at start-up, so
        that its first webhook does not wait for the process to come up)."""
        self._writer()

    def _writer(self) -> WriterProcess:
        """Return the running event loop's writer process, started if it has none (or a stopped one)."""
        loop = asyncio.get_running_loop()
        writer = self._writers.get(id(loop))
        if writer is not None and not writer.closed and writer.loop is loop:
            return writer
        with self._writers_lock:
            for key, old in list(self._writers.items()):  # those of closed loops, or stopped
                if old.closed or old.loop.is_closed() or old.loop is loop:
                    old.close()
                    del self._writers[key]
            writer = self._writers[id(loop)] = WriterProcess(str(self.path), self._synchronous, loop)
            return writer

    def close(self) -> None:
        """Stop the writer processes (after the batch each holds) and close connections."""
        with self._writers_lock:
            writers, self._writers = list(self._writers.values()), {}
        for writer in writers:
            writer.close()
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- operations (each as a function of a connection, so sync and async share them)
    @staticmethod
    def _insert_op(recipe: str, event: dict[str, Any], dedupe: str | None, job_id: str, received_at: str) -> Insert:
        return Insert(job_id, dedupe, recipe, received_at, dumps_json(event))

    def _insert_args(self, recipe: str, event: dict[str, Any], dedupe: str | None, job_id: str | None):
        job_id = job_id or new_job_id()
        event = dict(event)
        event.setdefault("event_id", job_id)
        return self._insert_op(recipe, event, dedupe, job_id, now_iso())

    def add(self, recipe: str, event: dict[str, Any], *, dedupe: str | None = None, job_id: str | None = None) -> tuple[str, bool]:
        """Store ``event`` as a pending job of ``recipe`` and commit.

        ``dedupe`` identifies a re-delivery of the same event: a second event with
        the same key adds nothing. Returns ``(job_id, created)``.
        """
        return self._write_sync(self._insert_args(recipe, event, dedupe, job_id))

    async def aadd(self, recipe: str, event: dict[str, Any], *, dedupe: str | None = None, job_id: str | None = None) -> tuple[str, bool]:
        """Async :meth:`add`, committed together with concurrent writes; returns ``(job_id, created)``."""
        job, created = await self.aadd_fresh(recipe, event, dedupe=dedupe, job_id=job_id)
        return job.id, created

    async def aadd_fresh(self, recipe: str, event: dict[str, Any], *, dedupe: str | None = None,
                         job_id: str | None = None) -> tuple[FreshJob, bool]:
        """:meth:`aadd` that returns the stored job as a :class:`FreshJob` (for :meth:`atake`)
        and whether it was created (False: a re-delivery, and the job is the earlier one)."""
        op = self._insert_args(recipe, event, dedupe, job_id)
        stored_id, created = await self._write(op)
        return FreshJob(stored_id, recipe, op.received_at, op.text), created

    @staticmethod
    def _claim_op(job_id: str, started_at: str) -> Claim:
        return Claim(job_id, started_at)

    def claim(self, job_id: str) -> dict[str, Any] | None:
        """Atomically take a pending job for running; returns the job, or None when
        it is not pending (another worker has it, or it ran)."""
        return self._write_sync(self._claim_op(job_id, now_iso()))

    async def aclaim(self, job_id: str) -> dict[str, Any] | None:
        """Async :meth:`claim`; returns the job or None."""
        return await self._write(self._claim_op(job_id, now_iso()))

    def take(self, job_id: str) -> bool:
        """Atomically take a pending job whose event the caller holds (a :class:`FreshJob`);
        returns False when it is not pending any more. Nothing is read back."""
        return self._write_sync(Take(job_id, now_iso()))

    async def atake(self, job_id: str) -> bool:
        """Async :meth:`take`."""
        return await self._write(Take(job_id, now_iso()))

    @staticmethod
    def _finish_op(job_id: str, status: str, steps_json: str, error: str | None, finished_at: str, duration_ms: float) -> Finish:
        return Finish(job_id, status, steps_json, error, finished_at, round(duration_ms, 3))

    def finish(self, job_id: str, status: str, steps_json: str, *, error: str | None, duration_ms: float) -> None:
        """Record the outcome of a job: ``succeeded`` or ``failed``, its steps (JSON text, already redacted)."""
        self._write_sync(self._finish_op(job_id, status, steps_json, error, now_iso(), duration_ms))

    async def afinish(self, job_id: str, status: str, steps_json: str, *, error: str | None, duration_ms: float) -> None:
        """Async :meth:`finish`."""
        await self._write(self._finish_op(job_id, status, steps_json, error, now_iso(), duration_ms))

    def recover(self) -> list[str]:
        """At server start: mark jobs left ``running`` by a crash as failed, and
        return the ids of pending jobs, oldest first, to be run."""

        def op(conn: sqlite3.Connection) -> list[str]:
            conn.execute(
                "UPDATE jobs SET status = 'failed', error = ?, finished_at = ? WHERE status = 'running'",
                (INTERRUPTED, now_iso()),
            )
            return [r["id"] for r in conn.execute("SELECT id FROM jobs WHERE status = 'pending' ORDER BY seq")]

        return self._write_sync(op)

    def interrupt(self, job_id: str, error: str) -> bool:
        """Mark the running job ``job_id`` failed with ``error`` (an ``interrupted: ...``
        message), written on this thread's own connection, not through the writer
        process; returns False when the job is not running (its outcome was recorded)."""
        return self._write_sync(lambda conn: conn.execute(
            "UPDATE jobs SET status = 'failed', error = ?, finished_at = ? WHERE id = ? AND status = 'running'",
            (error, now_iso(), job_id)).rowcount == 1)

    def release(self, job_id: str) -> bool:
        """Put the running job ``job_id`` back to pending (a take whose answer was lost:
        the job never ran); returns False when it is not running."""
        return self._write_sync(lambda conn: conn.execute(
            "UPDATE jobs SET status = 'pending', started_at = NULL WHERE id = ? AND status = 'running'", (job_id,)).rowcount == 1)

    def interrupt_orphans(self, stale_seconds: float = 15.0) -> int:
        """Mark the running jobs of dead workers as interrupted; returns how many. The
        embedded store has one server per folder, whose running jobs are its own and
        alive (a crash's are marked by :meth:`recover` at the next start): none."""
        return 0

    # -- reading ----------------------------------------------------------------------
    def get(self, job_id: str) -> dict[str, Any]:
        """Return the job ``job_id`` (or the one whose id starts with it) with its event,
        its steps and, for a rerun, ``rerun_of``; raises ``NotFoundError``, or ``UserInputError``
        listing the jobs an ambiguous prefix matches."""
        conn = self._conn()
        row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None and job_id:
            # A range on the id's index (ids are ASCII; U+FFFF sorts after all of them).
            found = conn.execute("SELECT id FROM jobs WHERE id >= ? AND id < ? AND substr(id, 1, ?) = ? ORDER BY id LIMIT ?",
                                 (job_id, job_id + "\uffff", len(job_id), job_id, _SHOWN + 1)).fetchall()
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (pick_job(job_id, [r["id"] for r in found]),)).fetchone()
        if row is None:
            pick_job(job_id, [])  # raises: no job with that id
        return with_rerun(job_row(row, full=True), row["dedupe"])

    def list(self, *, recipe: str | None = None, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Return the newest jobs first (without events and steps), at most ``limit``."""
        if status is not None and status not in JOB_STATUSES:
            raise UserInputError(f"Unknown job status {status!r}.", field="status", fix=f"use one of: {', '.join(JOB_STATUSES)}")
        where, args = [], []
        if recipe is not None:
            where.append("recipe = ?")
            args.append(recipe)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        sql = f"SELECT {_COLUMNS} FROM jobs" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY seq DESC LIMIT ?"
        rows = self._conn().execute(sql, (*args, max(1, min(int(limit), 10_000)))).fetchall()
        return [job_row(r, full=False) for r in rows]

    def counts(self, recipe: str | None = None) -> dict[str, int]:
        """Return the number of jobs by status (of one recipe, or all)."""
        sql = "SELECT status, COUNT(*) AS n FROM jobs" + (" WHERE recipe = ?" if recipe else "") + " GROUP BY status"
        return {r["status"]: r["n"] for r in self._conn().execute(sql, (recipe,) if recipe else ())}
