"""Upstream responses are read as a stream and cut off at a cap (issue 13, item 3):
a job step, the wizard's send and a poll get the outcome 'response too large' for
an answer past the cap (by Content-Length, chunked, or a gzip bomb counted
decoded), keep its status and headers but no partial body, and close the
connection; Test connection reads only the first bytes it needs. The memory tests
run the request in a child process that reports its own peak RSS (VmHWM), so the
200 MB answer from a real server on 127.0.0.1 must not pass through its memory."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import subprocess
import sys
import textwrap
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from plugwire.core.connections.options import ConnectionOptions
from plugwire.core.http.exchange import RequestSpec
from plugwire.core.http.netpolicy import NetworkPolicy
from plugwire.core.http.send import send
from plugwire.core.recipes.model import Recipe, Step
from plugwire.core.recipes.runner import Runner
from plugwire.core.wizard.actions import build_action
from recipes_support import save_action

BIG = 200 * 1024 * 1024
CHUNK = b"a" * 65536
_BOMB: list[bytes] = []


def _bomb() -> bytes:
    """Return BIG bytes of zeros, gzip-compressed (about 200 KB)."""
    if not _BOMB:
        packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        zeros = bytes(1024 * 1024)
        _BOMB.append(b"".join(packer.compress(zeros) for _ in range(BIG // len(zeros))) + packer.flush())
    return _BOMB[0]


class _Upstream(BaseHTTPRequestHandler):
    """A hostile API: bodies made lazily, so the server itself stays small."""

    protocol_version = "HTTP/1.1"
    closed = threading.Event()  # set when a client hangs up on /stall

    def log_message(self, *args) -> None:
        pass

    def _head(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _stream(self, size: int) -> None:
        left = size
        while left > 0:
            piece = CHUNK[: min(left, len(CHUNK))]
            self.wfile.write(piece)
            left -= len(piece)

    def _chunked(self, size: int, first: bytes = b"") -> None:
        if first:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(first), first))
        left = size
        while left > 0:
            piece = CHUNK[: min(left, len(CHUNK))]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            left -= len(piece)
        self.wfile.write(b"0\r\n\r\n")

    def do_GET(self) -> None:  # noqa: C901 - one branch per hostile answer
        parts = self.path.split("?")[0].strip("/").split("/")
        kind, size = parts[0], int(parts[1]) if len(parts) > 1 else BIG
        try:
            if kind == "length":
                self._head(200, {"Content-Type": "text/plain", "Content-Length": str(size)})
                self._stream(size)
            elif kind == "chunked":
                self._head(200, {"Content-Type": "text/plain", "Transfer-Encoding": "chunked"})
                self._chunked(size)
            elif kind == "bomb":
                body = _bomb()
                self._head(200, {"Content-Type": "text/plain", "Content-Encoding": "gzip", "Content-Length": str(len(body))})
                self.wfile.write(body)
            elif kind == "json":
                # A JSON document of exactly `size` bytes.
                body = json.dumps({"d": "x" * (size - 9)}).encode()
                assert len(body) == size
                gz = "gzip" in parts
                if gz:
                    body = gzip.compress(body)
                self._head(200, {"Content-Type": "application/json", "Content-Length": str(len(body)), "X-Kind": "json",
                                 **({"Content-Encoding": "gzip"} if gz else {})})
                self.wfile.write(body)
            elif kind == "stall":
                # Promises a huge body and sends none: a client that waits for it
                # times out; one that refuses it by its Content-Length hangs up.
                self._head(200, {"Content-Type": "text/plain", "Content-Length": str(size)})
                self.wfile.flush()
                self.connection.settimeout(30)
                if self.connection.recv(1) == b"":
                    type(self).closed.set()
            elif kind == "redirect":
                self._head(302, {"Location": "/json/100", "Content-Type": "text/plain", "Content-Length": str(size)})
                self._stream(size)
            elif kind == "error":
                self._head(500, {"Content-Type": "text/plain", "Transfer-Encoding": "chunked"})
                self._chunked(size, first=b"boom ")
            else:
                self._head(404, {"Content-Length": "0"})
        except (BrokenPipeError, ConnectionResetError, TimeoutError, OSError):
            self.close_connection = True

    def do_POST(self) -> None:  # a token endpoint: the form is read and dropped
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.do_GET()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        pass  # a client that hangs up mid-answer is what these tests do on purpose


@pytest.fixture(scope="module")
def upstream():
    _bomb()
    server = _QuietServer(("127.0.0.1", 0), _Upstream)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _connection(connections, name="api", **options):
    connections.create({"name": name, "auth_type": "basic", "settings": {"username": "u", "password": "caps-pw-2231"}, **options})
    return connections.get(name)


# -- memory, measured in a child process ------------------------------------------------

_PRELUDE = """
import json, sys
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
"""


def _peak_growth(home, code: str, warm: str) -> tuple[int, dict]:
    """Run ``warm`` then ``code`` in a fresh interpreter on ``home``; return how much
    its peak RSS grew during ``code`` and the ``result`` dict ``code`` sets."""
    script = _PRELUDE + textwrap.dedent(warm) + "\nbefore = hwm()\n" + textwrap.dedent(code) + (
        "\nprint(json.dumps({'growth': hwm() - before, 'result': result}))\n"
    )
    env = {**os.environ, "PLUGWIRE_HOME": str(home.path)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return out["growth"], out["result"]


LIMIT = 64 * 1024 * 1024  # well below the 200 MB body, well above a 10 MB cap and its copies


@pytest.mark.parametrize("path", ["length", "chunked", "bomb"])
def test_a_job_step_is_cut_off_at_the_cap(home, connections, upstream, path):
    _connection(connections)
    # Proven as Apply saves one (the bomb could never be proven: its answer is past any cap).
    save_action(home, "big", connection="api", method="GET", url=f"{upstream}/{path}")
    save_action(home, "small", connection="api", method="GET", url=f"{upstream}/json/100")
    warm = """
    import asyncio
    from plugwire.core.storage.home import Home
    from plugwire.core.http.netpolicy import NetworkPolicy
    from plugwire.core.recipes.model import Recipe, Step
    from plugwire.core.recipes.runner import Runner
    runner = Runner(Home(), policy=NetworkPolicy(enabled=False))
    def run(action):
        recipe = Recipe(name="r", trigger={"type": "webhook"}, steps=[Step(name="s", action=action)])
        return asyncio.get_event_loop().run_until_complete(runner.run(recipe, {"payload": {}}))
    assert run("small")["status"] == "succeeded"
    """
    growth, result = _peak_growth(home, 'step = run("big")["steps"][0]\nresult = step', warm)
    assert result["outcome"] == "response_too_large", result
    assert result["status"] == "failed"
    assert "larger than 10 MB" in result["error"] and "max_response_bytes" in result["error"]
    assert result["output"]["status"] == 200 and result["output"]["body"] is None
    assert growth < LIMIT, f"peak RSS grew by {growth / 2**20:.0f} MB"


def test_the_wizard_send_is_cut_off_at_the_cap(home, connections, upstream):
    _connection(connections)
    warm = f"""
    from plugwire.core.storage.home import Home
    from plugwire.core.connections.model import Connections
    from plugwire.core.http.netpolicy import NetworkPolicy
    from plugwire.core.wizard.steps import Wizard
    home = Home()
    def attempt(url):
        wizard = Wizard(home, connections=Connections(home), policy=NetworkPolicy(enabled=False))
        wizard.start("GET", url, "api")
        return wizard.send().exchange
    assert attempt("{upstream}/json/100").ok
    """
    growth, result = _peak_growth(home, f'ex = attempt("{upstream}/chunked")\nresult = ex.model_dump(mode="json")', warm)
    assert result["outcome"] == "response_too_large" and not result["ok"]
    assert result["response"]["status"] == 200 and result["response"]["headers"]["Content-Type"] == "text/plain"
    assert result["response"]["body"] is None and result["response"]["text"] is None
    assert growth < LIMIT, f"peak RSS grew by {growth / 2**20:.0f} MB"


def test_test_connection_reads_only_what_it_needs(home, connections, upstream):
    _connection(connections)
    warm = f"""
    from plugwire.core.storage.home import Home
    from plugwire.core.connections.model import Connections
    from plugwire.core.http.testconn import test_connection
    connections = Connections(Home())
    conn = connections.get("api")
    assert test_connection(conn, connections, "{upstream}/json/100").ok
    """
    code = f"""
    result = {{path: test_connection(conn, connections, "{upstream}/" + path).model_dump(mode="json")
              for path in ("chunked", "length", "bomb", "error")}}
    """
    growth, result = _peak_growth(home, code, warm)
    for path in ("chunked", "length", "bomb"):
        assert result[path]["outcome"] == "ok" and result[path]["status"] == 200, result[path]
    assert result["error"]["outcome"] == "http_error" and result["error"]["api_message"].startswith("boom")
    assert growth < LIMIT, f"peak RSS grew by {growth / 2**20:.0f} MB"


def test_a_poll_is_cut_off_at_the_cap(home, connections, upstream):
    _connection(connections)
    warm = f"""
    from pydantic import BaseModel
    from plugwire import hookimpl
    from plugwire.core.http.netpolicy import NetworkPolicy
    from plugwire.core.plugincore.manager import get_plugin_manager
    from plugwire.core.plugincore.triggers import TriggerType
    from plugwire.core.recipes.model import Recipes
    from plugwire.core.recipes.polling import poll_once
    from plugwire.core.storage.home import Home

    class Config(BaseModel):
        url: str
        connection: str | None = "api"

    class Feed(TriggerType):
        name = "caps_feed"
        title = "A feed"
        Config = Config
        polls = True
        def sample_event(self, config):
            return {{}}
        def poll_interval(self, config):
            return 60.0
        def poll(self, config, context):
            response = context.client.get(config.url)
            context.emit({{"size": len(response.content)}}, str(len(response.content)))

    class Plugin:
        @hookimpl
        def register_triggers(self, register):
            register(Feed())

    get_plugin_manager().register(Plugin(), name="caps-feed")
    home = Home()
    recipes = Recipes(home)
    jobs = home.jobs()
    def poll(name, url):
        recipes.create({{"name": name, "trigger": {{"type": "caps_feed", "config": {{"url": url}}}}}})
        return poll_once(home, jobs, recipes.start(name), policy=NetworkPolicy(enabled=False))
    assert poll("small", "{upstream}/json/100").ok
    """
    growth, result = _peak_growth(home, f'report = poll("big", "{upstream}/chunked")\nresult = {{"ok": report.ok, "error": report.error}}', warm)
    assert not result["ok"] and "larger than 10 MB" in result["error"] and "max_response_bytes" in result["error"], result
    assert growth < LIMIT, f"peak RSS grew by {growth / 2**20:.0f} MB"


# -- where the cap falls, and whose cap it is -----------------------------------------------


def _step(home, action: str) -> dict:
    runner = Runner(home, policy=NetworkPolicy(enabled=False))

    async def main():
        try:
            return await runner.run(Recipe(name="r", trigger={"type": "webhook"}, steps=[Step(name="s", action=action)]), {"payload": {}})
        finally:
            await runner.aclose()

    return asyncio.run(main())["steps"][0]


def test_a_response_at_or_just_under_the_cap_is_kept_whole(home, connections, upstream):
    _connection(connections, max_response_bytes=100_000)
    for size in (99_999, 100_000, 100_001):
        save_action(home, f"s{size}", connection="api", method="GET", url=f"{upstream}/json/{size}")
        save_action(home, f"g{size}", connection="api", method="GET", url=f"{upstream}/json/{size}/gzip")
    for name in ("s99999", "s100000", "g99999", "g100000"):
        step = _step(home, name)
        assert step["status"] == "succeeded" and step["outcome"] == "ok", step
        assert step["output"]["size"] == int(name[1:]) and len(step["output"]["body"]["d"]) == int(name[1:]) - 9
    for name in ("s100001", "g100001"):  # by Content-Length, then counted decoded
        step = _step(home, name)
        assert step["outcome"] == "response_too_large", step
        assert "larger than 100000 bytes (max_response_bytes)" in step["error"]


def test_the_actions_cap_wins_over_the_connections(home, connections, upstream):
    _connection(connections, max_response_bytes=1_000)
    save_action(home, "more", connection="api", method="GET", url=f"{upstream}/json/5000", max_response_bytes=10_000)
    save_action(home, "default", connection="api", method="GET", url=f"{upstream}/json/5000")
    _connection(connections, name="roomy", max_response_bytes=1_000_000)
    save_action(home, "less", connection="roomy", method="GET", url=f"{upstream}/chunked/5000", max_response_bytes=1_024)
    assert _step(home, "more")["status"] == "succeeded"
    assert _step(home, "default")["outcome"] == "response_too_large"
    less = _step(home, "less")
    assert less["outcome"] == "response_too_large" and "larger than 1 KB" in less["error"]


def test_a_content_length_past_the_cap_is_refused_unread_and_the_connection_closed(connections, upstream):
    conn = _connection(connections, timeout=20)
    _Upstream.closed.clear()
    ex = send(RequestSpec(method="GET", url=f"{upstream}/stall"), connection=conn, connections=connections)
    # The body never comes: waiting for it would have been a timeout.
    assert ex.outcome == "response_too_large" and ex.response.status == 200 and ex.response.body is None
    assert ex.response.headers["Content-Length"] == str(BIG)
    assert _Upstream.closed.wait(10), "the connection was left open"


def test_a_redirects_body_is_capped_too(connections, upstream):
    conn = _connection(connections, max_response_bytes=50_000)
    ex = send(RequestSpec(method="GET", url=f"{upstream}/redirect/60000"), connection=conn, connections=connections)
    assert ex.outcome == "response_too_large" and ex.response.status == 302
    ok = send(RequestSpec(method="GET", url=f"{upstream}/redirect/40000"), connection=conn, connections=connections)
    assert ok.ok and ok.response.body == {"d": "x" * 91}


def test_max_response_bytes_is_validated_naming_the_field():
    assert ConnectionOptions(name="a", auth_type="none").max_response_bytes == 10_485_760
    with pytest.raises(ValueError, match="max_response_bytes"):
        ConnectionOptions(name="a", auth_type="none", max_response_bytes=0)
    with pytest.raises(Exception, match="max_response_bytes"):
        build_action({"name": "a", "method": "GET", "url": "https://api.example.com/x", "max_response_bytes": -1})


def test_the_cli_sets_and_changes_max_response_bytes(run_cli, connections):
    code, out, err = run_cli("connections", "add", "capped", "--auth", "none", "--max-response-bytes", "2048")
    assert code == 0, err
    assert connections.get("capped").options.max_response_bytes == 2048
    code, out, err = run_cli("connections", "edit", "capped", "--max-response-bytes", "4096")
    assert code == 0, err
    assert connections.get("capped").options.max_response_bytes == 4096
    code, out, err = run_cli("connections", "edit", "capped", "--max-response-bytes", "0")
    assert code == 2 and "max_response_bytes" in out + err


def test_a_token_endpoints_answer_is_capped_too(connections, upstream):
    """An auth type's own requests (here the OAuth2 client-credentials token request)
    are read with a cap of their own: a token is a few hundred bytes."""
    from plugwire.core.http.testconn import test_connection

    conn = connections.create({
        "name": "cc", "auth_type": "oauth2_client_credentials",
        "settings": {"token_url": f"{upstream}/chunked", "client_id": "c", "client_secret": "cc-secret-7731"},
    })
    found = test_connection(conn, connections, f"{upstream}/json/100")
    assert not found.ok and found.field == "settings.token_url"
    assert "token endpoint" in found.message and "larger than 1 MB" in found.message
