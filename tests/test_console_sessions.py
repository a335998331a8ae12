"""The console's sessions and login throttle against real servers on 127.0.0.1, reached
under a name that is not loopback (``Host: plugwire.example.com``), so that every page
asks for a login. Two servers share one store (the embedded one, or PostgreSQL): a
logout at one ends the session at both; failed logins count at both. Time moves by a
clock the test holds (:func:`plugwire.core.web.logins.now`), never by sleeping."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import httpx2
import pytest

from pgutil import pg_url  # noqa: F401  (a fixture)
from plugwire.core.storage.home import Home
from plugwire.core.web import logins
from plugwire.core.web.session import COOKIE
from recipes_support import API_TOKEN, plugwire_server

OUTSIDE = "plugwire.example.com"


class Clock:
    """The test's clock: starts at a fixed time and moves only when told."""

    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t

    def move(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock(monkeypatch) -> Clock:
    found = Clock()
    monkeypatch.setattr(logins, "now", found)
    return found


class Visitor:
    """A browser from ``address`` (a loopback address of its own) that keeps its cookie
    and sends each form's CSRF token, at one server or another."""

    def __init__(self, address: str = "127.0.0.1"):
        self.client = httpx2.Client(timeout=30, headers={"Host": OUTSIDE}, transport=httpx2.HTTPTransport(local_address=address))
        self.csrf = ""

    def get(self, url: str) -> httpx2.Response:
        response = self.client.get(url)
        found = re.search(r'name="csrf" value="([^"]+)"', response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def login(self, server: str, token: str = API_TOKEN) -> httpx2.Response:
        self.get(f"{server}/console/login")
        return self.client.post(f"{server}/console/login", data={"token": token, "csrf": self.csrf})

    def logout(self, server: str) -> httpx2.Response:
        self.get(f"{server}/console/")
        return self.client.post(f"{server}/console/logout", data={"csrf": self.csrf})

    def close(self) -> None:
        self.client.close()


def _session_id(cookie: str) -> str:
    data = cookie.rpartition(".")[0]
    return json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))["sid"]


@pytest.fixture(params=["embedded", "postgresql"])
def two_servers(request, tmp_path, monkeypatch):
    """Two servers on one store; yields (home, url of the first, url of the second)."""
    monkeypatch.setenv("PLUGWIRE_HOME", str(tmp_path / "home"))
    database = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    home = Home(tmp_path / "home", database=database)
    with plugwire_server(home, workers=0) as (_, first), plugwire_server(home, workers=0) as (_, second):
        yield home, first, second
    home.store.close()


def test_a_logout_ends_the_session_at_every_server(two_servers, clock):
    home, first, second = two_servers
    visitor = Visitor()
    assert visitor.login(first).status_code == 303
    captured = visitor.client.cookies[COOKIE]
    assert visitor.get(f"{second}/console/").status_code == 200  # the login works at either server
    assert visitor.logout(second).status_code == 303
    replay = httpx2.Client(timeout=30, headers={"Host": OUTSIDE}, cookies={COOKIE: captured})
    for server in (first, second):
        refused = replay.get(f"{server}/console/connections")
        assert refused.status_code == 303 and refused.headers["location"] == "/console/login?next=/console/connections"
    replay.close()
    # The store keeps a session under the hash of its id, never the id itself, and
    # forgets it at the logout.
    assert home.store.all("console_sessions") == {}
    assert visitor.login(first).status_code == 303
    sid = _session_id(visitor.client.cookies[COOKIE])
    kept = home.store.all("console_sessions")
    assert list(kept) == [hashlib.sha256(sid.encode()).hexdigest()] and sid not in json.dumps(kept)
    visitor.close()


