"""The make-request step against raw httpx2: 2,000 POSTs to a local server at the
same concurrency, alternating, medians of several rounds (loopback only).

    python bench/bench_requests.py [--rounds 5] [--requests 2000] [--concurrency 32]

The step path is what a job runs per step: datapills filled in from the trigger's
event, the request built and sent through the connection's client (auth: basic),
the exchange captured with credentials masked, and the step record scrubbed of
secrets. Raw is one ``httpx2.AsyncClient`` posting the same body with the same auth.

The server and this client are pinned to one core each (``--no-pin`` leaves them to
the scheduler), and the order of the kinds flips every round; the headline is the
median of the per-round ratios, the ratio of the medians is printed beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib.util
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

import httpx2

SERVER = textwrap.dedent("""
    import sys, uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    async def venues(request):
        body = await request.json()
        return JSONResponse({"id": "52041000", **body["venue"]})
    app = Starlette(routes=[Route("/venues", venues, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", http="httptools", log_level="warning", access_log=False)
""")
PASSWORD = "bench-password-123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def gather_bounded(n: int, concurrency: int, one) -> tuple[float, float]:
    """Return (wall seconds, client CPU seconds) for ``n`` calls of ``one`` at ``concurrency``."""
    sem = asyncio.Semaphore(concurrency)

    async def guarded(i: int) -> None:
        async with sem:
            await one(i)

    t0, c0 = time.perf_counter(), time.process_time()
    await asyncio.gather(*(guarded(i) for i in range(n)))
    return time.perf_counter() - t0, time.process_time() - c0


async def raw_round(url: str, n: int, concurrency: int) -> tuple[float, float]:
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx2.AsyncClient(limits=limits, auth=("bench", PASSWORD), trust_env=False) as client:
        async def one(i: int) -> None:
            r = await client.post(url, json={"venue": {"name": f"Hall {i}", "capacity": i}})
            assert r.status_code == 200 and r.json()["name"] == f"Hall {i}"

        await one(-1)  # open the pool like the step path's first request does
        return await gather_bounded(n, concurrency, one)


async def step_round(home, url: str, n: int, concurrency: int, runner_class=None) -> tuple[float, float]:
    """The whole step as a job runs it (``runner_class`` defaults to plugwire's Runner)."""
    from plugwire.core.http.netpolicy import NetworkPolicy
    from plugwire.core.recipes.model import Step
    from plugwire.core.recipes.runner import Runner

    runner = (runner_class or Runner)(home, policy=NetworkPolicy(enabled=False))
    step = Step(name="create", action="create_venue", body={"venue": {"name": "{{trigger.payload.name}}", "capacity": "{{trigger.payload.capacity}}"}})
    records: list[dict] = []
    try:
        async def one(i: int) -> None:
            record, _ = await runner.run_step(step, {"trigger": {"payload": {"name": f"Hall {i}", "capacity": i}}, "steps": {}})
            assert record["status"] == "succeeded" and record["output"]["body"]["name"] == f"Hall {i}", record.get("error")
            if i % 16 == 0:
                # A sample is kept for the leak check below: keeping all 2,000 would
                # make the collector walk them again and again, a cost a job does not
                # have (its record is written to the job store and dropped).
                records.append(record)

        await one(-1)
        took = await gather_bounded(n, concurrency, one)
    finally:
        await runner.aclose()
    # Checked after the clock stops: writing 2,000 records out as text is the bench's
    # own work, not the step's (a job's records are scrubbed in Runner.run).
    leaked = [r for r in records if PASSWORD in str(r)]
    assert not leaked, f"{len(leaked)} step records hold the password"
    return took


async def send_round(home, url: str, n: int, concurrency: int) -> tuple[float, float]:
    """The shared send function alone (core.send.send_async), for attribution."""
    from plugwire.core.connections.model import Connections
    from plugwire.core.http.client import client_for
    from plugwire.core.http.send import send_async
    from plugwire.core.wizard.actions import Actions

    connections = Connections(home)
    conn = connections.get("api")
    action = Actions(home).get("create_venue")
    spec = action.spec()
    client = client_for(conn, connections, asynchronous=True)
    try:
        async def one(i: int) -> None:
            exchange = await send_async(spec.model_copy(update={"body": {"venue": {"name": f"Hall {i}", "capacity": i}}}),
                                        connection=conn, connections=connections, client=client, retry=action.retry)
            assert exchange.ok

        await one(-1)
        return await gather_bounded(n, concurrency, one)
    finally:
        await client.aclose()


def _load_runner(path: str):
    """Return the ``Runner`` class of the module file at ``path``."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    spec = importlib.util.spec_from_file_location("baseline_runner", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Runner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--baseline", metavar="FILE",
                        help="a copy of an older core/runner.py (its folder goes on sys.path for its imports): its Runner "
                             "runs as one more kind in the same alternating rounds, for before/after figures")
    parser.add_argument("--no-pin", action="store_true", help="leave the server and the client on any core")
    args = parser.parse_args()
    os.environ["PLUGWIRE_HOME"] = tempfile.mkdtemp(prefix="plugwire-bench-")
    from plugwire.core.connections.model import Connections
    from plugwire.core.storage.home import Home
    from plugwire.core.wizard.actions import Actions, build_action

    port = free_port()
    url = f"http://127.0.0.1:{port}/venues"
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if not args.no_pin and len(cpus) >= 2:
        # One core each for the server and the client: without pinning, the two
        # processes share cores at the scheduler's whim and rounds differ by a third.
        os.sched_setaffinity(proc.pid, {cpus[1]})
        os.sched_setaffinity(0, {cpus[0]})
        print(f"server pinned to CPU {cpus[1]}, client (both kinds) to CPU {cpus[0]}")
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        home = Home(os.environ["PLUGWIRE_HOME"])
        Connections(home).create({"name": "api", "auth_type": "basic", "settings": {"username": "bench", "password": PASSWORD}})
        Actions(home).create(build_action({"name": "create_venue", "connection": "api", "method": "POST", "url": url,
                                           "body_format": "json", "body": {"venue": {"name": "x", "capacity": 1}}}))
        kinds = {"raw httpx2": raw_round, "send_async alone": send_round, "make-request step": step_round}
        if args.baseline:
            kinds["step (baseline)"] = functools.partial(step_round, runner_class=_load_runner(args.baseline))
        wall: dict[str, list[float]] = {k: [] for k in kinds}
        cpu: dict[str, list[float]] = {k: [] for k in kinds}
        print(f"{args.requests} POSTs per round at concurrency {args.concurrency}, {args.rounds} rounds, alternating")
        for n in range(args.rounds):
            # The order flips every round (raw first, then raw last): the machine's
            # speed drifts, and a fixed order would hand the drift to one kind.
            order = list(kinds.items()) if n % 2 == 0 else list(kinds.items())[::-1]
            for name, run in order:
                took, used = asyncio.run(run(url, args.requests, args.concurrency) if run is raw_round else run(home, url, args.requests, args.concurrency))
                wall[name].append(took)
                cpu[name].append(used)
            print(f"  round {n + 1}: " + ", ".join(f"{k} {wall[k][-1]:.2f} s ({cpu[k][-1]:.2f} s CPU)" for k in kinds))
        base_wall, base_cpu = statistics.median(wall["raw httpx2"]), statistics.median(cpu["raw httpx2"])
        for name in kinds:
            m = statistics.median(wall[name])
            ratios = statistics.median(w / r for w, r in zip(wall[name], wall["raw httpx2"]))
            print(f"{name}: median {m:.2f} s ({args.requests / m:,.0f} requests/s, min {min(wall[name]):.2f}, max {max(wall[name]):.2f}), "
                  f"client CPU {statistics.median(cpu[name]) / args.requests * 1e6:.0f} us/request; "
                  f"{m / base_wall:.2f}x raw wall (per-round {ratios:.2f}x), {statistics.median(cpu[name]) / base_cpu:.2f}x raw CPU")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
