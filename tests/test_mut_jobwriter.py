"""Survivors of the mutation run over core/storage/jobwriter.py (issue 17,
bench/README.md): when a batch's commit itself fails, nothing of the batch is
stored, every operation gets that error, and the writer's connection is left
ready for the next batch.

No test made a commit fail: removing the ``ROLLBACK``, or returning nothing (or
failing) in place of the errors, passed them all. Here SQLite itself refuses the
``COMMIT`` (an authorizer denies it when the statement is prepared), as a full disk
or an I/O error would make it fail.

Nor did any test look at how a batch is written: each kind of operation joined into
one statement (the writer's speed, bench/README.md), except inserts with a dedupe
key and a job claimed twice in one batch, which must run one by one. Joining
nothing, joining those too, or leaving an operation out of its join passed them all.
"""

from __future__ import annotations

import sqlite3

from plugwire.core.storage.jobs import JobStore
from plugwire.core.storage.jobwriter import Claim, Finish, Insert, Take, run_committed


def _writer_connection(store: JobStore) -> sqlite3.Connection:
    """A connection opened as the writer process opens its own."""
    conn = sqlite3.connect(store.path, isolation_level=None, timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


def _refuse_commit(action: int, arg1: str | None, *_: object) -> int:
    refused = action == sqlite3.SQLITE_TRANSACTION and arg1 == "COMMIT"
    return sqlite3.SQLITE_DENY if refused else sqlite3.SQLITE_OK


def _jobs(store: JobStore) -> list[str]:
    with sqlite3.connect(store.path) as reader:
        return [r[0] for r in reader.execute("SELECT id FROM jobs ORDER BY seq")]


def test_a_batch_whose_commit_fails_stores_nothing_and_every_op_gets_the_error(tmp_path):
    store = JobStore(tmp_path)
    ops = [Insert(f"job-{n}", None, "r", "2026-12-02T00:00:00+00:00", "{}") for n in range(3)]
    conn = _writer_connection(store)
    conn.set_authorizer(_refuse_commit)
    results = run_committed(conn, ops)
    assert len(results) == 3 and all(value is None for value, _ in results)
    errors = {id(error) for _, error in results}
    assert len(errors) == 1 and isinstance(results[0][1], sqlite3.Error) and "not authorized" in str(results[0][1])
    # Rolled back: this connection holds no open transaction and the rows are gone
    # for it too, not only for the other readers.
    assert not conn.in_transaction
    assert conn.execute("SELECT count(*) FROM jobs").fetchone()[0] == 0 and _jobs(store) == []
    # The next batch on the same connection commits.
    conn.set_authorizer(None)
    assert run_committed(conn, ops) == [((f"job-{n}", True), None) for n in range(3)]
    assert _jobs(store) == ["job-0", "job-1", "job-2"]
    conn.close()
    store.close()


def _insert(job_id: str, dedupe: str | None = None) -> Insert:
    return Insert(job_id, dedupe, "r", "2026-12-02T00:00:00+00:00", '{"n": 1}')


def _statements(conn: sqlite3.Connection, ops: list) -> tuple[list, list[str]]:
    """Run ``ops`` as one batch; return the results and the statements run between
    ``BEGIN`` and ``COMMIT``, by their first word."""
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    try:
        results = run_committed(conn, ops)
    finally:
        conn.set_trace_callback(None)
    assert seen[0] == "BEGIN IMMEDIATE" and seen[-1] == "COMMIT", seen
    return results, [s.split()[0].upper() for s in seen[1:-1]]


def test_each_kind_of_operation_in_a_batch_is_one_statement(tmp_path):
    """Two of a kind are joined (the smallest join): two inserts are one INSERT, two
    claims and two takes one SELECT and one UPDATE each, two finishes one UPDATE."""
    store = JobStore(tmp_path)
    conn = _writer_connection(store)
    results, run = _statements(conn, [_insert("j1"), _insert("j2")])
    assert results == [(("j1", True), None), (("j2", True), None)] and run == ["INSERT"]
    assert _statements(conn, [_insert("j3"), _insert("j4")])[1] == ["INSERT"]
    results, run = _statements(conn, [Claim("j1", "t1"), Claim("j2", "t1"), Take("j3", "t1"), Take("j4", "t1")])
    assert [r[0]["id"] for r in results[:2]] == ["j1", "j2"] and [r[0] for r in results[2:]] == [True, True]
    assert all(r[0]["status"] == "running" and r[0]["started_at"] == "t1" for r in results[:2])
    assert run == ["SELECT", "UPDATE", "SELECT", "UPDATE"]
    results, run = _statements(conn, [Finish("j1", "succeeded", "[]", None, "t2", 5.0),
                                      Finish("j2", "failed", "[]", "boom", "t2", 6.0)])
    assert results == [(None, None), (None, None)] and run == ["UPDATE"]
    rows = conn.execute("SELECT id, status, error FROM jobs ORDER BY seq").fetchall()
    assert [tuple(r) for r in rows] == [("j1", "succeeded", None), ("j2", "failed", "boom"),
                                        ("j3", "running", None), ("j4", "running", None)]
    conn.close()
    store.close()


def test_inserts_with_a_dedupe_key_and_a_job_claimed_twice_run_one_by_one(tmp_path):
    """The joined insert keeps no dedupe key, and a joined claim would hand one job to
    both claims of it: those are written one by one, so a repeated event is one job
    and a job claimed twice in a batch is won once."""
    store = JobStore(tmp_path)
    conn = _writer_connection(store)
    results = run_committed(conn, [_insert("j1", "evt-1"), _insert("j2", "evt-1"), _insert("j3", "evt-2")])
    assert [r[0] for r in results] == [("j1", True), ("j1", False), ("j3", True)]
    assert run_committed(conn, [_insert("j4", "evt-2"), _insert("j5", "evt-3")])[0][0] == ("j3", False)
    results = run_committed(conn, [Claim("j1", "t1"), Claim("j1", "t1"), Claim("j3", "t1")])
    won = [r[0]["id"] for r in results if r[0] is not None]
    assert sorted(won) == ["j1", "j3"] and results[1][0] is None
    conn.close()
    store.close()
