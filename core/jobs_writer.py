"""The job store's writes: batched into one transaction (and one fsync) per group,
with the batch's inserts, claims and finishes each joined into one statement.

:class:`Writer` is the thread :class:`plugwire.core.jobs.JobStore` hands its
asynchronous writes to; the operations (:class:`Insert`, :class:`Claim`,
:class:`Finish`) also run alone, for the synchronous calls.
"""

from __future__ import annotations

import json
import queue
import sqlite3
import threading
from typing import Any, Callable

__all__ = ["Claim", "Finish", "Insert", "Writer", "job_row"]


def job_row(r: sqlite3.Row, *, full: bool) -> dict[str, Any]:
    out = {k: r[k] for k in ("id", "recipe", "status", "received_at", "started_at", "finished_at", "duration_ms", "error")}
    if full:
        out["event"] = json.loads(r["event"])
        out["steps"] = json.loads(r["steps"])
    return out


class Writer(threading.Thread):
    """Runs write operations in batches, one transaction (and one fsync) per batch."""

    MAX_BATCH = 512

    def __init__(self, connect: Callable[[], sqlite3.Connection]):
        super().__init__(name="plugwire-job-writer", daemon=True)
        self._connect = connect
        self.queue: queue.SimpleQueue = queue.SimpleQueue()

    def run(self) -> None:
        conn = self._connect()
        while True:
            item = self.queue.get()
            if item is None:
                conn.close()
                return
            batch = [item]
            while len(batch) < self.MAX_BATCH:
                try:
                    nxt = self.queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self.queue.put(None)  # stop after this batch
                    break
                batch.append(nxt)
            try:
                conn.execute("BEGIN IMMEDIATE")
                results = _run_batch(conn, [op for op, _, _ in batch])
                conn.execute("COMMIT")
            except sqlite3.Error as exc:  # the commit itself failed: nothing in the batch is durable
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                results = [(None, exc)] * len(batch)
            by_loop: dict[Any, list] = {}
            for (op, fut, loop), res in zip(batch, results):
                by_loop.setdefault(loop, []).append((fut, res))
            for loop, items in by_loop.items():
                if loop is None:
                    for fut, res in items:
                        _settle(fut, res)
                else:
                    try:
                        loop.call_soon_threadsafe(_settle_all, items)
                    except RuntimeError:  # that loop has closed; nobody waits any more
                        pass


class Insert:
    """Storing one event as a pending job: an operation like the others, which the
    writer can also join with the batch's other inserts into one statement."""

    __slots__ = ("job_id", "dedupe", "recipe", "received_at", "text")

    def __init__(self, job_id: str, dedupe: str | None, recipe: str, received_at: str, text: str):
        self.job_id, self.dedupe, self.recipe, self.received_at, self.text = job_id, dedupe, recipe, received_at, text

    def __call__(self, conn: sqlite3.Connection) -> tuple[str, bool]:
        cur = conn.execute(
            "INSERT OR IGNORE INTO jobs (id, dedupe, recipe, status, received_at, event) VALUES (?, ?, ?, 'pending', ?, ?)",
            (self.job_id, self.dedupe, self.recipe, self.received_at, self.text),
        )
        if cur.rowcount == 1:
            return self.job_id, True
        row = conn.execute("SELECT id FROM jobs WHERE dedupe = ?", (self.dedupe,)).fetchone()
        return row["id"], False


class Claim:
    """Taking one pending job for running (``pending`` -> ``running``); returns the job or None."""

    __slots__ = ("job_id", "started_at")

    def __init__(self, job_id: str, started_at: str):
        self.job_id, self.started_at = job_id, started_at

    def __call__(self, conn: sqlite3.Connection) -> dict[str, Any] | None:
        row = conn.execute(
            "UPDATE jobs SET status = 'running', started_at = ? WHERE id = ? AND status = 'pending' RETURNING *",
            (self.started_at, self.job_id),
        ).fetchone()
        return job_row(row, full=True) if row is not None else None


class Finish:
    """Recording how one job ended."""

    __slots__ = ("job_id", "status", "steps_json", "error", "finished_at", "duration_ms")

    def __init__(self, job_id: str, status: str, steps_json: str, error: str | None, finished_at: str, duration_ms: float):
        self.job_id, self.status, self.steps_json = job_id, status, steps_json
        self.error, self.finished_at, self.duration_ms = error, finished_at, duration_ms

    def __call__(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            "UPDATE jobs SET status = ?, steps = ?, error = ?, finished_at = ?, duration_ms = ? WHERE id = ?",
            (self.status, self.steps_json, self.error, self.finished_at, self.duration_ms, self.job_id),
        )


#: Rows per joined statement (at most 6 parameters each, far below SQLite's limit).
_ROWS_PER_STATEMENT = 128


def _chunks(items: list[int]) -> list[list[int]]:
    return [items[i : i + _ROWS_PER_STATEMENT] for i in range(0, len(items), _ROWS_PER_STATEMENT)]


