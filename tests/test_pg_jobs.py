"""The job history in PostgreSQL, against the local server: the same answers as the
SQLite job store (a contract run on both, and test_jobs.py's tests that need only a
store, run here on PostgreSQL), and what several processes sharing the database
need: group-committed intake that answers only after the commit (or fails every
caller of the batch), claims by a named worker, heartbeats that keep live workers'
jobs from being marked interrupted, the outbox, and statements that use indexes."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import psycopg
import psycopg.sql
import pytest

from pgutil import make_pg_database, pg_url  # noqa: F401  (the fixture)
from plugwire.core.base.errors import StorageError
from plugwire.core.storage.jobs import INTERRUPTED, JobStore
from plugwire.core.storage.pgjobs import PgJobStore
from test_jobs import (  # noqa: F401  (test_jobs.py's tests that take only a store, run here on PostgreSQL)
    test_a_fresh_job_is_taken_once_even_when_claims_and_takes_meet_in_one_batch,
    test_a_redelivered_event_adds_nothing,
    test_concurrent_async_adds_share_commits_and_each_claim_wins_once,
    test_list_is_newest_first_and_filters,
)


@dataclass
class Backend:
    """One job store backend: ``open()`` makes a store (all closed after the test);
    ``stale`` is what ``recover`` needs to treat another store's claims as dead."""

    name: str
    opener: Callable[[], Any]
    stale: dict = field(default_factory=dict)
    opened: list = field(default_factory=list)

    def open(self) -> Any:
        store = self.opener()
        self.opened.append(store)
        return store


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, tmp_path):
    if request.param == "sqlite":
        b = Backend("sqlite", lambda: JobStore(tmp_path / "jobs"))
    else:
        url = request.getfixturevalue("pg_url")
        b = Backend("postgresql", lambda: PgJobStore(url), {"stale_seconds": 0})
    yield b
    for opened in b.opened:
        opened.close()


@pytest.fixture
def jobs(backend):
    """A job store of either backend (the contract's tests)."""
    return backend.open()


@pytest.fixture
def pg(pg_url):  # noqa: F811
    s = PgJobStore(pg_url)
    yield s
    s.close()


@pytest.fixture
def store(pg):
    """What the tests imported from test_jobs.py run on here: the PostgreSQL store."""
    return pg


def same(a, b):  # two runs differ only by the clock
    times = {"received_at": 0, "started_at": 0, "finished_at": 0}
    return a is None and b is None or {**a, **times} == {**b, **times}


# -- the contract: both backends ------------------------------------------------------------
def test_what_one_store_commits_another_reads_and_claims(backend, jobs):
    other = backend.open()
    job_id, created = jobs.add("r1", {"payload": {"a": 1}})
    claimed = other.claim(job_id)
    assert created and claimed == jobs.get(job_id) and claimed["event"] == {"payload": {"a": 1}, "event_id": job_id}
    assert jobs.claim(job_id) is None and other.claim(job_id) is None
    jobs.finish(job_id, "succeeded", json.dumps([{"name": "s"}]), error=None, duration_ms=1.23456)
    got = other.get(job_id)
    assert (got["status"], got["steps"], got["duration_ms"]) == ("succeeded", [{"name": "s"}], 1.235)
    assert set(got) == set(claimed) and set(other.list()[0]) == set(got) - {"event", "steps"}


def test_recover_fails_a_dead_stores_running_jobs_and_returns_pending_ones(backend, jobs):
    crashed = backend.open()
    running, _ = crashed.add("r", {})
    crashed.claim(running)
    crashed.close()  # as good as dead: it will never finish the job
    pending = [jobs.add("r", {"n": n})[0] for n in range(3)]
    assert jobs.recover(**backend.stale) == pending
    job = jobs.get(running)
    assert job["status"] == "failed" and job["error"] == INTERRUPTED


def test_concurrent_writes_store_what_each_caller_was_told(backend, jobs):
    async def burst(s):
        added = await asyncio.gather(*(s.aadd("r", {"n": n, "text": "é\"x"}, job_id=f"j_{n:03d}") for n in range(40)),
                                     s.aadd("r", {"n": "again"}, dedupe="d", job_id="j_d1"),
                                     s.aadd("r", {"n": "again"}, dedupe="d", job_id="j_d2"))
        ids = [job_id for job_id, _ in added[:40]]
        claims = await asyncio.gather(*(s.aclaim(i) for i in ids + ids[:5]))
        await asyncio.gather(*(s.afinish(i, "succeeded" if n % 2 else "failed", json.dumps([{"n": n}]),
                                          error=None if n % 2 else f"boom {n}", duration_ms=n + 0.25) for n, i in enumerate(ids)))
        return added, claims

    added, claims = asyncio.run(burst(jobs))
    assert added[:40] == [(f"j_{n:03d}", True) for n in range(40)] and added[40:] == [("j_d1", True), ("j_d1", False)]
    assert sum(c is None for c in claims) == 5
    other = backend.open()
    for n in range(40):
        assert same(jobs.get(f"j_{n:03d}"), {**claims[n], "status": "succeeded" if n % 2 else "failed",
                                               "steps": [{"n": n}], "error": None if n % 2 else f"boom {n}",
                                               "duration_ms": n + 0.25})
        assert jobs.get(f"j_{n:03d}") == other.get(f"j_{n:03d}")


