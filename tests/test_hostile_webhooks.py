"""Webhook intake against hostile senders, on real servers on 127.0.0.1: bodies past
the limit (stopped while they arrive, the server's memory flat) and slow senders cut off."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from typing import Iterator
from urllib.parse import urlsplit

import httpx2
import pytest

from conftest import free_port
from plugwire.core.base.errors import UserInputError
from plugwire.core.recipes.model import Recipes
from recipes_support import plugwire_server, wait_for

CHUNK = 64 * 1024


@pytest.fixture
def hooks(home) -> dict[str, str]:
    """Started webhook recipes by name -> token: ``small`` (1 KB limit), ``open`` (the
    server's limit), ``loose`` (its own 8 KB limit)."""
    recipes = Recipes(home)
    configs = {"small": {"max_body_bytes": 1024}, "open": {}, "loose": {"max_body_bytes": 8192}}
    for name, config in configs.items():
        recipes.create({"name": name, "trigger": {"type": "webhook", "config": config}, "steps": []})
    return {name: recipes.start(name).token for name in configs}


# -- a raw HTTP/1.1 client: senders that httpx2 would not imitate ------------------------
def _connect(url: str, token: str, headers: dict[str, str]) -> socket.socket:
    host, port = urlsplit(url).hostname, urlsplit(url).port
    sock = socket.create_connection((host, port), timeout=20)
    head = [f"POST /hooks/{token} HTTP/1.1", f"Host: {host}:{port}", *(f"{k}: {v}" for k, v in headers.items())]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
    return sock


def _response(sock: socket.socket, timeout: float = 15.0) -> tuple[int, dict[str, str], bytes]:
    """Read one response (the server sends Content-Length); fails the test after ``timeout`` s."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            got = sock.recv(65536)
            assert got, f"the server closed the connection without answering: {data!r}"
            data += got
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        while len(body) < int(headers.get("content-length", "0")):
            got = sock.recv(65536)
            assert got, "the server closed the connection in the middle of its answer"
            body += got
    except socket.timeout:
        raise AssertionError(f"no answer within {timeout} s (the server is still waiting for the body)") from None
    return int(lines[0].split()[1]), headers, body


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def _jobs(state) -> int:
    return sum(state.jobs.counts().values())


# -- 1. the body limit ---------------------------------------------------------------------
def test_a_body_past_the_limit_is_refused_while_the_rest_is_still_on_its_way(home, hooks):
    with plugwire_server(home) as (state, url):
        sock = _connect(url, hooks["small"], {"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
        with sock:
            sock.sendall(_chunk(b" " * 2048))  # past the 1 KB limit, and the body is not over
            status, headers, body = _response(sock)
        assert status == 413 and b"1024 bytes" in body and b"max_body_bytes" in body
        assert headers.get("connection") == "close"  # the rest of the upload is not read
        # Announced too large: refused from the headers alone, before any of the body.
        sock = _connect(url, hooks["small"], {"Content-Type": "application/json", "Content-Length": "50000000"})
        with sock:
            status, _, body = _response(sock)
        assert status == 413 and b"1024 bytes" in body
        assert _jobs(state) == 0


def test_the_server_limit_applies_unless_the_recipe_sets_its_own(home, hooks):
    body = b'{"pad": "' + b"x" * 5000 + b'"}'
    with plugwire_server(home, max_body_bytes=4096) as (state, url):
        refused = httpx2.post(f"{url}/hooks/{hooks['open']}", content=body, headers={"content-type": "application/json"})
        assert refused.status_code == 413 and "4096 bytes" in refused.json()["error"]
        assert "PLUGWIRE_MAX_BODY_BYTES" in refused.json()["error"]
        looser = httpx2.post(f"{url}/hooks/{hooks['loose']}", content=body, headers={"content-type": "application/json"})
        assert looser.status_code == 202  # its own 8 KB limit, looser than the server's
        assert httpx2.post(f"{url}/hooks/{hooks['open']}", json={"small": True}).status_code == 202


def test_intake_settings_are_checked(monkeypatch):
    from plugwire.core.server.intake import HARD_MAX_BODY_BYTES, IntakeLimits

    monkeypatch.delenv("PLUGWIRE_MAX_BODY_BYTES", raising=False)
    monkeypatch.delenv("PLUGWIRE_BODY_TIMEOUT", raising=False)
    assert IntakeLimits.from_settings() == IntakeLimits(max_body_bytes=1_048_576, body_timeout=30.0)
    monkeypatch.setenv("PLUGWIRE_MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("PLUGWIRE_BODY_TIMEOUT", "2.5")
    assert IntakeLimits.from_settings() == IntakeLimits(max_body_bytes=2048, body_timeout=2.5)
    assert IntakeLimits.from_settings(max_body_bytes=10, body_timeout=1).max_body_bytes == 10  # the option wins
    for env, value in (("PLUGWIRE_MAX_BODY_BYTES", "lots"), ("PLUGWIRE_MAX_BODY_BYTES", str(HARD_MAX_BODY_BYTES + 1)),
                       ("PLUGWIRE_BODY_TIMEOUT", "0"), ("PLUGWIRE_BODY_TIMEOUT", "soon")):
        monkeypatch.setenv(env, value)
        with pytest.raises(UserInputError) as info:
            IntakeLimits.from_settings()
        assert info.value.field == env and info.value.fix
        monkeypatch.delenv(env)


def _memory(pid: int, field: str) -> int:
    """Return ``VmRSS`` (resident now) or ``VmHWM`` (resident at the peak) of process ``pid``, in bytes."""
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith(field + ":"))


@contextmanager
def _plugwire_serve(home, *args: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """Run ``plugwire serve`` in a process of its own (so its memory can be measured)."""
    port = free_port()
    env = {**os.environ, "PLUGWIRE_HOME": str(home.path)}
    log = open(os.path.join(str(home.path), "serve.log"), "wb")
    proc = subprocess.Popen([sys.executable, "-c", "from plugwire.core.cli import main; main()", "serve", "--port", str(port),
                             "--no-network-policy", "--workers", "0", *args], env=env, stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None, "plugwire serve exited: " + open(log.name, "rb").read().decode(errors="replace")
        try:
            return httpx2.get(f"{url}/hooks/none", timeout=1).status_code == 404
        except httpx2.TransportError:
            return False

    try:
        wait_for(up, 60, "plugwire serve to answer")
        yield proc, url
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


def test_a_50_mb_body_to_a_1_kb_recipe_is_cut_short_and_the_server_memory_stays_flat(home, hooks):
    total = 50 * 1024 * 1024
    with _plugwire_serve(home, "--max-body-bytes", "4096") as (proc, url):
        httpx2.post(f"{url}/hooks/{hooks['open']}", json={"warm": "up"})  # first request's imports out of the figure
        with open(f"/proc/{proc.pid}/clear_refs", "w") as fh:
            fh.write("5")  # the peak starts again from here
        before = _memory(proc.pid, "VmRSS")
        sock = _connect(url, hooks["small"], {"Content-Type": "application/octet-stream", "Transfer-Encoding": "chunked"})
        sent, block = 0, _chunk(b"\x00" * CHUNK)
        with sock:
            try:
                while sent < total and not select.select([sock], [], [], 0)[0]:
                    sock.sendall(block)
                    sent += CHUNK
                if sent >= total:
                    sock.sendall(b"0\r\n\r\n")
                status = _response(sock)[0]
            except (ConnectionResetError, BrokenPipeError):
                status = None  # the server hung up on the rest of the upload (its answer lost with it)
        grown = _memory(proc.pid, "VmHWM") - before
    print(f"sent {sent / 2**20:.1f} MB of {total / 2**20:.0f} MB; server RSS {before / 2**20:.1f} MB, peak +{grown / 2**20:.1f} MB")
    assert status in (413, None)
    assert sent < total // 4, f"the server read {sent} bytes of a body refused at 1 KB"
    assert grown < 16 * 2**20, f"the server's memory peaked {grown} bytes higher"


# -- 2. slow senders -----------------------------------------------------------------------
def test_a_slow_sender_is_cut_off_after_the_body_timeout(home, hooks):
    with plugwire_server(home, body_timeout=1.0) as (state, url):
        sock = _connect(url, hooks["open"], {"Content-Type": "text/plain", "Content-Length": "100000"})
        stop = threading.Event()

        def trickle() -> None:  # 10 bytes a second, as the probe's slow sender did
            while not stop.wait(0.1):
                try:
                    sock.sendall(b"x")
                except OSError:
                    return

        sender = threading.Thread(target=trickle, daemon=True)
        started = time.monotonic()
        sender.start()
        try:
            status, headers, body = _response(sock)
        finally:
            stop.set()
            sender.join(5)
            sock.close()
        assert status == 408 and b"1 s" in body and b"PLUGWIRE_BODY_TIMEOUT" in body
        assert headers.get("connection") == "close"
        assert time.monotonic() - started < 8
        assert _jobs(state) == 0