def test_failed_logins_back_off_per_address_across_servers(two_servers, clock):
    _, first, second = two_servers
    guesser, other = Visitor("127.0.0.1"), Visitor("127.0.0.2")
    for n in range(logins.FREE_FAILURES):  # five free failures, at either server
        assert guesser.login((first, second)[n % 2], "wrong").status_code == 401
    for server in (first, second):
        waiting = guesser.login(server)  # the right token too waits out the back-off
        assert waiting.status_code == 429 and waiting.headers["retry-after"] == "1"
        assert "Too many failed logins from your address (127.0.0.1): try again in 1 s" in waiting.text
    assert other.login(second).status_code == 303  # another address is not held back
    clock.move(1)
    assert guesser.login(first, "wrong").status_code == 401  # checked again, and the wait doubles
    assert guesser.login(second).headers["retry-after"] == "2"
    clock.move(1.5)
    assert guesser.login(second).headers["retry-after"] == "1"
    clock.move(0.5)
    assert guesser.login(second).status_code == 303  # a login resets the count
    for _ in range(logins.FREE_FAILURES):
        assert guesser.login(first, "wrong").status_code == 401
    assert guesser.login(first).status_code == 429
    guesser.close()
    other.close()


def test_the_back_off_doubles_up_to_its_cap(home, clock):
    book, address = logins.Logins(home.store), "203.0.113.9"
    waits = []
    for _ in range(24):
        assert book.attempt(address) == 0  # checked, and counted as failed
        until = home.store.get("console_login_failures", address)["until"]
        waits.append(until - clock.t if until else 0)
        if waits[-1]:
            assert book.attempt(address) == waits[-1]  # refused during the wait, and not counted
            clock.move(waits[-1])
    assert waits[:9] == [0, 0, 0, 0, 1, 2, 4, 8, 16]
    assert max(waits) == waits[-1] == logins.BACKOFF_CAP_SECONDS
    clock.move(logins.FORGET_SECONDS)
    assert book.attempt(address) == 0  # a quiet day forgets the count
    assert home.store.get("console_login_failures", address)["failures"] == 1


def test_an_idle_session_expires_and_says_so(home, clock, monkeypatch):
    monkeypatch.setenv(logins.IDLE_ENV, "3600")
    monkeypatch.setenv(logins.MAX_AGE_ENV, "10800")
    with plugwire_server(home, workers=0) as (_, url):
        visitor = Visitor()
        assert visitor.login(url).status_code == 303
        clock.move(3599)
        assert visitor.get(f"{url}/console/connections").status_code == 200
        clock.move(3600)
        gone = visitor.get(f"{url}/console/connections")
        assert gone.status_code == 303 and gone.headers["location"] == "/console/login?next=/console/connections&expired=1"
        page = visitor.get(f"{url}{gone.headers['location']}")
        assert "Your session expired (a session ends 1 hour without a page, or 3 hours after its login)" in page.text
        assert visitor.get(f"{url}/console/connections").headers["location"] == "/console/login?next=/console/connections"
        # Pages within a minute write nothing; the last-seen time is renewed at most
        # once a minute, and activity keeps the session alive...
        assert visitor.login(url).status_code == 303
        (key,) = home.store.all("console_sessions")
        for _ in range(5):
            clock.move(10)
            assert visitor.get(f"{url}/console/").status_code == 200
        assert home.store.get("console_sessions", key)["seen"] == clock.t - 50
        clock.move(15)
        assert visitor.get(f"{url}/console/").status_code == 200
        assert home.store.get("console_sessions", key)["seen"] == clock.t
        # ... up to its maximum age after the login, however busy.
        for _ in range(5):
            clock.move(1800)
            assert visitor.get(f"{url}/console/").status_code == 200
        clock.move(1800)
        assert visitor.get(f"{url}/console/").headers["location"].endswith("&expired=1")
        visitor.close()


def test_a_session_setting_that_is_not_seconds_is_refused_naming_it(home, monkeypatch):
    from plugwire.core.base.errors import UserInputError

    monkeypatch.setenv(logins.IDLE_ENV, "8h")
    with pytest.raises(UserInputError) as refused:
        logins.Logins(home.store)
    assert refused.value.field == logins.IDLE_ENV and "seconds" in str(refused.value)