def test_a_claim_returns_the_job_as_stored_whoever_inserted_it(backend, jobs):
    mine = [jobs.add("r", {"n": n, "t": ["é", {"x": None}], "big": 2**70})[0] for n in range(6)]
    elsewhere = backend.open()

    async def claims(s, ids):
        return await asyncio.gather(*(s.aclaim(i) for i in ids))

    got = asyncio.run(claims(jobs, mine[:3])) + [jobs.claim(mine[3])]
    got += asyncio.run(claims(elsewhere, mine[4:])) + [elsewhere.claim(mine[4])]
    assert got[-1] is None  # claimed just before
    for job in got[:-1]:
        assert job == jobs.get(job["id"]) and job["status"] == "running" and job["event"]["big"] == 2**70


def test_an_answered_job_is_committed_for_every_other_reader(backend, jobs):
    other = backend.open()

    async def main():
        fresh, created = await jobs.aadd_fresh("r", {"first": True})
        seen = other.get(fresh.id)  # the caller was answered: any other connection sees the job
        burst = await asyncio.gather(*(jobs.aadd_fresh("r", {"n": n}) for n in range(20)))
        return created, seen, [other.get(job.id)["event"] == job.event() for job, _ in burst]

    created, seen, found = asyncio.run(main())
    assert created and seen["status"] == "pending" and seen["event"]["first"] is True and all(found)


def test_a_closed_store_opens_again_when_used(jobs):
    async def main():
        return await jobs.aadd("r", {"n": 1})

    job_id, _ = asyncio.run(main())
    jobs.close()
    assert jobs.get(job_id)["status"] == "pending"
    assert asyncio.run(main())[1] is True
    jobs.close()


# -- PostgreSQL: many processes, one database ------------------------------------------------
def test_concurrent_adds_share_transactions_and_the_commit_comes_before_the_answer(pg, pg_url):  # noqa: F811
    async def main():
        await pg.astart()
        return await asyncio.gather(*(pg.aadd_fresh("r", {"n": n}, dedupe=f"m{n % 250}") for n in range(300)))

    added = asyncio.run(main())
    assert sum(created for _, created in added) == 250
    assert [job.id for job, _ in added[250:]] == [job.id for job, _ in added[:50]]  # re-deliveries get the first job
    with psycopg.connect(pg_url) as conn:
        (transactions,) = conn.execute("SELECT count(DISTINCT xmin::text) FROM plugwire_jobs").fetchone()
    assert transactions <= 5, transactions  # group commit: a few multi-row inserts, not 250


def test_a_batch_the_database_refuses_fails_every_caller_and_stores_nothing(pg, pg_url):  # noqa: F811
    async def burst(n):
        return await asyncio.gather(*(pg.aadd_fresh("r", {"n": i}) for i in range(n)), return_exceptions=True)

    assert all(isinstance(r, tuple) for r in asyncio.run(burst(5)))
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE plugwire_jobs RENAME TO plugwire_jobs_away")
        try:
            failed = asyncio.run(burst(20))
        finally:
            conn.execute("ALTER TABLE plugwire_jobs_away RENAME TO plugwire_jobs")
    assert len(failed) == 20 and all(isinstance(r, StorageError) for r in failed), failed
    assert failed[0].field == "PLUGWIRE_DATABASE_URL"
    assert all(isinstance(r, tuple) for r in asyncio.run(burst(3)))
    assert pg.counts() == {"pending": 8}


def test_an_unreachable_database_fails_every_async_caller():
    store = PgJobStore("postgresql://u:pw-not-shown@127.0.0.1:1/x")

    async def main():
        return await asyncio.gather(*(store.aadd_fresh("r", {}) for _ in range(5)), return_exceptions=True)

    try:
        failed = asyncio.run(main())
    finally:
        store.close()
    assert all(isinstance(r, StorageError) and "pw-not-shown" not in str(r) for r in failed), failed


