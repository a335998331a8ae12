"""The cost of one job in the history as it grows: the median time to insert a job, and
to claim and finish one, with 1k and with 1M jobs stored, for the embedded SQLite job
store and for PostgreSQL; the ratio 1M/1k should stay within 1.2x.

    python bench/bench_history.py [--samples 400] [--rounds 8] [--large 1000000] [--server postgresql://postgres@127.0.0.1:5432]

Every operation is one durable commit through the store's synchronous methods (the
path of the CLI and of Celery workers; the server's async path batches concurrent
writes on top of it). Two stores of each backend are filled in bulk, one to each size,
with realistic rows (an event of ~0.5 kB, steps of ~0.3 kB, a dedupe key on half of
them, 40 recipes, 97% succeeded, a few pending: a recursive CTE in SQLite,
generate_series in PostgreSQL, then what a running database does on its own: VACUUM
ANALYZE, and a checkpoint so that the load's own is not measured), and measured in
alternating rounds, so that whatever else the machine does weighs on both sizes alike.
The script makes its own data folders and databases and removes them. Without a
PostgreSQL server, only SQLite is measured.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

EVENT = {"type": "order.created", "source": "shop", "delivery": "dlv_0000", "data": {
    "order": {"id": 0, "currency": "EUR", "total": 129.9, "items": [
        {"sku": "SKU-1042", "name": "Walnut desk organizer", "qty": 1, "price": 79.9},
        {"sku": "SKU-2210", "name": "Felt desk pad, large", "qty": 2, "price": 25.0}]},
    "customer": {"id": "cus_8Hq2", "email": "ada@example.com", "country": "DE"},
    "shipping": {"method": "standard", "address": {"city": "Berlin", "postal_code": "10115"}}}}
STEPS = json.dumps([{"name": "create_invoice", "status": "succeeded", "duration_ms": 212.4,
                     "request": {"method": "POST", "url": "https://api.example.com/v1/invoices"},
                     "response": {"status": 201, "body": {"id": "inv_0000", "status": "draft"}}},
                    {"name": "notify", "status": "succeeded", "duration_ms": 95.1,
                     "request": {"method": "POST", "url": "https://hooks.example.com/notify"}, "response": {"status": 204}}])
EVENT_TEXT = json.dumps(EVENT, separators=(",", ":"))

# One row per n: text pieces around the number, the same in both databases.
_SQLITE_FILL = """
WITH RECURSIVE g(n) AS (SELECT ?1 UNION ALL SELECT n + 1 FROM g WHERE n < ?2)
INSERT INTO jobs (id, dedupe, recipe, status, received_at, started_at, finished_at, duration_ms, error, event, steps)
SELECT printf('j_%016x', n), CASE WHEN n % 2 = 0 THEN 'shop:' || lower(hex(randomblob(8))) END, 'recipe-' || (n % 40),
       CASE WHEN n % 10000 = 0 THEN 'pending' WHEN n % 33 = 0 THEN 'failed' ELSE 'succeeded' END,
       '2026-01-01T00:00:00.000+00:00', '2026-01-01T00:00:00.010+00:00', '2026-01-01T00:00:00.320+00:00', 310.5,
       CASE WHEN n % 33 = 0 THEN 'HTTP 502 from api.example.com' END, replace(?3, '"id":0,', '"id":' || n || ','), ?4
