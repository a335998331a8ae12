"""Browser tests of the web console: headless Chromium (Debian's ``chromium``)
driven by Playwright against a real ``plugwire serve`` subprocess on 127.0.0.1.

Without a browser these tests skip, except in CI (``CI=true``), where a missing
browser is a failure: CI must prove the console works. Playwright's own browser
download is never used (it needs the internet); ``PLUGWIRE_CHROMIUM`` may point at
another Chromium binary.

Each module gets one server (its own data folder), so scenarios stay fast. Every
page a test visits can be saved with ``shot(page, name)`` to
``artifacts/screenshots/`` for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx2
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
API_TOKEN = "e2e-api-token-5f1c0a9d"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def free_port() -> int:
    """Return a port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chromium() -> str | None:
    wanted = os.environ.get("PLUGWIRE_CHROMIUM")
    if wanted:
        return wanted if os.access(wanted, os.X_OK) else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: CI must run the browser tests (install Debian's chromium, see .ci/run).", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """A headless Chromium for this module's tests."""
    executable = _chromium()
    if executable is None:
        _missing("no chromium browser is installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed")
    driver = sync_playwright().start()
    try:
        instance = driver.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    except Exception as exc:  # noqa: BLE001 (any launch failure means: no usable browser)
        driver.stop()
        _missing(f"chromium at {executable} did not start ({type(exc).__name__}: {str(exc).splitlines()[0]})")
    yield instance
    instance.close()
    driver.stop()


@pytest.fixture
def console_tab(browser, console):
    """``with console_tab(**options) as tab``: a fresh browser tab (own cookies) whose
    relative URLs go to the console, its context made with ``options`` (viewport...);
    a JavaScript error on any of its pages fails the test."""

    @contextmanager
    def open_tab(**options) -> Iterator[object]:
        context = browser.new_context(base_url=console.url, **options)
        context.set_default_timeout(10_000)
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            yield tab
        finally:
            context.close()
        assert not errors, f"JavaScript errors on the console's pages: {errors}"

    return open_tab


@pytest.fixture
def page(console_tab):
    """A fresh browser tab on the console, on a desktop-sized screen."""
    with console_tab(viewport={"width": 1360, "height": 900}) as tab:
        yield tab


@dataclass
class Console:
    """A running ``plugwire serve``: its URL, data folder and API token."""

    url: str
    home: Path
    token: str
    proc: subprocess.Popen

    def api(self, method: str, path: str, **kw) -> httpx2.Response:
        """Call the server's JSON API with its token."""
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx2.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kw)


def start_console(home: Path, *args: str) -> Console:
    """Start ``plugwire serve`` on a free port with ``args``; returns when it answers."""
    port = free_port()
    env = {
        **os.environ, "PLUGWIRE_HOME": str(home), "PLUGWIRE_API_TOKEN": API_TOKEN, "PLUGWIRE_TESTING": "1",
        "AUTHLIB_INSECURE_TRANSPORT": "1",  # the local OAuth2 provider is plain http on loopback
    }
    cmd = [sys.executable, "-c", "from plugwire.core.cli import main; main()", "serve", "--port", str(port), "--no-network-policy", *args]
    log = open(home.parent / f"serve-{port}.log", "w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx2.get(f"{url}/health", timeout=0.5).status_code == 200:
                break
        except httpx2.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"plugwire serve did not start: {(home.parent / f'serve-{port}.log').read_text()}")
        time.sleep(0.05)
    return Console(url=url, home=home, token=API_TOKEN, proc=proc)


def stop_console(console: Console) -> None:
    console.proc.terminate()
    try:
        console.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        console.proc.kill()
        console.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def console(tmp_path_factory, browser) -> Iterator[Console]:
    """This module's ``plugwire serve`` (network policy off: the test APIs are on loopback)."""
    server = start_console(tmp_path_factory.mktemp("console") / "home")
    yield server
    stop_console(server)


@pytest.fixture
def shot(request):
    """``shot(page, name)``: save a full-page screenshot as an artefact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    module = Path(request.node.fspath).stem.removeprefix("test_console_")

    def take(tab, name: str) -> Path:
        path = SCREENSHOTS / f"{module}-{name}.png"
        tab.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture(scope="module")
def venue_api(request):
    """The Eventbrite-like venue API (tests/venue_api.py), expecting the module's ``TOKEN``."""
    from plugwire.core.testing.server import ServerThread
    from venue_api import make_app

    server = ServerThread(make_app(token=request.module.TOKEN)).start()
    yield server
    server.stop()
