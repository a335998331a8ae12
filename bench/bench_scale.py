"""The server-grade deployment measured against the embedded default, in one run.

    python bench/bench_scale.py [--rounds 3] [--seconds 5] [--connections 64] [--jobs 3000]

Needs PostgreSQL on 127.0.0.1:5432 (trust auth; a database per round is created and
dropped), redis-server (a private one is started) and wrk. Two parts, rounds of the
arms alternating so that drift hits each the same:

1. **Intake**: webhook -> committed job, no job run (``--workers 0``), wrk POSTing a
   ~300-byte JSON body: the embedded store (one server), PostgreSQL with one server,
   PostgreSQL with two servers (two wrk processes, one per server, connections split).
   CPU per accepted job counts the servers (with their writer child) and every
   PostgreSQL process; the rows in the store are counted after each round (an
   accepted request without its job would be a bug, and the script says so).
2. **Steps**: N webhooks whose recipe makes one POST to a local API, posted by this
   script at concurrency 32, until every job has ended: the in-process worker of one
   embedded server, against one server publishing to Celery (Redis) and a
   ``plugwire worker --concurrency 2``. CPU per step counts the servers, the workers,
   PostgreSQL and Redis (not the local API, the same in both arms, nor this script).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

from bench_webhook import BARE, BODY, free_port, wait_up, wrk

PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
CLI = [sys.executable, "-c", "from plugwire.core.cli import main; main()"]
TICKS = os.sysconf("SC_CLK_TCK")

API = textwrap.dedent("""
    import sys, uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    async def venue(request):
        await request.body()
        return JSONResponse({"id": "v1", "ok": True}, status_code=201)
    app = Starlette(routes=[Route("/venues", venue, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", http="httptools", log_level="warning", access_log=False)
""")


# -- processes and their CPU ---------------------------------------------------------------
def _cpu_of(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _tree(pid: int) -> list[int]:
    """The process and its descendants."""
    out, todo = [], [pid]
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _named(name: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    pids.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError):
                pass
    return pids


class CpuMeter:
    """CPU seconds spent by the trees of some processes, plus every process named ``names``."""

    def __init__(self, roots: list[int], names: tuple[str, ...] = ()):
        self.roots, self.names = roots, names
        self.start = self._now()

    def _pids(self) -> set[int]:
        pids = {p for r in self.roots for p in _tree(r)}
        for name in self.names:
            pids.update(_named(name))
        return pids

    def _now(self) -> dict[int, float]:
        return {p: _cpu_of(p) for p in self._pids()}

    def spent(self) -> float:
        now = self._now()
        return sum(v - self.start.get(p, 0.0) for p, v in now.items())


# -- a database, a data folder, a recipe -------------------------------------------------------
def _database() -> str:
    import psycopg

    name = f"plugwire_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{PG}/test", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{PG}/{name}"


def _drop(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(f"{PG}/test", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _setup(folder: Path, database: str | None, api_url: str | None) -> str:
    """Create the bench recipe (with one make-request step when ``api_url``); returns its webhook token."""
    from plugwire.core.recipes.model import Recipes
    from plugwire.core.storage.home import Home
    from plugwire.core.wizard.actions import Actions, build_action

    home = Home(folder, database=database or "")
    steps = []
    if api_url:
        Actions(home).create(build_action({"name": "venue", "method": "POST", "url": f"{api_url}/venues",
                                           "body_format": "json", "body": {"event": "x"}}))
        steps = [{"action": "venue", "body": {"event": "{{trigger.event_id}}"}}]
    recipes = Recipes(home)
    recipes.create({"name": "bench", "trigger": {"type": "webhook"}, "steps": steps})
    token = recipes.start("bench").token
    home.store.close()
    return token


def _counts(folder: Path, database: str | None) -> dict[str, int]:
    from plugwire.core.storage.home import Home

    jobs = Home(folder, database=database or "").jobs()
    try:
        return jobs.counts()
    finally:
        jobs.close()


def _env(folder: Path, database: str | None, broker: str | None = None) -> dict[str, str]:
    env = {**os.environ, "PLUGWIRE_HOME": str(folder), "PLUGWIRE_API_TOKEN": "bench", "PLUGWIRE_QUEUE": "plugwire-bench"}
    for key, value in (("PLUGWIRE_DATABASE_URL", database), ("PLUGWIRE_BROKER_URL", broker)):
        if value:
            env[key] = value
        else:
            env.pop(key, None)
    return env


def _serve(env: dict[str, str], workers: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen([*CLI, "serve", "--port", str(port), "--workers", str(workers), "--no-network-policy"],
                            env=env, stderr=subprocess.DEVNULL)
    wait_up(port, 30)
    return proc, port


def _stop(*procs: subprocess.Popen) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


# -- part 1: intake ------------------------------------------------------------------------
def _bare() -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", BARE, str(port)])
    wait_up(port)
    return proc, port


def intake(arm: str, seconds: int, connections: int) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="plugwire-bench-"))
    database = _database() if arm.startswith("pg") else None
    try:
        token = "bare" if arm.startswith("bare") else _setup(folder, database, None)
        env = _env(folder, database)
        start = _bare if arm.startswith("bare") else lambda: _serve(env, 0)
        servers = [start() for _ in range(2 if arm.endswith("x2") else 1)]
        meter = CpuMeter([p.pid for p, _ in servers], ("postgres",) if database else ())
        parts = {"servers": CpuMeter([p.pid for p, _ in servers])}
        if database:
            parts["postgres"] = CpuMeter([], ("postgres",))
        split = max(1, connections // len(servers))
        from concurrent.futures import ThreadPoolExecutor

        # One wrk per server, at the same time, with two load threads in all (as many as
        # against one server: more would take the cores from the servers).
        threads = max(1, 2 // len(servers))
        with ThreadPoolExecutor(len(servers)) as pool:
            results = list(pool.map(lambda s: wrk(f"http://127.0.0.1:{s[1]}/hooks/{token}", seconds, split, threads), servers))
        cpu = meter.spent()
        spent = {name: m.spent() for name, m in parts.items()}
        _stop(*(p for p, _ in servers))
        accepted = sum(total - non2xx for _, total, non2xx in results)
        stored = accepted if arm.startswith("bare") else sum(_counts(folder, database).values())
        if stored < accepted:
            print(f"  !! {arm}: {accepted} accepted but {stored} stored", flush=True)
        out = {"rate": sum(r for r, _, _ in results) * accepted / max(1, sum(t for _, t, _ in results)),
               "cpu_ms_per_job": cpu * 1000 / max(1, accepted)}
        out.update({f"{name}_ms": v * 1000 / max(1, accepted) for name, v in spent.items()})
        return out
    finally:
        if database:
            _drop(database)
        shutil.rmtree(folder, ignore_errors=True)


# -- part 2: steps -------------------------------------------------------------------------
async def _post(url: str, n: int, concurrency: int = 32) -> int:
    import httpx2

    sem = asyncio.Semaphore(concurrency)
    ok = 0
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx2.AsyncClient(limits=limits, timeout=30) as client:
        async def one() -> None:
            nonlocal ok
            async with sem:
                r = await client.post(url, content=BODY, headers={"Content-Type": "application/json"})
                ok += r.status_code == 202

        await asyncio.gather(*(one() for _ in range(n)))
    return ok


def steps(arm: str, n: int, api_url: str, redis_url: str) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="plugwire-bench-"))
    database = _database() if arm == "celery" else None
    try:
        token = _setup(folder, database, api_url)
        env = _env(folder, database, redis_url if arm == "celery" else None)
        server, port = _serve(env, 16)
        procs = [server]
        if arm == "celery":
            worker = subprocess.Popen([*CLI, "worker", "--concurrency", "2", "--no-network-policy"], env=env,
                                      stderr=subprocess.DEVNULL)
            procs.append(worker)
            time.sleep(3)  # the worker's processes are up
        meter = CpuMeter([p.pid for p in procs], ("postgres", "redis-server") if database else ())
        parts = {"server": CpuMeter([server.pid])}
        if database:
            parts.update(workers=CpuMeter([procs[1].pid]), postgres=CpuMeter([], ("postgres",)),
                         redis=CpuMeter([], ("redis-server",)))
        t0 = time.perf_counter()
        accepted = asyncio.run(_post(f"http://127.0.0.1:{port}/hooks/{token}", n))
        while True:
            counts = _counts(folder, database)
            if sum(counts.values()) >= accepted and not counts.get("pending") and not counts.get("running"):
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
        cpu = meter.spent()
        split = {f"{name}_ms": m.spent() * 1000 / max(1, accepted) for name, m in parts.items()}
        _stop(*procs)
        if counts.get("succeeded", 0) != accepted:
            print(f"  !! {arm}: {accepted} accepted, jobs {counts}", flush=True)
        out = {"rate": accepted / elapsed, "cpu_ms_per_step": cpu * 1000 / max(1, accepted)}
        out.update(split)
        return out
    finally:
        if database:
            _drop(database)
        shutil.rmtree(folder, ignore_errors=True)


def _split(row: dict[str, float]) -> str:
    return ", ".join(f"{k[:-3]} {v:.3f}" for k, v in row.items() if k.endswith("_ms"))


def _median(rows: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--part", choices=("intake", "steps", "both"), default="both")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")

    if args.part in ("intake", "both"):
        # The bare handler (read the body, answer 202) in one and in two processes is the
        # machine's own cost of a second process, for comparison with PostgreSQL's.
        arms = ("bare x1", "bare x2", "embedded", "pg x1", "pg x2")
        results: dict[str, list[dict[str, float]]] = {a: [] for a in arms}
        for r in range(args.rounds):
            for arm in arms:
                results[arm].append(intake(arm, args.seconds, args.connections))
                print(f"round {r + 1} intake {arm}: {results[arm][-1]['rate']:,.0f} jobs/s, "
                      f"{results[arm][-1]['cpu_ms_per_job']:.3f} ms CPU/job ({_split(results[arm][-1])})", flush=True)
        base_rate = _median(results["embedded"], "rate")
        print("\nIntake (webhook -> committed job), medians; 'vs x1': CPU per job against the same arm in one process:")
        print(f"{'arm':<10} {'jobs/s':>10} {'vs embedded':>12} {'CPU ms/job':>11} {'vs x1':>7}")
        for arm in arms:
            rate, cpu = _median(results[arm], "rate"), _median(results[arm], "cpu_ms_per_job")
            one = results.get(arm.replace("x2", "x1"), results[arm])
            print(f"{arm:<10} {rate:>10,.0f} {rate / base_rate:>11.2f}x {cpu:>11.3f} {cpu / _median(one, 'cpu_ms_per_job'):>6.2f}x")

    if args.part in ("steps", "both"):
        api_port, redis_port = free_port(), free_port()
        api = subprocess.Popen([sys.executable, "-c", API, str(api_port)])
        redis = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(redis_port), "--save", "",
                                  "--appendonly", "no"], stdout=subprocess.DEVNULL)
        try:
            wait_up(api_port)
            wait_up(redis_port)
            arms = ("in-process", "celery")
            runs: dict[str, list[dict[str, float]]] = {a: [] for a in arms}
            for r in range(args.rounds):
                for arm in arms:
                    runs[arm].append(steps(arm, args.jobs, f"http://127.0.0.1:{api_port}", f"redis://127.0.0.1:{redis_port}/0"))
                    row = runs[arm][-1]
                    print(f"round {r + 1} steps {arm}: {row['rate']:,.0f} steps/s, "
                          f"{row['cpu_ms_per_step']:.3f} ms CPU/step ({_split(row)})", flush=True)
        finally:
            _stop(api, redis)
        base_cpu = _median(runs["in-process"], "cpu_ms_per_step")
        print(f"\nSteps (webhook -> job with one POST to a local API, {args.jobs} per round), medians:")
        print(f"{'arm':<11} {'steps/s':>9} {'CPU ms/step':>12} {'vs in-process':>14}")
        for arm in arms:
            rate, cpu = _median(runs[arm], "rate"), _median(runs[arm], "cpu_ms_per_step")
            print(f"{arm:<11} {rate:>9,.0f} {cpu:>12.3f} {cpu / base_cpu:>13.2f}x")


if __name__ == "__main__":
    main()
