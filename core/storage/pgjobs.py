"""The job history in PostgreSQL (``PLUGWIRE_DATABASE_URL``): the methods and answers of
:class:`plugwire.core.storage.jobs.JobStore`, for any number of servers and workers
sharing one database.

One row per job in ``plugwire_jobs`` (a ``bigserial`` order, unique ``id`` and
``dedupe``, indexes on recipe and status and a partial index on pending jobs, so an
insert, a claim and a page of history cost the same at a thousand or millions of
jobs). Durability: an event is inserted as a ``pending`` job and committed before the
webhook is answered; the concurrent inserts of one event loop share one multi-row
``INSERT`` (group commit) and each caller is answered once it is committed, or gets
a ``StorageError`` (the webhook answers 503). Claims (``pending`` -> ``running``) are
one ``UPDATE`` each, so no job runs twice, and record which worker took the job.

Past one process, a job found ``running`` is not necessarily dead: every store that
claims jobs keeps a heartbeat in ``plugwire_workers`` (a thread, every ~2 s), and
only the running jobs of workers whose heartbeat stopped are marked interrupted.
For a broker (the outbox), ``published_at`` says when a pending job was last handed
to it, and :meth:`PgJobStore.republish_due` finds those whose message was lost.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import threading
from typing import Any

from plugwire.core.base.clock import now_iso
from plugwire.core.base.errors import StorageError, UserInputError
from plugwire.core.base.jsontext import dumps_json
from plugwire.core.storage.jobs import INTERRUPTED, JOB_STATUSES, FreshJob, new_job_id, pick_job, with_rerun
from plugwire.core.storage.jobwriter import Insert, job_row
from plugwire.core.storage.pg import Flow, Link, arun_flow, driver, redact, run_flow, storage_error

__all__ = ["HEARTBEAT_SECONDS", "PgJobStore"]

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.0
#: Rows per multi-row INSERT: a larger backlog goes in several batches.
MAX_BATCH = 512
#: Under load, a batch of fewer rows waits this long for more before it is committed.
LINGER_BELOW, LINGER_SECONDS = 64, 0.002

_INSERT = (
    "INSERT INTO plugwire_jobs (id, dedupe, recipe, status, received_at, event) "
    "SELECT id, dedupe, recipe, 'pending', received_at, event "
    "FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[]) AS v(id, dedupe, recipe, received_at, event) "
    "ON CONFLICT DO NOTHING RETURNING id"
)
_EARLIER = "SELECT dedupe, id FROM plugwire_jobs WHERE dedupe = ANY(%s)"
# 'pending' is a parameter here: written out, it would let a plan made once for any ids
# (psycopg prepares what runs often) walk the partial index of every pending job instead
# of the ids' index, and a backlog would slow every claim down.
_CLAIM = ("UPDATE plugwire_jobs SET status = 'running', started_at = %s, claimed_by = %s "
          "WHERE id = ANY(%s) AND status = %s RETURNING *")
_TAKE = "UPDATE plugwire_jobs SET status = 'running', started_at = %s, claimed_by = %s WHERE id = %s AND status = %s"
_FINISH = (
    "UPDATE plugwire_jobs AS j SET status = v.status, steps = v.steps, error = v.error, finished_at = %s, "
    "duration_ms = v.duration_ms FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::float8[]) "
    "AS v(id, status, steps, error, duration_ms) WHERE j.id = v.id"
)
_BEAT = ("INSERT INTO plugwire_workers (worker_id, last_seen) VALUES (%s, now()) "
         "ON CONFLICT (worker_id) DO UPDATE SET last_seen = EXCLUDED.last_seen")
# Running jobs whose worker has no fresh heartbeat (this store's own are alive).
_ORPHANS = (
    "UPDATE plugwire_jobs AS j SET status = 'failed', error = %(error)s, finished_at = %(now)s "
    "WHERE status = 'running' AND claimed_by IS DISTINCT FROM %(me)s AND NOT EXISTS (SELECT 1 FROM plugwire_workers w "
    "WHERE w.worker_id = j.claimed_by AND w.last_seen > now() - make_interval(secs => %(stale)s::float8))"
)
_PRUNE = "DELETE FROM plugwire_workers WHERE last_seen < now() - interval '1 day'"
_PENDING = "SELECT id FROM plugwire_jobs WHERE status = 'pending' ORDER BY seq"
_REPUBLISH = (
    # A job never published counts from its arrival: one committed a moment ago is still
    # on its way through the server's dispatcher, and a second message would be waste.
    "WITH due AS (SELECT seq FROM plugwire_jobs WHERE status = 'pending' AND coalesce(published_at, "
    "received_at::timestamptz) < now() - make_interval(secs => %s::float8) ORDER BY seq LIMIT %s FOR UPDATE SKIP LOCKED) "
    # ANY(ARRAY(...)): a join with the CTE would be planned as a hash join over the whole history
    "UPDATE plugwire_jobs SET published_at = now() WHERE seq = ANY(ARRAY(SELECT seq FROM due)) RETURNING id, seq"
)
_SUMMARY = "id, recipe, status, received_at, started_at, finished_at, duration_ms, error"


# -- the statements of each operation, for the sync and the async pool alike ---------------
def _statement(sql: str, params: Any = ()) -> Flow[Any]:
    return (yield sql, params)


def _insert_flow(rows: list[Insert]) -> Flow[list[tuple[str, bool]]]:
    columns = [r.job_id for r in rows], [r.dedupe for r in rows], [r.recipe for r in rows], \
        [r.received_at for r in rows], [r.text for r in rows]
    created = {r["id"] for r in (yield _INSERT, columns)}
    redelivered = [r.dedupe for r in rows if r.job_id not in created and r.dedupe is not None]
    earlier = {r["dedupe"]: r["id"] for r in (yield _EARLIER, (redelivered,))} if redelivered else {}
    return [(r.job_id, True) if r.job_id in created else (earlier.get(r.dedupe, r.job_id), False) for r in rows]


def _claim_flow(job_ids: list[str], worker_id: str) -> Flow[list[dict[str, Any]]]:
    jobs = {r["id"]: job_row(r, full=True) for r in (yield _CLAIM, (now_iso(), worker_id, job_ids, "pending"))}
    return [jobs.pop(i) for i in job_ids if i in jobs]  # in the order asked, each once


def _finish_flow(results: list[tuple[str, str, str, str | None, float]]) -> Flow[None]:
    columns: list[list[Any]] = [[], [], [], [], []]
    for job_id, status, steps_json, error, duration_ms in results:
        for column, value in zip(columns, (job_id, status, steps_json, error, round(duration_ms, 3))):
            column.append(value)
    yield _FINISH, (now_iso(), *columns)


def _orphans_flow(worker_id: str, stale_seconds: float) -> Flow[int]:
    marked = yield _ORPHANS, {"error": INTERRUPTED, "now": now_iso(), "me": worker_id, "stale": float(stale_seconds)}
    yield _PRUNE, ()  # workers gone for a day: their rows say nothing any more
    return marked


class _Intake:
    """The inserts of one event loop, committed together: while one batch commits, the
    next gathers, and each caller is answered once its batch is committed."""

    def __init__(self, store: "PgJobStore", loop: asyncio.AbstractEventLoop):
        self.store = store
        self.loop = loop
        self._queue: list[tuple[Insert, asyncio.Future]] = []
        self._task: asyncio.Task | None = None

    def submit(self, row: Insert) -> asyncio.Future:
        fut = self.loop.create_future()
        self._queue.append((row, fut))
        if self._task is None:  # it starts after this turn of the loop: what else arrives joins the batch
            self._task = self.loop.create_task(self._drain())
        return fut

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch: list[tuple[Insert, asyncio.Future]] = []
                try:
                    # One connection for as long as writes keep coming: lending one per
                    # batch cost a check round trip each, which small batches feel.
                    async with self.store._link.aconnection() as conn:
                        busy = False
                        while self._queue:
                            if busy and len(self._queue) < LINGER_BELOW:
                                # Under load, a short batch waits a moment for more: each
                                # commit costs the server and the database as much as tens of rows.
                                await asyncio.sleep(LINGER_SECONDS)
                            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                            busy = len(batch) > 1
                            results = await arun_flow(conn, _insert_flow([row for row, _ in batch]))
                            for (_, fut), result in zip(batch, results):
                                if not fut.done():
                                    fut.set_result(result)
                            batch = []
                except BaseException as exc:
                    if isinstance(exc, (StorageError, driver()[0].Error)):
                        # The database refused or is out of reach: what queued meanwhile
                        # would only wait as long again.
                        batch, self._queue = batch + self._queue, []
                    self._fail(batch, exc)
                    if not isinstance(exc, Exception):
                        raise
        finally:
            self._task = None
            if self._queue:  # cancelled with writes still waiting
                self._fail(self._queue, asyncio.CancelledError())
                self._queue = []

    def _fail(self, batch: list[tuple[Insert, asyncio.Future]], exc: BaseException) -> None:
        if isinstance(exc, driver()[0].Error):  # any database refusal: not stored, so not acknowledged
            exc = storage_error(self.store.url, "storing jobs", exc)
        for _, fut in batch:
            if fut.done():
                continue
            if isinstance(exc, asyncio.CancelledError):
                fut.cancel()
            else:
                fut.set_exception(exc)


class PgJobStore:
    """The jobs in the PostgreSQL database at ``url``, with the methods of
    :class:`plugwire.core.storage.jobs.JobStore` and what workers on several machines
    need: :attr:`worker_id`, :meth:`claim_many`, :meth:`finish_many`, a heartbeat,
    :meth:`interrupt_orphans` and the outbox's :meth:`mark_published` and
    :meth:`republish_due`. Nothing connects until the first use."""

    def __init__(self, url: str, *, heartbeat_seconds: float = HEARTBEAT_SECONDS):
        self.url = url
        self._link = Link(url)
        self._heartbeat_seconds = heartbeat_seconds
        self._worker = (0, "")
        self._intakes: dict[int, _Intake] = {}
        self._beats: tuple[threading.Thread, threading.Event] | None = None
        self._beats_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PgJobStore({redact(self.url)!r})"

    @property
    def worker_id(self) -> str:
        """This store's name in claims and heartbeats: ``host:pid:random`` (a new one in a forked child)."""
        if self._worker[0] != os.getpid():
            self._worker = (os.getpid(), f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}")
        return self._worker[1]

    # -- connections --------------------------------------------------------------------
    def _run(self, flow: Flow[Any]) -> Any:
        with self._link.connection() as conn:
            return run_flow(conn, flow)

    async def _arun(self, flow: Flow[Any]) -> Any:
        async with self._link.aconnection() as conn:
            return await arun_flow(conn, flow)

    async def astart(self) -> None:
        """Open this event loop's connections now (and the schema, once per process) and
        start the heartbeat, so the first webhook waits for neither; raises ``StorageError``."""
        await self._link.apool()
        await self._abeat_now()

    def close(self) -> None:
        """Stop the heartbeat and close this store's connections (it opens them again when used)."""
        self._stop_beats()
        self._intakes = {}
        self._link.close()

    # -- heartbeat ----------------------------------------------------------------------
    def heartbeat(self) -> None:
        """Record that this worker is alive now (its ``last_seen``, by the database's clock)."""
        self._run(_statement(_BEAT, (self.worker_id,)))

    def _beating(self) -> bool:
        return self._beats is not None and self._beats[0].is_alive()

    def _beat_now(self) -> None:
        # A store that claims is seen alive from its first claim on.
        if not self._beating():
            self.heartbeat()
            self._start_beats()

    async def _abeat_now(self) -> None:
        if not self._beating():
            await self._arun(_statement(_BEAT, (self.worker_id,)))
            self._start_beats()

    def _start_beats(self) -> None:
        with self._beats_lock:
            if self._beating():
                return
            stop = threading.Event()
            thread = threading.Thread(target=self._beat_loop, args=(stop,), name="plugwire-heartbeat", daemon=True)
            self._beats = (thread, stop)
            thread.start()

    def _beat_loop(self, stop: threading.Event) -> None:
        while not stop.wait(self._heartbeat_seconds):
            try:
                self.heartbeat()
            except StorageError as exc:  # the next beat tries again; a long silence makes our jobs orphans
                log.warning("heartbeat of %s failed: %s", self.worker_id, exc)

    def _stop_beats(self) -> None:
        beats, self._beats = self._beats, None
        if beats is not None:
            beats[1].set()
            if beats[0] is not threading.current_thread():
                beats[0].join(timeout=10)

    # -- intake ---------------------------------------------------------------------------
    @staticmethod
    def _row(recipe: str, event: dict[str, Any], dedupe: str | None, job_id: str | None) -> Insert:
        job_id = job_id or new_job_id()
        event = dict(event)
        event.setdefault("event_id", job_id)
        return Insert(job_id, dedupe, recipe, now_iso(), dumps_json(event))

    def add(self, recipe: str, event: dict[str, Any], *, dedupe: str | None = None, job_id: str | None = None) -> tuple[str, bool]:
        """Store ``event`` as a pending job of ``recipe`` and commit. A second event with the
        same ``dedupe`` key adds nothing. Returns ``(job_id, created)``; raises ``StorageError``."""
        return self._run(_insert_flow([self._row(recipe, event, dedupe, job_id)]))[0]

    async def aadd(self, recipe: str, event: dict[str, Any], *, dedupe: str | None = None, job_id: str | None = None) -> tuple[str, bool]:
        """Async :meth:`add`, committed together with concurrent inserts; returns ``(job_id, created)``."""
        job, created = await self.aadd_fresh(recipe, event, dedupe=dedupe, job_id=job_id)
        return job.id, created

    async def aadd_fresh(self, recipe: str, event: dict[str, Any], *, dedupe: str | None = None,
                         job_id: str | None = None) -> tuple[FreshJob, bool]:
        """:meth:`aadd` that returns the stored job as a :class:`FreshJob` (for :meth:`atake`) and
        whether it was created (False: a re-delivery, and the job is the earlier one). Answers
        once the batch is committed; raises ``StorageError`` when it was not."""
        row = self._row(recipe, event, dedupe, job_id)
        loop = asyncio.get_running_loop()
        intake = self._intakes.get(id(loop))
        if intake is None or intake.loop is not loop:
            self._intakes = {k: v for k, v in self._intakes.items() if not v.loop.is_closed()}
            intake = self._intakes[id(loop)] = _Intake(self, loop)
        stored_id, created = await intake.submit(row)
        return FreshJob(stored_id, recipe, row.received_at, row.text), created

    # -- claims and outcomes -----------------------------------------------------------------
    def claim(self, job_id: str) -> dict[str, Any] | None:
        """Atomically take a pending job for running; returns the job, or None when it is
        not pending (another worker has it, or it ran)."""
        jobs = self.claim_many([job_id])
        return jobs[0] if jobs else None

    async def aclaim(self, job_id: str) -> dict[str, Any] | None:
        """Async :meth:`claim`; returns the job or None."""
        await self._abeat_now()
        jobs = await self._arun(_claim_flow([job_id], self.worker_id))
        return jobs[0] if jobs else None

    def claim_many(self, job_ids: list[str]) -> list[dict[str, Any]]:
        """Take those of ``job_ids`` still pending, in one statement; returns them as
        :meth:`claim` does (in the order asked), each claimed by :attr:`worker_id`."""
        self._beat_now()
        return self._run(_claim_flow(list(job_ids), self.worker_id))

    def take(self, job_id: str) -> bool:
        """Atomically take a pending job whose event the caller holds (a :class:`FreshJob`);
        returns False when it is not pending any more. Nothing is read back."""
        self._beat_now()
        return self._run(_statement(_TAKE, (now_iso(), self.worker_id, job_id, "pending"))) == 1

    async def atake(self, job_id: str) -> bool:
        """Async :meth:`take`."""
        await self._abeat_now()
        return await self._arun(_statement(_TAKE, (now_iso(), self.worker_id, job_id, "pending"))) == 1

    def finish(self, job_id: str, status: str, steps_json: str, *, error: str | None, duration_ms: float) -> None:
        """Record the outcome of a job: ``succeeded`` or ``failed``, its steps (JSON text, already redacted)."""
        self._run(_finish_flow([(job_id, status, steps_json, error, duration_ms)]))

    async def afinish(self, job_id: str, status: str, steps_json: str, *, error: str | None, duration_ms: float) -> None:
        """Async :meth:`finish`."""
        await self._arun(_finish_flow([(job_id, status, steps_json, error, duration_ms)]))

    def finish_many(self, results: list[tuple[str, str, str, str | None, float]]) -> None:
        """Record several outcomes, each ``(job_id, status, steps_json, error, duration_ms)``, in one statement."""
        if results:
            self._run(_finish_flow(list(results)))

    def recover(self, stale_seconds: float = 15.0) -> list[str]:
        """At server start: mark failed the running jobs of workers whose heartbeat is older
        than ``stale_seconds`` (never those of live processes), and return the ids of
        pending jobs, oldest first, to be run."""

        def flow() -> Flow[list[str]]:
            yield from _orphans_flow(self.worker_id, stale_seconds)
            return [r["id"] for r in (yield _PENDING, ())]

        return self._run(flow())

    def interrupt(self, job_id: str, error: str) -> bool:
        """Mark the running job ``job_id`` failed with ``error`` (an ``interrupted: ...``
        message); returns False when it is not running (its outcome was recorded)."""
        sql = "UPDATE plugwire_jobs SET status = 'failed', error = %s, finished_at = %s WHERE id = %s AND status = 'running'"
        return self._run(_statement(sql, (error, now_iso(), job_id))) == 1

    def release(self, job_id: str) -> bool:
        """Put ``job_id`` back to pending when it is running by this store's claim (one whose
        answer was lost: the job never ran); returns False otherwise."""
        sql = ("UPDATE plugwire_jobs SET status = 'pending', started_at = NULL, claimed_by = NULL "
               "WHERE id = %s AND status = 'running' AND claimed_by = %s")
        return self._run(_statement(sql, (job_id, self.worker_id))) == 1

    def interrupt_orphans(self, stale_seconds: float = 15.0) -> int:
        """Mark failed (interrupted) the running jobs of workers whose heartbeat is older than
        ``stale_seconds``; returns how many (for a periodic sweep)."""
        return self._run(_orphans_flow(self.worker_id, stale_seconds))

    # -- the outbox ---------------------------------------------------------------------------
    def mark_published(self, ids: list[str]) -> int:
        """Record that the jobs ``ids`` were handed to the broker now; returns how many exist."""
        return self._run(_statement("UPDATE plugwire_jobs SET published_at = now() WHERE id = ANY(%s)", (list(ids),)))

    def republish_due(self, older_than_seconds: float, limit: int) -> list[str]:
        """Return up to ``limit`` pending jobs published (or, never published, received)
        more than ``older_than_seconds`` ago, oldest first, marking them published now in the same
        statement (two sweeps at once never return the same job)."""
        rows = self._run(_statement(_REPUBLISH, (float(older_than_seconds), int(limit))))
        return [r["id"] for r in sorted(rows, key=lambda r: r["seq"])]

    # -- reading ------------------------------------------------------------------------------
    def get(self, job_id: str) -> dict[str, Any]:
        """:meth:`JobStore.get`: the job ``job_id``, or the one whose id starts with it."""
        rows = self._run(_statement("SELECT * FROM plugwire_jobs WHERE id = %s", (job_id,)))
        if not rows and job_id:
            # Not a range on the index: under the database's collation (not C) '_' may
            # sort apart. A person's lookup, after the exact match missed, reads the ids.
            found = self._run(_statement("SELECT id FROM plugwire_jobs WHERE starts_with(id, %s) ORDER BY id LIMIT 11", (job_id,)))
            rows = self._run(_statement("SELECT * FROM plugwire_jobs WHERE id = %s", (pick_job(job_id, [r["id"] for r in found]),)))
        if not rows:
            pick_job(job_id, [])  # raises: no job with that id
        return with_rerun(job_row(rows[0], full=True), rows[0]["dedupe"])

    def list(self, *, recipe: str | None = None, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Return the newest jobs first (without events and steps), at most ``limit``."""
        if status is not None and status not in JOB_STATUSES:
            raise UserInputError(f"Unknown job status {status!r}.", field="status", fix=f"use one of: {', '.join(JOB_STATUSES)}")
        filters = {column: value for column, value in (("recipe", recipe), ("status", status)) if value is not None}
        where = " AND ".join(f"{column} = %s" for column in filters)
        sql = f"SELECT {_SUMMARY} FROM plugwire_jobs {'WHERE ' + where if where else ''} ORDER BY seq DESC LIMIT %s"
        rows = self._run(_statement(sql, (*filters.values(), max(1, min(int(limit), 10_000)))))
        return [job_row(r, full=False) for r in rows]

    def counts(self, recipe: str | None = None) -> dict[str, int]:
        """Return the number of jobs by status (of one recipe, or all)."""
        sql = "SELECT status, count(*) AS n FROM plugwire_jobs" + (" WHERE recipe = %s" if recipe else "") + " GROUP BY status"
        return {r["status"]: r["n"] for r in self._run(_statement(sql, (recipe,) if recipe else ()))}
