"""The job store: durable pending jobs, one claim per job, recovery, and indexed reads."""

import asyncio
import json
import sqlite3

import pytest

from plugwire.core.base.errors import NotFoundError, UserInputError
from plugwire.core.storage.jobs import INTERRUPTED, JobStore


@pytest.fixture
def store(tmp_path):
    s = JobStore(tmp_path)
    yield s
    s.close()


def test_add_claim_finish_and_read_back(store, tmp_path):
    job_id, created = store.add("r1", {"payload": {"a": 1}})
    assert created and store.get(job_id)["status"] == "pending"
    job = store.claim(job_id)
    assert job["status"] == "running" and job["event"] == {"payload": {"a": 1}, "event_id": job_id}
    assert store.claim(job_id) is None  # the second claim loses
    store.finish(job_id, "succeeded", json.dumps([{"name": "s", "status": "succeeded"}]), error=None, duration_ms=1.5)
    reopened = JobStore(tmp_path)  # what was committed is in the file
    got = reopened.get(job_id)
    reopened.close()
    assert got["status"] == "succeeded" and got["steps"] == [{"name": "s", "status": "succeeded"}]


def test_a_redelivered_event_adds_nothing(store):
    first = store.add("r1", {"n": 1}, dedupe="r1:msg_1")
    second = store.add("r1", {"n": 2}, dedupe="r1:msg_1")
    assert first[1] is True and second == (first[0], False)
    assert store.get(first[0])["event"]["n"] == 1


def test_recover_fails_interrupted_jobs_and_returns_pending_ones(store):
    running, _ = store.add("r", {})
    store.claim(running)
    pending = [store.add("r", {"n": n})[0] for n in range(3)]
    assert store.recover() == pending
    job = store.get(running)
    assert job["status"] == "failed" and job["error"] == INTERRUPTED


def test_concurrent_async_adds_share_commits_and_each_claim_wins_once(store):
    async def main():
        added = await asyncio.gather(*(store.aadd("r", {"n": n}) for n in range(300)))
        ids = [job_id for job_id, created in added]
        claims = await asyncio.gather(*(store.aclaim(i) for i in ids + ids))
        return ids, claims

    ids, claims = asyncio.run(main())
    assert len(set(ids)) == 300
    assert sum(c is not None for c in claims) == 300
    assert store.counts() == {"running": 300}


def test_joined_batches_give_what_one_by_one_writes_give(store, tmp_path):
    """Inserts, claims and finishes that meet in one batch are joined into one
    statement per kind; the results must be those of the single-row writes."""
    other = JobStore(tmp_path / "one-by-one")

    async def burst(s: JobStore):
        added = await asyncio.gather(*(s.aadd("r", {"n": n, "text": "é\"x"}, job_id=f"j_{n:03d}") for n in range(40)))
        ids = [job_id for job_id, _ in added]
        claims = await asyncio.gather(*(s.aclaim(i) for i in ids + ids[:5]))
        await asyncio.gather(*(s.afinish(i, "succeeded" if n % 2 else "failed", json.dumps([{"n": n}]),
                                          error=None if n % 2 else f"boom {n}", duration_ms=n + 0.25) for n, i in enumerate(ids)))
        return added, claims

    joined = asyncio.run(burst(store))
    single = []
    for n in range(40):
        single.append(other.add("r", {"n": n, "text": "é\"x"}, job_id=f"j_{n:03d}"))
    claims = [other.claim(f"j_{n:03d}") for n in range(40)] + [other.claim(f"j_{n:03d}") for n in range(5)]
    for n in range(40):
        other.finish(f"j_{n:03d}", "succeeded" if n % 2 else "failed", json.dumps([{"n": n}]),
                     error=None if n % 2 else f"boom {n}", duration_ms=n + 0.25)

    def same(a, b):  # the times differ by when each ran
        return a is None and b is None or {**a, "received_at": 0, "started_at": 0} == {**b, "received_at": 0, "started_at": 0}

    assert joined[0] == single
    assert all(same(a, b) for a, b in zip(joined[1], claims)) and sum(c is None for c in joined[1]) == 5
    for n in range(40):
        a, b = store.get(f"j_{n:03d}"), other.get(f"j_{n:03d}")
        assert {**a, "received_at": 0, "started_at": 0, "finished_at": 0} == {**b, "received_at": 0, "started_at": 0, "finished_at": 0}
    other.close()