def _rows(count: int, width: int) -> str:
    return ",".join(["(" + ",".join("?" * width) + ")"] * count)


def _insert_many(conn: sqlite3.Connection, ops: list, chunk: list[int], results: list) -> None:
    values = [v for n in chunk for v in (ops[n].job_id, ops[n].recipe, ops[n].received_at, ops[n].text)]
    conn.execute("INSERT INTO jobs (id, recipe, status, received_at, event) SELECT column1, column2, 'pending', column3, column4 "
                 f"FROM (VALUES {_rows(len(chunk), 4)})", values)
    for n in chunk:
        results[n] = ((ops[n].job_id, True), None)


def _claim_many(conn: sqlite3.Connection, ops: list, chunk: list[int], results: list) -> None:
    ids = [ops[n].job_id for n in chunk]
    marks = ",".join("?" * len(ids))
    # The pending ones among them, all in one row (one statement step, see _run_batch).
    (found,) = conn.execute(
        "SELECT json_group_array(json_array(id, recipe, received_at, finished_at, duration_ms, error, event, steps)) "
        f"FROM jobs WHERE status = 'pending' AND id IN ({marks})", ids,
    ).fetchone()
    # Parsed before anything changes: a job whose event does not parse is claimed alone.
    jobs = {r[0]: {"id": r[0], "recipe": r[1], "status": "running", "received_at": r[2], "started_at": None, "finished_at": r[3],
                   "duration_ms": r[4], "error": r[5], "event": json.loads(r[6]), "steps": json.loads(r[7])} for r in json.loads(found)}
    values = [v for n in chunk if ops[n].job_id in jobs for v in (ops[n].job_id, ops[n].started_at)]
    if values:
        conn.execute(f"UPDATE jobs SET status = 'running', started_at = v.column2 FROM (VALUES {_rows(len(values) // 2, 2)}) AS v "
                     "WHERE jobs.id = v.column1 AND jobs.status = 'pending'", values)
    for n in chunk:
        job = jobs.get(ops[n].job_id)
        if job is not None:
            job["started_at"] = ops[n].started_at
        results[n] = (job, None)


def _finish_many(conn: sqlite3.Connection, ops: list, chunk: list[int], results: list) -> None:
    values = [v for n in chunk for v in (ops[n].job_id, ops[n].status, ops[n].steps_json, ops[n].error, ops[n].finished_at, ops[n].duration_ms)]
    conn.execute("UPDATE jobs SET status = v.column2, steps = v.column3, error = v.column4, finished_at = v.column5, "
                 f"duration_ms = v.column6 FROM (VALUES {_rows(len(chunk), 6)}) AS v WHERE jobs.id = v.column1", values)
    for n in chunk:
        results[n] = (None, None)


def _run_batch(conn: sqlite3.Connection, ops: list[Callable[[sqlite3.Connection], Any]]) -> list[tuple[Any, BaseException | None]]:
    """Run ``ops`` in the open transaction; returns ``(result, error)`` per op, in order.

    Inserts (without a dedupe key), claims and finishes of the batch are each joined
    into one statement per kind. Why it matters: the writer thread gives the GIL up
    for every statement step and, while the event loop is busy, waits up to the
    interpreter's switch interval to get it back; a statement per event made a
    batch of 30 inserts take ~8 ms instead of ~0.5 ms, most of a webhook's wait.
    Ops of one batch never depend on each other (a job is claimed only after its
    insert is committed, finished only after its claim), except a job claimed twice,
    which is left to the one-by-one path. A joined statement that fails changes
    nothing, and its ops are retried one by one, so each gets its own error.
    """
    results: list[tuple[Any, BaseException | None] | None] = [None] * len(ops)
    kinds: dict[Any, list[int]] = {_insert_many: [], _claim_many: [], _finish_many: []}
    seen: set[str] = set()
    for n, op in enumerate(ops):
        if isinstance(op, Insert) and op.dedupe is None:
            kinds[_insert_many].append(n)
        elif isinstance(op, (Claim, Finish)) and (type(op), op.job_id) not in seen:
            seen.add((type(op), op.job_id))  # type: ignore[arg-type]
            kinds[_claim_many if isinstance(op, Claim) else _finish_many].append(n)
    for joined, members in kinds.items():
        if len(members) < 2:
            continue
        for chunk in _chunks(members):
            try:
                joined(conn, ops, chunk, results)
            except (sqlite3.Error, ValueError):
                for n in chunk:
                    results[n] = None
    for n, op in enumerate(ops):
        if results[n] is None:
            try:
                results[n] = (op(conn), None)
            except sqlite3.Error as exc:
                results[n] = (None, exc)
    return results  # type: ignore[return-value]


def _settle(fut: Any, res: tuple[Any, BaseException | None]) -> None:
    if fut.done():
        return
    value, exc = res
    if exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(value)


def _settle_all(items: list) -> None:
    for fut, res in items:
        _settle(fut, res)
