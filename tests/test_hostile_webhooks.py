"""Webhook intake against hostile senders, on real servers on 127.0.0.1: bodies past
the limit (stopped while they arrive, the server's memory flat), slow senders cut off,
unreadable payloads and signature headers answered with a 4xx (never a 500, never a
traceback at ERROR), and bodies decoded in the charset they declare."""

from __future__ import annotations

import hashlib
import hmac
import logging
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
from test_triggers import standard_headers

SECRET = "whsec_" + "a2tr" * 8  # base64 of b"kkk" * 8
CHUNK = 64 * 1024
HARD_MAX = 50 * 1024 * 1024  # the largest limit a recipe or the server may set


@pytest.fixture
def hooks(home) -> dict[str, str]:
    """Started webhook recipes by name -> token: ``small`` (1 KB limit), ``open`` (the
    server's limit), ``loose`` (its own 8 KB limit), ``hmac`` and ``std`` (signed)."""
    recipes = Recipes(home)
    configs = {
        "small": {"max_body_bytes": 1024},
        "open": {},
        "loose": {"max_body_bytes": 8192},
        "hmac": {"signature": {"scheme": "hmac-sha256", "secret": "s3cret", "header": "X-Sig", "prefix": "sha256="}},
        "std": {"signature": {"scheme": "standard-webhooks", "secret": SECRET}},
    }
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
    except TimeoutError:
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
    with plugwire_server(home, max_body_bytes=4096) as (_, url):
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


def test_serve_refuses_a_limit_out_of_range_before_it_starts(run_cli, monkeypatch):
    code, _, err = run_cli("serve", "--max-body-bytes", str(HARD_MAX + 1))
    assert code == 2 and "--max-body-bytes 52428801 is out of range" in err and "serving" not in err
    monkeypatch.setenv("PLUGWIRE_BODY_TIMEOUT", "0")
    code, _, err = run_cli("serve")
    assert code == 2 and "PLUGWIRE_BODY_TIMEOUT=0 is out of range" in err


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