def test_a_claim_returns_the_job_as_stored_whoever_inserted_it(store, tmp_path):
    """A store claims the jobs it inserted without reading them back, and reads
    back those another process inserted; both give the stored job, batched or not."""
    mine = [store.add("r", {"n": n, "t": ["é", {"x": None}]})[0] for n in range(6)]
    elsewhere = JobStore(tmp_path)  # another process: it holds none of them
    try:
        async def claims(s, ids):
            return await asyncio.gather(*(s.aclaim(i) for i in ids))

        got = asyncio.run(claims(store, mine[:3])) + [store.claim(mine[3])]
        got += asyncio.run(claims(elsewhere, mine[4:])) + [elsewhere.claim(mine[4])]
    finally:
        elsewhere.close()
    assert got[-1] is None  # claimed just before, in the batch
    for job in got[:-1]:
        assert job == store.get(job["id"]) and job["status"] == "running" and job["event"]["t"] == ["é", {"x": None}]


def test_list_is_newest_first_and_filters(store):
    ids = [store.add("a" if n % 2 else "b", {"n": n})[0] for n in range(6)]
    assert [j["id"] for j in store.list(limit=3)] == ids[::-1][:3]
    assert {j["recipe"] for j in store.list(recipe="a")} == {"a"}
    assert len(store.list(status="pending")) == 6
    with pytest.raises(UserInputError):
        store.list(status="bogus")
    with pytest.raises(NotFoundError):
        store.get("j_nope")


def test_reads_and_the_pending_scan_use_indexes_not_a_scan_of_the_history(store):
    # The history must not slow down as it grows: every query the server makes
    # per event or per page is answered from an index.
    conn = sqlite3.connect(store.path)
    plans = {
        "recipe": "SELECT id FROM jobs WHERE recipe = 'x' ORDER BY seq DESC LIMIT 50",
        "pending": "SELECT id FROM jobs WHERE status = 'pending' ORDER BY seq",
        "claim": "UPDATE jobs SET status = 'running' WHERE id = 'x' AND status = 'pending'",
        "dedupe": "SELECT id FROM jobs WHERE dedupe = 'x'",
        "get": "SELECT * FROM jobs WHERE id = 'x'",
    }
    for name, sql in plans.items():
        detail = " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql))
        assert detail.startswith("SEARCH jobs USING") and "TEMP B-TREE" not in detail, (name, detail)
    # The newest page walks the primary key backwards and stops: no sort of the whole table.
    page = " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN SELECT id FROM jobs ORDER BY seq DESC LIMIT 50"))
    assert page == "SCAN jobs", page
    conn.close()


def test_the_store_is_durable_by_default_and_private(store):
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    assert store._open().execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert oct(store.path.stat().st_mode & 0o777) == "0o600"
    with pytest.raises(UserInputError):
        JobStore(store.path.parent, synchronous="OFF")


def test_a_fresh_job_is_taken_once_even_when_claims_and_takes_meet_in_one_batch(store):
    """A job this process just stored is taken without reading it back; a take and a
    claim of the same job in one batch still let exactly one of them win."""

    async def main():
        fresh = [job for job, created in await asyncio.gather(*(store.aadd_fresh("r", {"n": n, "t": "é\"x"}) for n in range(40)))]
        ids = [job.id for job in fresh]
        results = await asyncio.gather(*(store.atake(i) for i in ids), *(store.aclaim(i) for i in ids[:10]),
                                                 *(store.atake(i) for i in ids[10:20]))
        return fresh, results

    fresh, results = asyncio.run(main())
    ids = [job.id for job in fresh]
    takes, claims, again = results[:40], results[40:50], results[50:]
    winners = {i: [] for i in ids}
    for i, won in zip(ids, takes):
        if won:
            winners[i].append("take")
    for i, job in zip(ids[:10], claims):
        if job is not None:
            winners[i].append("claim")
    for i, won in zip(ids[10:20], again):
        if won:
            winners[i].append("take again")
    assert all(len(w) == 1 for w in winners.values()), winners
    assert store.counts() == {"running": 40}
    for job in fresh:  # the handed-over event is the stored one
        assert job.event() == store.get(job.id)["event"] and job.event()["event_id"] == job.id
    assert store.take(ids[0]) is False  # not pending any more


