"""Real processes for the tests of the server-grade deployment: a private Redis
(restartable), a RabbitMQ vhost of the test's own, a TCP relay in front of PostgreSQL
that the test can cut (the database going away, as the servers see it), and a
deployment of ``plugwire serve`` and ``plugwire worker`` processes sharing a database.

Each service a test needs is made for that test and removed after it. Without the
service on the machine the test skips saying why, except with ``CI=true``, where it fails.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx2
import pytest
from recipes_support import wait_for as wait_until

__all__ = ["Deployment", "PrivateRedis", "TcpRelay", "rabbit_vhost", "unavailable", "wait_until"]


def unavailable(reason: str) -> None:
    """Skip the test for a missing service, or fail it under CI (where every service runs)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: nothing may skip)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    """A redis-server of the test's own on a free port, nothing kept on disk (as a
    restarted broker would be: its queued messages are gone)."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            unavailable("redis-server is not installed")
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="plugwire-redis-")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "PrivateRedis":
        self.proc = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", self.dir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(self._up, 10, "redis-server to start")
        return self

    def _up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def rabbit_vhost() -> Iterator[str]:
    """Yield the amqp:// URL of a new vhost on the local RabbitMQ (guest/guest), deleted after."""
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        unavailable("rabbitmqctl is not installed (no local RabbitMQ)")
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=1).close()
    except OSError as exc:
        unavailable(f"RabbitMQ does not answer on 127.0.0.1:5672 ({exc})")
    vhost = f"plugwire_t_{uuid.uuid4().hex[:8]}"
    run = lambda *a: subprocess.run([ctl, *a], capture_output=True, text=True, timeout=60)  # noqa: E731
    made = run("add_vhost", vhost)
    if made.returncode != 0:
        unavailable(f"rabbitmqctl add_vhost failed: {made.stderr.strip()[:200]}")
    try:
        run("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        run("delete_vhost", vhost)


class TcpRelay:
    """Relays 127.0.0.1:``port`` to ``target``; :meth:`cut` closes every relayed
    connection and refuses new ones (the database stopped), :meth:`mend` accepts again."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = free_port()
        self._open = threading.Event()
        self._open.set()
        self._socks: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._stopped = False

    def start(self) -> "TcpRelay":
        self._listen()
        threading.Thread(target=self._accept_loop, daemon=True).start()
        return self

    def _listen(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(128)
        self._listener = sock

    def _accept_loop(self) -> None:
        while not self._stopped:
            if not self._open.is_set():
                time.sleep(0.02)
                continue
            try:
                client, _ = self._listener.accept()
            except OSError:
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._socks.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        """Drop every connection and refuse new ones (the port closes)."""
        self._open.clear()
        if self._listener is not None:
            try:  # wakes the accept() blocked on it (a close alone would leave it listening)
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
        with self._lock:
            socks, self._socks = list(self._socks), set()
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass

    def mend(self) -> None:
        """Accept connections again."""
        self._listen()
        self._open.set()

    def close(self) -> None:
        self._stopped = True
        self.cut()


class Deployment:
    """``plugwire serve`` and ``plugwire worker`` processes on one data folder (key file,
    API token) and one database, as the README's "Running at scale" runs them."""

    def __init__(self, home: Path, database_url: str, broker_url: str | None, *, env: dict[str, str] | None = None):
        self.home = Path(home)
        self.env = {
            **os.environ, "PLUGWIRE_HOME": str(self.home), "PLUGWIRE_DATABASE_URL": database_url,
            "PLUGWIRE_API_TOKEN": "scale-test-token", "PLUGWIRE_QUEUE": f"plugwire-t-{uuid.uuid4().hex[:8]}",
            "PLUGWIRE_SWEEP_SECONDS": "0.5", "PLUGWIRE_REPUBLISH_SECONDS": "3", "PLUGWIRE_STALE_SECONDS": "4",
            **(env or {}),
        }
        if broker_url:
            self.env["PLUGWIRE_BROKER_URL"] = broker_url
        self.servers: list[tuple[subprocess.Popen, str]] = []
        self.workers: list[subprocess.Popen] = []
        self._logs: list[Path] = []

    def _spawn(self, *args: str) -> subprocess.Popen:
        log = self.home / f"{args[0]}-{len(self._logs)}.log"
        self._logs.append(log)
        cmd = [sys.executable, "-c", "from plugwire.core.cli import main; main()", *args]
        # Each in a process group of its own: a worker's prefork children go with it.
        return subprocess.Popen(cmd, env=self.env, stdout=subprocess.DEVNULL, stderr=open(log, "wb"), start_new_session=True)

    @staticmethod
    def kill9(proc: subprocess.Popen) -> None:
        """kill -9 the process and its children (a machine that died)."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(10)

    def serve(self) -> str:
        """Start a server; returns its URL once it answers."""
        port = free_port()
        proc = self._spawn("serve", "--port", str(port), "--no-network-policy")
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: proc.poll() is None and _up(url) or proc.poll() is not None, 30, f"plugwire serve on {port}")
        finally:
            if proc.poll() is not None:
                raise AssertionError(f"plugwire serve exited: {self.logs()}")
        self.servers.append((proc, url))
        return url

    def worker(self, concurrency: int = 2) -> subprocess.Popen:
        """Start a Celery worker (``plugwire worker``)."""
        proc = self._spawn("worker", "--concurrency", str(concurrency), "--no-network-policy", "--loglevel", "warning")
        self.workers.append(proc)
        return proc

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in self._logs if p.exists())

    def close(self) -> None:
        procs = [p for p, _ in self.servers] + self.workers
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
            self.kill9(proc)  # whatever is left of its group (a worker's prefork children)


def _up(url: str) -> bool:
    try:
        return httpx2.get(f"{url}/health", timeout=0.5).status_code == 200
    except httpx2.HTTPError:
        return False


async def post_many(urls: list[str], token: str, n: int, *, concurrency: int = 32,
                    on_ack=None) -> tuple[list[str], dict[int, int]]:
    """POST ``n`` webhooks round-robin over ``urls``; returns the acknowledged job ids and a count by status."""
    acked: list[str] = []
    statuses: dict[int, int] = {}
    sem = asyncio.Semaphore(concurrency)
    async with httpx2.AsyncClient(timeout=10) as client:
        async def one(i: int) -> None:
            async with sem:
                try:
                    r = await client.post(f"{urls[i % len(urls)]}/hooks/{token}", json={"n": i})
                except httpx2.HTTPError:
                    statuses[0] = statuses.get(0, 0) + 1
                    return
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                if r.status_code == 202:
                    acked.append(r.headers["x-plugwire-job"])
                    if on_ack is not None:
                        on_ack(len(acked))

        await asyncio.gather(*(one(i) for i in range(n)))
    return acked, statuses