# -- 3. unreadable input is a 4xx, never a 500 ---------------------------------------------
@contextmanager
def _errors_logged() -> Iterator[list[logging.LogRecord]]:
    """ERROR records of plugwire, uvicorn (where an app's traceback goes) and the root
    logger. Entered after the server started: uvicorn's logging setup drops the
    handlers its loggers had."""
    found: list[logging.LogRecord] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = found.append  # type: ignore[method-assign]
    loggers = [logging.getLogger(n) for n in ("", "uvicorn", "uvicorn.error", "plugwire")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield found
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def test_the_log_capture_sees_an_app_traceback(home):
    with plugwire_server(home), _errors_logged() as errors:
        logging.getLogger("uvicorn.error").error("Exception in ASGI application")
    assert errors


NESTED = {
    "JSON arrays 990 deep": ("[" * 990 + "]" * 990, "application/json"),
    "JSON objects 990 deep": ('{"a":' * 990 + "1" + "}" * 990, "application/json"),
    "JSON 100k deep": ("[" * 100_000 + "]" * 100_000, "application/json"),
    "XML 990 deep": ("<a>" * 990 + "</a>" * 990, "application/xml"),
    "XML 100k deep": ("<a>" * 100_000 + "</a>" * 100_000, "text/xml"),
}


@pytest.mark.parametrize("case", NESTED)
def test_deeply_nested_payloads_are_a_400(home, hooks, case):
    body, ctype = NESTED[case]
    with plugwire_server(home, max_body_bytes=HARD_MAX) as (state, url), _errors_logged() as errors_logged:
        answer = httpx2.post(f"{url}/hooks/{hooks['open']}", content=body, headers={"content-type": ctype}, timeout=30)
    assert answer.status_code == 400 and "nested more than" in answer.json()["error"], answer.text
    assert not errors_logged and _jobs(state) == 0


def _signed_std(body: bytes) -> dict[str, str]:
    return standard_headers(SECRET, body, "msg_1")


HEADERS = {
    "hmac, non-ASCII": ("hmac", [("X-Sig", "sha256=é".encode())], "Invalid signature in the X-Sig header"),
    "hmac, invalid UTF-8": ("hmac", [("X-Sig", b"sha256=\xff\xfe\xc3")], "Invalid signature in the X-Sig header"),
    "standard, non-ASCII signature": ("std", [*(_signed_std(b"{}") | {"webhook-signature": "v1,é".encode()}).items()],
                                      "Invalid signature in the webhook-signature header"),
    "standard, invalid UTF-8 id": ("std", [("webhook-id", b"\xff\xfe"), ("webhook-timestamp", str(int(time.time()))),
                                           ("webhook-signature", "v1,AAAA")], "Invalid signature"),
    "standard, odd timestamp": ("std", [("webhook-id", "m"), ("webhook-timestamp", "1_700_000_000"),
                                        ("webhook-signature", "v1,AAAA")], "Invalid webhook-timestamp"),
    # Prefixes of the right signature (accepted by a prefix comparison), and a stamp
    # from the future (accepted by a window that forgets abs()): issue 17 item 1.
    "hmac, prefix only": ("hmac", [("X-Sig", "sha256=")], "Invalid signature in the X-Sig header"),
    "hmac, short": ("hmac", [("X-Sig", "sha256=" + hmac.new(b"s3cret", b"{}", hashlib.sha256).hexdigest()[:8])],
                    "Invalid signature in the X-Sig header"),
    "standard, empty v1": ("std", [*(_signed_std(b"{}") | {"webhook-signature": "v1,"}).items()],
                           "Invalid signature in the webhook-signature header"),
    "standard, from the future": ("std", [*standard_headers(SECRET, b"{}", "msg_1", int(time.time()) + 3600).items()],
                                  "outside the tolerance window"),
}


@pytest.mark.parametrize("case", HEADERS)
def test_hostile_signature_headers_are_a_401(home, hooks, case):
    recipe, headers, message = HEADERS[case]
    with plugwire_server(home) as (state, url), _errors_logged() as errors_logged:
        answer = httpx2.post(f"{url}/hooks/{hooks[recipe]}", content=b"{}", headers=[("content-type", "application/json"), *headers])
    assert answer.status_code == 401 and message in answer.json()["error"], answer.text
    assert not errors_logged and _jobs(state) == 0


BODIES = {
    "text, not UTF-8": (b"caf\xe9", "text/plain", 400, "not valid utf-8"),
    "form, not UTF-8": (b"a=caf\xe9", "application/x-www-form-urlencoded", 400, "charset"),
    "JSON, truncated": (b'{"a": [1, 2', "application/json", 400, "not valid JSON"),
    "XML, not well-formed": (b"<a><b></a>", "application/xml", 400, "not valid XML"),
    "XML, billion laughs": (b'<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">' + b"".join(b'<!ENTITY %c "%s">' % (98 + i, b"&%c;" % (97 + i) * 10)
                                                                              for i in range(9)) + b"]><l>&j;</l>",
                            "application/xml", 400, "amplification"),
    "XML, external entity": (b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>', "application/xml", 400, "not valid XML"),
    "unknown charset": (b"hello", "text/plain; charset=klingon", 415, "'klingon'"),
    "a codec that is no charset": (b"hello", "text/plain; charset=rot13", 415, "'rot13'"),
    "punycode is no charset": (b"hello", "application/json; charset=punycode", 415, "'punycode'"),
    "non-ASCII charset": ("hello", "text/plain; charset=é".encode(), 415, "charset"),
}


@pytest.mark.parametrize("case", BODIES)
def test_unreadable_payloads_are_a_4xx_naming_the_problem(home, hooks, case):
    body, ctype, status, message = BODIES[case]
    with plugwire_server(home) as (state, url), _errors_logged() as errors_logged:
        answer = httpx2.post(f"{url}/hooks/{hooks['open']}", content=body, headers=[("content-type", ctype)])
    assert answer.status_code == status and message in answer.json()["error"], answer.text
    assert not errors_logged and _jobs(state) == 0


def test_bodies_plugwire_does_not_parse_are_kept_raw_not_refused(home, hooks):
    with plugwire_server(home) as (state, url), _errors_logged() as errors_logged:
        for body, ctype in ((b"--x\r\nContent-Disposition: form-da", "multipart/form-data; boundary=x"),
                            (b"--", "multipart/form-data"), (b"\xff" * 64, "application/octet-stream")):
            answer = httpx2.post(f"{url}/hooks/{hooks['open']}", content=body, headers={"content-type": ctype})
            assert answer.status_code == 202, answer.text
            job = state.jobs.get(answer.headers["x-plugwire-job"])
            assert job["event"]["payload"]["size"] == len(body)
    assert not errors_logged


# -- 4. charsets ---------------------------------------------------------------------------
CHARSETS = {
    "text in latin-1": ("Café in Köln".encode("latin-1"), "text/plain; charset=latin-1", "Café in Köln"),
    "text in windows-1252, quoted": ("€5".encode("cp1252"), 'text/plain; charset="windows-1252"', "€5"),
    "form in ISO-8859-1": (b"name=caf%E9&city=K\xf6ln", "application/x-www-form-urlencoded; charset=iso-8859-1",
                           {"name": "café", "city": "Köln"}),
    "JSON in UTF-16": ('{"name": "Café"}'.encode("utf-16"), "application/json; charset=utf-16", {"name": "Café"}),
    "JSON in UTF-8 with a BOM": ('{"name": "Café"}'.encode("utf-8-sig"), "application/json", {"name": "Café"}),
    "XML in latin-1, declared in the header": ("<n>Café</n>".encode("latin-1"), "application/xml; charset=ISO-8859-1", {"n": "Café"}),
    "XML in latin-1, declared in the document": ('<?xml version="1.0" encoding="ISO-8859-1"?><n>Café</n>'.encode("latin-1"),
                                                "application/xml", {"n": "Café"}),
}


@pytest.mark.parametrize("case", CHARSETS)
def test_bodies_are_decoded_in_the_charset_they_declare(home, hooks, case):
    body, ctype, payload = CHARSETS[case]
    with plugwire_server(home) as (state, url):
        answer = httpx2.post(f"{url}/hooks/{hooks['open']}", content=body, headers={"content-type": ctype})
        assert answer.status_code == 202, answer.text
        assert state.jobs.get(answer.headers["x-plugwire-job"])["event"]["payload"] == payload