def test_claim_many_and_finish_many_record_the_worker(pg):
    ids = [pg.add("r", {"n": n})[0] for n in range(5)]
    assert pg.claim(ids[1])["id"] == ids[1]
    jobs = pg.claim_many([ids[4], ids[1], ids[0], "j_nope", ids[4]])
    assert [j["id"] for j in jobs] == [ids[4], ids[0]] and all(j["status"] == "running" and j["event"] for j in jobs)
    _host, pid, tag = pg.worker_id.split(":")
    assert pid == str(os.getpid()) and tag and pg.worker_id != PgJobStore(pg.url).worker_id
    pg.finish_many([(ids[4], "succeeded", "[1]", None, 2.0), (ids[0], "failed", "[]", "boom", 3.14159)])
    pg.finish_many([])
    assert pg.get(ids[4])["steps"] == [1] and pg.get(ids[0])["error"] == "boom" and pg.get(ids[0])["duration_ms"] == 3.142
    with psycopg.connect(pg.url) as conn:
        owners = dict(conn.execute("SELECT id, claimed_by FROM plugwire_jobs WHERE claimed_by IS NOT NULL").fetchall())
        beats = conn.execute("SELECT worker_id FROM plugwire_workers").fetchall()
    assert owners == {ids[0]: pg.worker_id, ids[1]: pg.worker_id, ids[4]: pg.worker_id}
    assert beats == [(pg.worker_id,)]  # a store that claims is seen alive
    assert pg.counts() == {"pending": 2, "running": 1, "succeeded": 1, "failed": 1}


_WORKER = """
    import asyncio, sys
    from plugwire.core.storage.pgjobs import PgJobStore
    store = PgJobStore(sys.argv[1], heartbeat_seconds=0.1)
    asyncio.run(store.astart())
    print(store.claim(sys.argv[2])["id"], flush=True)
    sys.stdin.readline()
"""


def test_only_jobs_of_workers_whose_heartbeat_stopped_are_interrupted(pg, pg_url):  # noqa: F811
    live_job, dead_job, pending = (pg.add("r", {"n": n})[0] for n in range(3))
    worker = subprocess.Popen([sys.executable, "-c", textwrap.dedent(_WORKER), pg_url, live_job], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env={**os.environ, "PLUGWIRE_TESTING": "1"})
    try:
        assert worker.stdout.readline().strip() == live_job
        closed = PgJobStore(pg_url)
        closed.claim(dead_job)
        closed.close()  # its heartbeat stops
        me = PgJobStore(pg_url, heartbeat_seconds=0.1)  # alive, and beating
        mine = me.add("r", {})[0]
        me.claim(mine)
        time.sleep(0.6)
        assert pg.recover(stale_seconds=0.5) == [pending]  # pg's own beat is 2 s old: its jobs are its own
        states = {j: pg.get(j)["status"] for j in (live_job, dead_job, mine)}
        assert states == {live_job: "running", dead_job: "failed", mine: "running"}
        assert pg.get(dead_job)["error"] == INTERRUPTED
        assert pg.interrupt_orphans(0.5) == 0
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        time.sleep(0.6)
        other = PgJobStore(pg_url)  # another server's sweep: this store's jobs are alive too
        assert other.interrupt_orphans(0.5) == 1 and other.interrupt_orphans(0.5) == 0
        other.close()
        assert pg.get(live_job)["status"] == "failed" and pg.get(mine)["status"] == "running"
        me.close()
    finally:
        worker.kill()
        worker.wait()


def test_astart_beats_until_close(pg, pg_url):  # noqa: F811
    store = PgJobStore(pg_url, heartbeat_seconds=0.05)
    asyncio.run(store.astart())

    def last_seen():
        with psycopg.connect(pg_url) as conn:
            return conn.execute("SELECT last_seen FROM plugwire_workers WHERE worker_id = %s", (store.worker_id,)).fetchone()[0]

    first = last_seen()
    time.sleep(0.3)
    assert last_seen() > first
    beating = [t for t in threading.enumerate() if t.name == "plugwire-heartbeat"]
    store.close()
    stopped = last_seen()
    time.sleep(0.2)
    assert last_seen() == stopped and not any(t.is_alive() for t in beating)


def test_the_outbox_hands_out_unpublished_and_overdue_pending_jobs_once(pg):
    ids = [pg.add("r", {"n": n})[0] for n in range(6)]
    pg.claim(ids[2])
    assert pg.mark_published(ids[:2]) == 2
    assert pg.republish_due(60, 10) == []  # received or published a moment ago: the dispatcher has them
    assert pg.republish_due(0, 2) == [ids[0], ids[1]]  # all overdue at once: the limit, oldest first
    assert pg.republish_due(0, 10) == [ids[0], ids[1], ids[3], ids[4], ids[5]]  # not the running one
    assert pg.republish_due(60, 10) == []  # just published again
    pg.claim(ids[0])
    assert pg.republish_due(0, 100) == [ids[1], ids[3], ids[4], ids[5]]


