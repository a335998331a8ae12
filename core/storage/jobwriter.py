"""The job store's writes: batched into one transaction (and one fsync) per group,
with the batch's inserts, claims, takes and finishes each joined into one statement.

:func:`run_committed` is what the writer process (:mod:`plugwire.core.storage.jobprocess`)
does with each batch; the operations (:class:`Insert`, :class:`Claim`,
:class:`Take`, :class:`Finish`) also run alone, for the synchronous calls.
"""

from __future__ import annotations

import functools
import sqlite3
from typing import Any, Callable

from plugwire.core.base.jsontext import loads_json

__all__ = ["Claim", "Finish", "Insert", "Take", "job_row", "run_committed"]


def job_row(r: sqlite3.Row, *, full: bool) -> dict[str, Any]:
    out = {k: r[k] for k in ("id", "recipe", "status", "received_at", "started_at", "finished_at", "duration_ms", "error")}
    if full:
        out["event"] = loads_json(r["event"])
        out["steps"] = loads_json(r["steps"])
    return out


def run_committed(conn: sqlite3.Connection, ops: list) -> list[tuple[Any, BaseException | None]]:
    """Run ``ops`` in one transaction (one fsync); returns ``(result, error)`` per op, in
    order. When the commit itself fails nothing in the batch is durable, and every op
    gets that error."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        results = _run_batch(conn, ops)
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        return [(None, exc)] * len(ops)
    return results


class Insert:
    """Storing one event as a pending job: an operation like the others, which the
    writer can also join with the batch's other inserts into one statement."""

    what = "job"  # in the error when the write is lost
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

    what = "job's claim"  # in the error when the write is lost
    __slots__ = ("job_id", "started_at")

    def __init__(self, job_id: str, started_at: str):
        self.job_id, self.started_at = job_id, started_at

    def __call__(self, conn: sqlite3.Connection) -> dict[str, Any] | None:
        row = conn.execute(
            "UPDATE jobs SET status = 'running', started_at = ? WHERE id = ? AND status = 'pending' RETURNING *",
            (self.started_at, self.job_id),
        ).fetchone()
        return job_row(row, full=True) if row is not None else None


class Take:
    """Taking one pending job whose event the caller already holds (``pending`` ->
    ``running``, nothing read back); returns True when this take won."""

    what = "job's start"  # in the error when the write is lost
    __slots__ = ("job_id", "started_at")

    def __init__(self, job_id: str, started_at: str):
        self.job_id, self.started_at = job_id, started_at

    def __call__(self, conn: sqlite3.Connection) -> bool:
        cur = conn.execute("UPDATE jobs SET status = 'running', started_at = ? WHERE id = ? AND status = 'pending'",
                           (self.started_at, self.job_id))
        return cur.rowcount == 1


class Finish:
    """Recording how one job ended."""

    what = "job's outcome"  # in the error when the write is lost
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
#: The row counts joined statements are written for: a batch's rows are padded with
#: NULL rows (which match and insert nothing) up to the next of these, so that only a
#: dozen statement texts exist and each stays in the connection's statement cache.
#: Preparing a new text costs a second release and re-take of the interpreter lock,
#: and while the event loop is busy each re-take waits up to the switch interval.
_SHAPES = (4, 16, 64, _ROWS_PER_STATEMENT)


def _chunks(items: list[int]) -> list[list[int]]:
    return [items[i : i + _ROWS_PER_STATEMENT] for i in range(0, len(items), _ROWS_PER_STATEMENT)]


def _shape(count: int) -> int:
    return next(size for size in _SHAPES if size >= count)


@functools.lru_cache(maxsize=64)
def _rows(count: int, width: int) -> str:
    return ",".join(["(" + ",".join("?" * width) + ")"] * count)


def _padded(values: list, count: int, width: int) -> tuple[list, int]:
    """Return ``values`` (``count`` rows of ``width``) padded with NULL rows to a cached shape, and that shape."""
    size = _shape(count)
    return values + [None] * ((size - count) * width), size


@functools.lru_cache(maxsize=8)
def _marks(count: int) -> str:
    return ",".join("?" * count)


def _insert_many(conn: sqlite3.Connection, ops: list, chunk: list[int], results: list) -> None:
    values, size = _padded([v for n in chunk for v in (ops[n].job_id, ops[n].recipe, ops[n].received_at, ops[n].text)], len(chunk), 4)
    conn.execute("INSERT INTO jobs (id, recipe, status, received_at, event) SELECT column1, column2, 'pending', column3, column4 "
                 f"FROM (VALUES {_rows(size, 4)}) WHERE column1 IS NOT NULL", values)
    for n in chunk:
        results[n] = ((ops[n].job_id, True), None)


