"""Survivors of the mutation run over core/storage/jobwriter.py (issue 17,
bench/README.md): when a batch's commit itself fails, nothing of the batch is
stored, every operation gets that error, and the writer's connection is left
ready for the next batch.

No test made a commit fail: removing the ``ROLLBACK``, or returning nothing (or
failing) in place of the errors, passed them all. Here SQLite itself refuses the
``COMMIT`` (an authorizer denies it when the statement is prepared), as a full disk
or an I/O error would make it fail.
"""

from __future__ import annotations

import sqlite3

from plugwire.core.storage.jobs import JobStore
from plugwire.core.storage.jobwriter import Insert, run_committed


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
