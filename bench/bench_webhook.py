"""Webhook -> stored job throughput of `plugwire serve`, against a bare Starlette
handler on the same uvicorn settings, measured in the same run (loopback only).

    python bench/bench_webhook.py [--rounds 3] [--seconds 5] [--connections 64]

Uses wrk when it is installed (Debian: apt-get install wrk), else a bounded httpx2
async load generator. Each plugwire round starts from an empty data folder with one
started webhook recipe (no steps, so the worker only claims and closes each job),
and afterwards counts the jobs in the store: an accepted request that left no job
would be a bug, and the script says so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

BODY = json.dumps({"venue": {"name": "Example Hall", "address": {"city": "San Francisco", "country": "US", "postal_code": "94103"},
                             "capacity": 300, "tags": ["indoor", "accessible"], "contact": "events@example.com"}})

BARE = textwrap.dedent("""
    import sys, uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    async def hook(request):
        await request.body()
        return JSONResponse({"accepted": True}, status_code=202)
    app = Starlette(routes=[Route("/hooks/bare", hook, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", http="httptools", log_level="warning", access_log=False)
""")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def wrk(url: str, seconds: int, connections: int, threads: int = 2) -> tuple[float, int, int]:
    """Return (requests/s, requests, non-2xx) from wrk (``threads`` load threads)."""
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(
        f'wrk.method = "POST"\nwrk.body = {json.dumps(BODY)}\nwrk.headers["Content-Type"] = "application/json"\n'
        'done = function(summary, latency, requests)\n  io.write(string.format("NON2XX %d\\n", summary.errors.status))\nend\n'
    )
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
                         capture_output=True, text=True, timeout=seconds + 30).stdout
    script.unlink()
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = int(re.search(r"NON2XX (\d+)", out).group(1))
    return rate, total, non2xx


def httpx_load(url: str, seconds: int, connections: int) -> tuple[float, int, int]:
    import httpx2

    async def main() -> tuple[float, int, int]:
        ok = bad = 0
        stop = time.perf_counter() + seconds
        limits = httpx2.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx2.AsyncClient(limits=limits, timeout=10) as client:
            async def worker() -> None:
                nonlocal ok, bad
                while time.perf_counter() < stop:
                    r = await client.post(url, content=BODY, headers={"Content-Type": "application/json"})
                    ok, bad = (ok + 1, bad) if 200 <= r.status_code < 300 else (ok, bad + 1)

            t0 = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(connections)))
            return (ok + bad) / (time.perf_counter() - t0), ok + bad, bad

    return asyncio.run(main())


def run_bare(load, seconds: int, connections: int) -> float:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", BARE, str(port)])
    try:
        wait_up(port)
        rate, _, non2xx = load(f"http://127.0.0.1:{port}/hooks/bare", seconds, connections)
        assert non2xx == 0, f"bare handler answered {non2xx} non-2xx"
        return rate
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run_plugwire(load, seconds: int, connections: int, synchronous: str, workers: int) -> tuple[float, int, int]:
    folder = Path(tempfile.mkdtemp(prefix="plugwire-bench-"))
    env = {**os.environ, "PLUGWIRE_HOME": str(folder), "PLUGWIRE_API_TOKEN": "bench"}
    from plugwire.core.recipes.model import Recipes
    from plugwire.core.storage.home import Home

    os.environ["PLUGWIRE_HOME"] = str(folder)
    recipes = Recipes(Home(folder))
    recipes.create({"name": "bench", "trigger": {"type": "webhook"}, "steps": []})
    token = recipes.start("bench").token
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", "from plugwire.core.cli import main; main()", "serve", "--port", str(port), "--synchronous", synchronous,
                             "--workers", str(workers)],
                            env=env, stderr=subprocess.DEVNULL)
    try:
        wait_up(port)
        rate, total, non2xx = load(f"http://127.0.0.1:{port}/hooks/{token}", seconds, connections)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    from plugwire.core.storage.jobs import JobStore

    store = JobStore(folder)
    counts = store.counts()
    store.close()
    shutil.rmtree(folder, ignore_errors=True)
    return rate, total - non2xx, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    load = wrk if shutil.which("wrk") else httpx_load
    print(f"load generator: {'wrk -t2 -c%d' % args.connections if load is wrk else 'httpx2 async, %d connections' % args.connections}, "
          f"{args.seconds} s per round, {args.rounds} rounds, {len(BODY)}-byte JSON POST")
    variants = {  # label: (synchronous, workers)
        "plugwire serve (synchronous=FULL, 16 workers running the jobs: the default)": ("FULL", 16),
        "plugwire serve --workers 0 (synchronous=FULL, accepting only)": ("FULL", 0),
        "plugwire serve --synchronous NORMAL (16 workers)": ("NORMAL", 16),
    }
    bare: list[float] = []
    results: dict[str, list[float]] = {label: [] for label in variants}
    for n in range(args.rounds):
        # Bare first in odd rounds and last in even ones: the machine's speed drifts,
        # and a fixed order would hand the drift to one side of the ratio.
        order = ["bare", *variants] if n % 2 == 0 else [*variants, "bare"]
        for label in order:
            if label == "bare":
                bare.append(run_bare(load, args.seconds, args.connections))
                print(f"  round {n + 1} bare: {bare[-1]:,.0f} requests/s")
                continue
            sync, workers = variants[label]
            rate, accepted, counts = run_plugwire(load, args.seconds, args.connections, sync, workers)
            stored = sum(counts.values())
            if stored < accepted:
                print(f"  LOST: {accepted} accepted but {stored} jobs stored", file=sys.stderr)
            results[label].append(rate)
            # Jobs the worker finished before the server stopped (the rest stay pending,
            # or running if cut short, and are picked up at the next start).
            print(f"  round {n + 1} {label}: {rate:,.0f} jobs/s, {accepted} accepted, {stored} stored, "
                  f"{counts.get('succeeded', 0)} run to the end during the round")
    mb = statistics.median(bare)
    print(f"bare Starlette handler: median {mb:,.0f} requests/s (min {min(bare):,.0f}, max {max(bare):,.0f})")
    for label, values in results.items():
        m = statistics.median(values)
        per_round = [v / b for v, b in zip(values, bare)]
        print(f"{label}: median {m:,.0f} jobs/s (min {min(values):,.0f}, max {max(values):,.0f}), {m / mb:.2f}x bare "
              f"(per-round ratios {', '.join(f'{r:.2f}' for r in per_round)}; median {statistics.median(per_round):.2f}x)")

if __name__ == "__main__":
    main()