FROM g
"""
_PG_FILL = """
INSERT INTO plugwire_jobs (id, dedupe, recipe, status, received_at, started_at, finished_at, duration_ms, error, event, steps)
SELECT 'j_' || lpad(to_hex(n), 16, '0'), CASE WHEN mod(n, 2) = 0 THEN 'shop:' || left(md5(n::text), 16) END, 'recipe-' || (mod(n, 40)),
       CASE WHEN mod(n, 10000) = 0 THEN 'pending' WHEN mod(n, 33) = 0 THEN 'failed' ELSE 'succeeded' END,
       '2026-01-01T00:00:00.000+00:00', '2026-01-01T00:00:00.010+00:00', '2026-01-01T00:00:00.320+00:00', 310.5,
       CASE WHEN mod(n, 33) = 0 THEN 'HTTP 502 from api.example.com' END, replace(%(event)s, '"id":0,', '"id":' || n || ','), %(steps)s
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS n
"""


def timings(store: Any, count: int, tag: str) -> tuple[list[float], list[float]]:
    """Insert ``count`` jobs, then claim and finish each; returns the seconds of each insert and of each claim + finish."""
    inserts, claims, ids = [], [], []
    for n in range(count):
        t0 = time.perf_counter()
        job_id, _ = store.add(f"recipe-{n % 40}", EVENT, dedupe=f"bench:{tag}:{n}" if n % 2 else None)
        inserts.append(time.perf_counter() - t0)
        ids.append(job_id)
    for job_id in ids:
        t0 = time.perf_counter()
        store.claim(job_id)
        store.finish(job_id, "succeeded", STEPS, error=None, duration_ms=310.5)
        claims.append(time.perf_counter() - t0)
    return inserts, claims


def bench_backend(name: str, open_store: Callable[[str], Any], fill: Callable[[Any, int], None],
                  sizes: tuple[int, int], samples: int, rounds: int) -> dict:
    """Fill one store to each of ``sizes``, then measure them in alternating rounds (so
    that whatever else the machine does falls on both alike); returns the medians."""
    stores = {}
    for size in sizes:
        stores[size] = open_store(f"{size}")
        t0 = time.perf_counter()
        fill(stores[size], size)
        print(f"{name}: {size:,} jobs stored in {time.perf_counter() - t0:.0f} s", flush=True)
    figures: dict[int, tuple[list[float], list[float]]] = {size: ([], []) for size in sizes}
    for size in sizes:
        timings(stores[size], 20, "warm-up")  # connections, statement caches, the pages new jobs go to
    for r in range(rounds):
        for size in sizes:
            inserts, claims = timings(stores[size], samples // rounds, f"{r}")
            figures[size][0].extend(inserts)
            figures[size][1].extend(claims)
    return {"backend": name, **{size: (statistics.median(i), statistics.median(c)) for size, (i, c) in figures.items()}}


def run_sqlite(sizes: tuple[int, int], samples: int, rounds: int) -> dict:
    import sqlite3

    from plugwire.core.storage.jobs import JobStore

    folder = Path(tempfile.mkdtemp(prefix="plugwire-bench-history-"))
    opened: list[Any] = []

    def open_store(tag: str) -> Any:
        opened.append(JobStore(folder / tag))
        return opened[-1]

    def fill(store: Any, size: int) -> None:
        conn = sqlite3.connect(store.path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(_SQLITE_FILL, (1, size, EVENT_TEXT, STEPS))
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the bulk load is in the file, not in the WAL
        conn.close()

    try:
        return bench_backend("sqlite", open_store, fill, sizes, samples, rounds)
    finally:
        for store in opened:
            store.close()
        shutil.rmtree(folder, ignore_errors=True)


def run_postgres(server: str, sizes: tuple[int, int], samples: int, rounds: int) -> dict | None:
    import psycopg

    from plugwire.core.storage.pgjobs import PgJobStore

    try:
        admin = psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        print(f"postgresql: skipped, no server at {server} ({str(exc).strip().splitlines()[0]})")
        return None
    prefix = f"plugwire_bench_{secrets.token_hex(4)}_"
    opened: list[Any] = []

    def open_store(tag: str) -> Any:
        admin.execute(f'CREATE DATABASE "{prefix}{tag}"')
        opened.append(PgJobStore(f"{server}/{prefix}{tag}"))
        opened[-1].counts()  # the schema
        return opened[-1]

    def fill(store: Any, size: int) -> None:
        with psycopg.connect(store.url, autocommit=True) as conn:
            conn.execute(_PG_FILL, {"event": EVENT_TEXT, "steps": STEPS, "first": 1, "last": size})
            conn.execute("VACUUM ANALYZE plugwire_jobs")  # what autovacuum does after a load
        admin.execute("CHECKPOINT")  # the load's own checkpoint is not measured with the inserts

    try:
        return bench_backend("postgresql", open_store, fill, sizes, samples, rounds)
    finally:
        for store in opened:
            store.close()
        for tag in sizes:
            admin.execute(f'DROP DATABASE IF EXISTS "{prefix}{tag}" WITH (FORCE)')
        admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=400, help="jobs measured at each size (default 400)")
    parser.add_argument("--rounds", type=int, default=8, help="alternations between the two sizes (default 8)")
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL server URL, without a database")
    args = parser.parse_args()

    sizes = (args.small, args.large)
    results = [run_sqlite(sizes, args.samples, args.rounds)]
    pg = run_postgres(args.server.rstrip("/"), sizes, args.samples, args.rounds)
    if pg is not None:
        results.append(pg)
    print(f"\nmedian per operation over {args.samples} jobs at each size, one durable commit per write")
    print(f"{'backend':<11} {'operation':<13} {f'{args.small:,} jobs':>12} {f'{args.large:,} jobs':>15} {'ratio':>7}")
    for r in results:
        for label, n in (("insert", 0), ("claim+finish", 1)):
            small, large = r[args.small][n] * 1000, r[args.large][n] * 1000
            print(f"{r['backend']:<11} {label:<13} {small:>9.3f} ms {large:>12.3f} ms {large / small:>6.2f}x")


if __name__ == "__main__":
    main()