def _claim_many(conn: sqlite3.Connection, ops: list, chunk: list[int], results: list) -> None:
    ids, size = _padded([ops[n].job_id for n in chunk], len(chunk), 1)
    # The pending ones among them, all in one row (one statement step, see _run_batch).
    (found,) = conn.execute(
        "SELECT json_group_array(json_array(id, recipe, received_at, finished_at, duration_ms, error, event, steps)) "
        f"FROM jobs WHERE +status = 'pending' AND id IN ({_marks(size)})", ids,
    ).fetchone()
    # Parsed before anything changes: a job whose event does not parse is claimed alone.
    jobs = {r[0]: {"id": r[0], "recipe": r[1], "status": "running", "received_at": r[2], "started_at": None, "finished_at": r[3],
                   "duration_ms": r[4], "error": r[5], "event": loads_json(r[6]), "steps": loads_json(r[7])} for r in loads_json(found)}
    values = [v for n in chunk if ops[n].job_id in jobs for v in (ops[n].job_id, ops[n].started_at)]
    if values:
        _set_running(conn, values)
    for n in chunk:
        job = jobs.get(ops[n].job_id)
        if job is not None:
            job["started_at"] = ops[n].started_at
        results[n] = (job, None)


def _set_running(conn: sqlite3.Connection, values: list) -> None:
    """Mark pending jobs running: ``values`` is ``[id, started_at, id, started_at, ...]``."""
    values, size = _padded(values, len(values) // 2, 2)
    conn.execute(f"UPDATE jobs SET status = 'running', started_at = v.column2 FROM (VALUES {_rows(size, 2)}) AS v "
                 "WHERE jobs.id = v.column1 AND jobs.status = 'pending'", values)


def _take_many(conn: sqlite3.Connection, ops: list, chunk: list[int], results: list) -> None:
    ids, size = _padded([ops[n].job_id for n in chunk], len(chunk), 1)
    # Which are pending, in one row: RETURNING would hand back a row per job, each
    # row a statement step (and a re-take of the interpreter lock). ``+status`` keeps
    # SQLite on the id index: through the status index it would read every pending
    # job, and a backlog of them would slow every take down.
    (found,) = conn.execute(f"SELECT json_group_array(id) FROM jobs WHERE +status = 'pending' AND id IN ({_marks(size)})", ids).fetchone()
    pending = set(loads_json(found))
    values = [v for n in chunk if ops[n].job_id in pending for v in (ops[n].job_id, ops[n].started_at)]
    if values:
        _set_running(conn, values)
    for n in chunk:
        results[n] = (ops[n].job_id in pending, None)


def _finish_many(conn: sqlite3.Connection, ops: list, chunk: list[int], results: list) -> None:
    values = [v for n in chunk for v in (ops[n].job_id, ops[n].status, ops[n].steps_json, ops[n].error, ops[n].finished_at, ops[n].duration_ms)]
    values, size = _padded(values, len(chunk), 6)
    conn.execute("UPDATE jobs SET status = v.column2, steps = v.column3, error = v.column4, finished_at = v.column5, "
                 f"duration_ms = v.column6 FROM (VALUES {_rows(size, 6)}) AS v WHERE jobs.id = v.column1", values)
    for n in chunk:
        results[n] = (None, None)


def _run_batch(conn: sqlite3.Connection, ops: list[Callable[[sqlite3.Connection], Any]]) -> list[tuple[Any, BaseException | None]]:
    """Run ``ops`` in the open transaction; returns ``(result, error)`` per op, in order.

    Inserts (without a dedupe key), claims, takes and finishes of the batch are each joined
    into one statement per kind: a statement per event made a batch of 30 inserts
    take ~8 ms instead of ~0.5 ms (measured when the writer was a thread, which gave
    the interpreter lock up for every statement step).
    Ops of one batch never depend on each other (a job is claimed only after its
    insert is committed, finished only after its claim), except a job claimed twice,
    which is left to the one-by-one path. A joined statement that fails changes
    nothing, and its ops are retried one by one, so each gets its own error.
    """
    results: list[tuple[Any, BaseException | None] | None] = [None] * len(ops)
    joins = {Claim: _claim_many, Take: _take_many, Finish: _finish_many}
    kinds: dict[Any, list[int]] = {_insert_many: [], _claim_many: [], _take_many: [], _finish_many: []}
    seen: set[tuple[type, str]] = set()
    for n, op in enumerate(ops):
        if isinstance(op, Insert) and op.dedupe is None:
            kinds[_insert_many].append(n)
        elif type(op) in joins and (type(op), op.job_id) not in seen:
            seen.add((type(op), op.job_id))
            kinds[joins[type(op)]].append(n)
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