def test_two_sweeps_at_once_never_hand_out_the_same_job(pg, pg_url):  # noqa: F811
    pg.counts()  # migrated
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO plugwire_jobs (id, recipe, status, received_at, event) "
                     "SELECT 'j_' || g, 'r', 'pending', '2026-01-01T00:00:00.000+00:00', '{}' FROM generate_series(1, 3000) AS g")
    sweepers = [pg, PgJobStore(pg_url)]
    got: list[list[str]] = [[], []]
    barrier = threading.Barrier(2)

    def sweep(n):
        barrier.wait()
        while batch := sweepers[n].republish_due(60, 100):
            got[n] += batch

    threads = [threading.Thread(target=sweep, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sweepers[1].close()
    assert not set(got[0]) & set(got[1]) and len(got[0]) + len(got[1]) == 3000


def test_every_statement_of_the_store_uses_an_index_not_a_scan_of_the_history(pg, pg_url):  # noqa: F811
    from plugwire.core.storage import pgjobs

    pg.add("r", {})  # migrated
    now, ids = "2026-01-01T00:00:00.000+00:00", ["j_5", "j_6"]
    statements = {  # the store's own statements, with realistic parameters
        "insert": (pgjobs._INSERT, (ids, ["d5", None], ["r", "r"], [now, now], ["{}", "{}"])),
        "re-deliveries": (pgjobs._EARLIER, (["d5"],)),
        "claim": (pgjobs._CLAIM, (now, "w", ids, "pending")),
        "take": (pgjobs._TAKE, (now, "w", "j_5", "pending")),
        "finish": (pgjobs._FINISH, (now, ids, ["succeeded"] * 2, ["[]"] * 2, [None] * 2, [1.0] * 2)),
        "orphans": (pgjobs._ORPHANS, {"error": "x", "now": now, "me": "w", "stale": 15.0}),
        "pending": (pgjobs._PENDING, ()),
        "republish": (pgjobs._REPUBLISH, (60.0, 100)),
        "get": ("SELECT * FROM plugwire_jobs WHERE id = %s", ("j_5",)),
        "pages": ("SELECT id FROM plugwire_jobs WHERE recipe = %s AND status = %s ORDER BY seq DESC LIMIT 50", ("r-3", "failed")),
        "newest": ("SELECT id FROM plugwire_jobs ORDER BY seq DESC LIMIT 50", ()),
    }
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO plugwire_jobs (id, dedupe, recipe, status, received_at, event) "
                     "SELECT 'j_' || g, 'd' || g, 'r-' || (g %% 50), CASE WHEN g %% 100 = 0 THEN 'pending' ELSE 'succeeded' END, "
                     "%s, '{}' FROM generate_series(1, 20000) AS g", (now,))
        conn.execute("ANALYZE plugwire_jobs")
        # psycopg prepares a statement run five times, and PostgreSQL may then plan it once for any parameters
        for n, (name, (sql, params)) in enumerate(statements.items()):
            sql, values = numbered(sql, params)
            conn.execute(f"PREPARE q{n} AS {sql}")
            for mode in ("force_custom_plan", "force_generic_plan"):
                conn.execute("SELECT set_config('plan_cache_mode', %s, false)", (mode,))
                args = psycopg.sql.SQL(", ").join(map(psycopg.sql.Literal, values)).as_string(conn)
                plan = "\n".join(r[0] for r in conn.execute(f"EXPLAIN EXECUTE q{n}" + (f"({args})" if values else "")))
                assert "Seq Scan on plugwire_jobs" not in plan and "Sort" not in plan, (mode, name, plan)
                if name in ("claim", "take", "finish"):  # by id, never through every pending or running job
                    assert "plugwire_jobs_id_key" in plan and "_pending" not in plan and "by_status" not in plan, (mode, name, plan)
        assert "plugwire_jobs_pending" in "".join(r[0] for r in conn.execute("EXPLAIN " + pgjobs._PENDING))


def numbered(sql: str, params: Any) -> tuple[str, list]:
    """Return ``sql`` with psycopg's placeholders as ``$1, $2...`` and the values in that order."""
    if isinstance(params, dict):
        names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", sql)))
        return re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m[1]) + 1}", sql), [params[k] for k in names]
    count = itertools.count(1)
    return re.sub(r"%s", lambda m: f"${next(count)}", sql), list(params)


def test_two_databases_are_two_histories(pg):
    with make_pg_database() as url:
        other = PgJobStore(url)
        other.add("r", {}, job_id="j_same")
        pg.add("r", {"here": True}, job_id="j_same")
        assert other.get("j_same")["event"] == {"event_id": "j_same"}
        other.close()
    assert pg.get("j_same")["event"]["here"] is True