def test_joined_statements_find_their_jobs_by_id_and_reuse_a_few_statement_texts(store):
    """Every statement a batch runs reads jobs through the id index (not through the
    status index, which would read the whole pending backlog), and batches of any
    size share a few statement texts (a new text costs a prepare)."""
    from plugwire.core.base.clock import now_iso
    from plugwire.core.storage.jobwriter import Take, run_committed

    seen: list[tuple[str, tuple]] = []

    class Recorded:
        def __init__(self, conn):
            self._conn = conn

        def execute(self, sql, params=()):
            seen.append((sql, tuple(params)))
            return self._conn.execute(sql, params)

    conn = Recorded(store._open())
    sizes = (*range(1, 41), 64, 65, 130)  # one statement text per batch size would give dozens
    for size in sizes:
        inserts = [store._insert_args("r", {"n": n}, None, None) for n in range(size)]
        assert all(error is None for _, error in run_committed(conn, inserts))
        ids = [op.job_id for op in inserts]
        taken = run_committed(conn, [Take(i, now_iso()) for i in ids[: size // 2]]
                              + [store._claim_op(i, now_iso()) for i in ids[size // 2:]])
        assert all(error is None and value for value, error in taken)
        run_committed(conn, [store._finish_op(i, "succeeded", "[]", None, now_iso(), 1) for i in ids])
    assert store.counts() == {"succeeded": sum(sizes)}
    texts = {sql for sql, _ in seen if sql not in ("BEGIN IMMEDIATE", "COMMIT")}
    # Five joined statements in four shapes each, and the four one-row statements.
    assert len(texts) <= 24, sorted(t[:60] for t in texts)
    plain = sqlite3.connect(store.path)
    for sql, params in {(sql, params) for sql, params in seen if sql in texts}:
        plan = " | ".join(row[3] for row in plain.execute("EXPLAIN QUERY PLAN " + sql, params))
        assert "jobs_by_status" not in plan, (sql[:80], plan)
    plain.close()


def test_a_writer_process_that_dies_fails_its_writes_and_the_next_write_starts_another(store):
    """Writes the writer process did not commit fail with a StorageError (a webhook is
    then not acknowledged); nothing committed is lost, and writing goes on."""
    from plugwire.core.base.errors import StorageError

    async def main():
        first, _ = await store.aadd("r", {"n": 1})
        writer = next(iter(store._writers.values()))
        writer.proc.kill()
        writer.proc.wait()
        with pytest.raises(StorageError, match="not stored"):
            await store.aadd("r", {"n": 2})
        second, _ = await store.aadd("r", {"n": 3})
        assert next(iter(store._writers.values())) is not writer
        return first, second

    first, second = asyncio.run(main())
    assert store.get(first)["event"]["n"] == 1 and store.get(second)["event"]["n"] == 3
    assert store.counts() == {"pending": 2}


def test_closing_the_store_stops_its_writer_processes_after_their_batch(store):
    async def main():
        added = await asyncio.gather(*(store.aadd("r", {"n": n}) for n in range(50)))
        return [job_id for job_id, _ in added], list(store._writers.values())

    ids, writers = asyncio.run(main())
    store.close()
    assert writers and all(w.proc.poll() is not None for w in writers)
    assert store.counts() == {"pending": 50} and store.get(ids[-1])["status"] == "pending"
