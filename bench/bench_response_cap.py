"""Peak memory of a 200 MB answer: a job step, the wizard's send and Test connection,
each against the same answer read whole with raw httpx2 (the way they all read
before the cap), in the same run (loopback only).

    python bench/bench_response_cap.py [--rounds 3] [--mb 200]

Each measurement is a fresh child process: it imports what it needs, makes one
small request to warm up, notes its peak RSS (VmHWM), makes the big request, and
reports how much the peak grew. The server is a thread of this process that
makes the body as it sends it (chunked, no Content-Length: nothing to refuse
early), so only the child's reading is measured. The figures are the median and
the largest growth over the rounds, with the outcome each path reported.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PIECE = b"x" * 65536


class _Answer(BaseHTTPRequestHandler):
    """``/N`` answers N bytes of text, chunked; ``/small`` a little JSON."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/small":
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        left = int(self.path.strip("/"))
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            while left > 0:
                piece = PIECE[: min(left, len(PIECE))]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                left -= len(piece)
            self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the reader hung up at its cap
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # a reader that hung up at its cap is the point, not an error


PRELUDE = """
import asyncio, json, sys, time
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
from plugwire.core.storage.home import Home
from plugwire.core.connections.model import Connections
from plugwire.core.http.client import client_for
from plugwire.core.http.netpolicy import NetworkPolicy
home = Home(); connections = Connections(home); conn = connections.get("api")
SMALL, BIG = sys.argv[1] + "/small", sys.argv[1] + "/" + sys.argv[2]
"""

# Before the cap, the wizard and Test connection read the whole answer with the
# connection's client, as this does.
_WHOLE = ("""
    def run(url):
        with client_for(conn, connections) as client:
            return client.get(url).status_code
    run(SMALL)
    """, "outcome = f'read whole, {run(BIG)}'")

# Each path: (warm-up and setup, the measured call setting `outcome`).
PATHS = {
    ("job step", "before"): ("""
        async def read(url):
            async with client_for(conn, connections, asynchronous=True) as client:
                return (await client.get(url)).status_code
        run = lambda url: asyncio.run(read(url))
        run(SMALL)
        """, "outcome = f'read whole, {run(BIG)}'"),
    ("job step", "now"): ("""
        from plugwire.core.recipes.model import Recipe, Step
        from plugwire.core.recipes.runner import Runner
        def run(action):
            async def main():
                runner = Runner(home, policy=NetworkPolicy(enabled=False))
                try:
                    return await runner.run(Recipe(name="r", trigger={"type": "webhook"}, steps=[Step(name="s", action=action)]), {})
                finally:
                    await runner.aclose()
            return asyncio.run(main())["steps"][0]
        run("small")
        """, "outcome = run('big')['outcome']"),
    ("wizard", "before"): _WHOLE,
    ("wizard", "now"): ("""
        from plugwire.core.wizard.steps import Wizard
        def run(url):
            wizard = Wizard(home, connections=connections, policy=NetworkPolicy(enabled=False))
            wizard.start("GET", url, "api")
            return wizard.send().exchange.outcome
        run(SMALL)
        """, "outcome = run(BIG)"),
    ("Test connection", "before"): _WHOLE,
    ("Test connection", "now"): ("""
        from plugwire.core.http.testconn import test_connection
        run = lambda url: test_connection(conn, connections, url).outcome.value
        run(SMALL)
        """, "outcome = run(BIG)"),
}


def _measure(home: str, base: str, size: int, setup: str, call: str) -> dict:
    script = PRELUDE + textwrap.dedent(setup) + (
        "\nbefore = hwm(); t0 = time.perf_counter()\n" + call +
        "\nprint(json.dumps({'growth': hwm() - before, 'seconds': time.perf_counter() - t0, 'outcome': outcome}))\n"
    )
    env = {**os.environ, "PLUGWIRE_HOME": home}
    done = subprocess.run([sys.executable, "-c", script, base, str(size)], capture_output=True, text=True, env=env, timeout=600)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def _prepare(home: str, base: str, size: int) -> None:
    from plugwire.core.connections.model import Connections
    from plugwire.core.storage.home import Home
    from plugwire.core.wizard.actions import Actions, build_action

    data = Home(home)
    Connections(data).create({"name": "api", "auth_type": "basic", "settings": {"username": "u", "password": "bench-pw-1"}})
    actions = Actions(data)
    actions.create(build_action({"name": "small", "connection": "api", "method": "GET", "url": f"{base}/small"}))
    actions.create(build_action({"name": "big", "connection": "api", "method": "GET", "url": f"{base}/{size}"}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mb", type=int, default=200)
    args = parser.parse_args()
    size = args.mb * 1024 * 1024
    server = _Server(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory() as home:
        os.environ["PLUGWIRE_HOME"] = home
        _prepare(home, base, size)
        found: dict[tuple[str, str], list[dict]] = {key: [] for key in PATHS}
        for _ in range(args.rounds):  # alternating, so the machine's other load weighs on both alike
            for key, (setup, call) in PATHS.items():
                found[key].append(_measure(home, base, size, setup, call))
    server.shutdown()
    print(f"peak RSS growth for a {args.mb} MB answer (chunked), {args.rounds} rounds; median / largest, MB")
    print(f"{'path':<16} {'read':<7} {'median':>8} {'largest':>8} {'seconds':>8}  outcome")
    for (path, kind), runs in found.items():
        grown = [r["growth"] / 2**20 for r in runs]
        seconds = statistics.median(r["seconds"] for r in runs)
        print(f"{path:<16} {kind:<7} {statistics.median(grown):8.1f} {max(grown):8.1f} {seconds:8.2f}  {runs[-1]['outcome']}")


if __name__ == "__main__":
    main()
