"""A connection's last Test connection and last token renewal are kept on it and shown
by the console (issue 14, item 18a): credentials a real local API rejects with 401,
and a refresh a real local OAuth2 provider refuses, no longer read 'ready' or
'connected'. The record holds no secret."""

from __future__ import annotations

import asyncio
import html
import re
from datetime import datetime, timedelta, timezone

import pytest

from api_server import make_api
from oauth_provider import OAuthProvider
from plugwire.core.base.errors import AuthorizationRequired
from plugwire.core.http.client import client_for
from plugwire.core.http.testconn import test_connection
from recipes_support import plugwire_server
from test_oauth2 import SECRET, add_oauth2, connect, expire
from test_web_console import Browser

RIGHT = "right-Token-8d2kf0a1"
WRONG = "wrong-Token-3jd9s7c2"


@pytest.fixture
def provider(live_server, monkeypatch):
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # authlib's server, on loopback only
    p = OAuthProvider()
    p.url = live_server(p.app).url
    return p


def call(conn, connections, url: str, asynchronous: bool):
    """GET ``url`` through the connection with a sync or an async client."""
    async def through_async():
        async with client_for(conn, connections, asynchronous=True) as client:
            return await client.get(url)

    if asynchronous:
        return asyncio.run(through_async())
    with client_for(conn, connections) as client:
        return client.get(url)


def status_cell(page: str, name: str) -> str:
    """The text of the Status cell of connection ``name`` on the list page."""
    row = re.search(rf'<tr data-connection="{name}">(.*?)</tr>', page, re.S).group(1)
    cell = re.search(r'<td class="status">(.*?)</td>', row, re.S).group(1)
    text = html.unescape(" ".join(re.sub(r"<[^>]+>", " ", cell).split()))
    return text.replace(" :", ":").replace(" ,", ",")


def test_rejected_credentials_show_on_the_list_and_page_until_the_next_test(home, connections, live_server):
    api = make_api(basic=("bob", RIGHT))
    api_url = live_server(api.app).url
    connections.create({"name": "keyed", "auth_type": "basic", "settings": {"username": "bob", "password": WRONG},
                        "test_url": f"{api_url}/basic/me"})
    with plugwire_server(home) as (_, url):
        browser = Browser(url)
        assert status_cell(browser.get("/console/connections").text, "keyed") == "ready"
        tested = browser.post("/console/connections/keyed/test", {"url": ""})
        assert "Credentials rejected" in tested.text

        listed = status_cell(browser.get("/console/connections").text, "keyed")
        assert listed.startswith("credentials rejected just now: The API rejected the credentials (401"), listed
        page = browser.get("/console/connections/keyed").text
        last = re.search(r'<div id="last-checks">(.*?)</div>\s*</div>', page, re.S).group(1)
        assert 'data-outcome="credentials_rejected"' in last and "401" in last

        # No secret in the record nor on the pages.
        stored = home.store.get("connections", "keyed")["checks"]["test"]
        assert stored["outcome"] == "credentials_rejected" and stored["status"] == 401 and not stored["ok"]
        assert WRONG not in str(stored) and WRONG not in page and WRONG not in listed

        # Two hours on, an edit makes the outcome history rather than the state; the
        # next test replaces it.
        record = home.store.get("connections", "keyed")
        now = datetime.now(timezone.utc)
        earlier, saved = ((now - timedelta(hours=h, minutes=1)).isoformat(timespec="seconds") for h in (2, 3))
        home.store.put("connections", "keyed", {**record, "updated_at": saved, "checks": {"test": {**stored, "at": earlier}}})
        listed = status_cell(browser.get("/console/connections").text, "keyed")
        assert listed.startswith("credentials rejected 2 h ago: The API rejected"), listed
        connections.edit("keyed", {"settings": {"password": RIGHT}})
        listed = status_cell(browser.get("/console/connections").text, "keyed")
        assert listed.startswith("ready credentials rejected 2 h ago, before the last edit: The API"), listed
        browser.post("/console/connections/keyed/test", {"url": ""})
        assert status_cell(browser.get("/console/connections").text, "keyed") == "ready tested OK just now"
    assert home.store.get("connections", "keyed")["checks"]["test"]["outcome"] == "ok"


def test_a_check_on_a_removed_connection_recreates_nothing(home, connections, live_server):
    api = make_api(headers={"X-Api-Key": RIGHT})
    conn = connections.create({"name": "gone", "auth_type": "header", "settings": {"headers": {"X-Api-Key": WRONG}},
                               "test_url": f"{live_server(api.app).url}/header/me"})
    connections.remove("gone")
    assert not test_connection(conn, connections).ok
    assert home.store.get("connections", "gone") is None


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_refused_refresh_shows_must_reconnect_until_connected_again(home, connections, provider, asynchronous):
    conn = add_oauth2(connections, provider)
    connect(conn, connections)
    before = connections.tokens("acme").load()
    provider.revoke_refresh_tokens()
    expire(connections, "acme")

    with pytest.raises(AuthorizationRequired):
        call(conn, connections, f"{provider.url}/api/me", asynchronous)

    stored = home.store.get("connections", "acme")["checks"]["refresh"]
    assert stored["outcome"] == "not_connected" and not stored["ok"]
    assert "invalid_grant" in stored["message"]
    for secret in (SECRET, before["refresh_token"], before["access_token"]):
        assert secret not in str(home.store.get("connections", "acme"))
    with plugwire_server(home) as (_, url):
        browser = Browser(url)
        listed = status_cell(browser.get("/console/connections").text, "acme")
        assert listed.startswith("must reconnect just now: Connection 'acme' must be reconnected"), listed
        assert "connected" not in listed.replace("reconnect", "")
        page = browser.get("/console/connections/acme").text
        auth = re.search(r'<p id="auth-status" class="bad">(.*?)</p>', page, re.S).group(1)
        assert "must reconnect" in auth and "invalid_grant" in auth

    connect(conn, connections)  # connecting again stores a new token: the warning ends
    assert home.store.get("connections", "acme")["checks"]["refresh"]["ok"]
    with plugwire_server(home) as (_, url):
        listed = status_cell(Browser(url).get("/console/connections").text, "acme")
    assert listed == "connected token renewed just now", listed


def test_an_unreachable_token_endpoint_is_recorded_and_still_raised(home, connections, provider):
    conn = add_oauth2(connections, provider, token_url="http://127.0.0.1:9/token")
    connections.tokens("acme").save({"access_token": "at-Value-0d9s8a7f", "refresh_token": "rt-Value-5k3j2h1g", "expires_at": 1})
    with pytest.raises(Exception) as exc, client_for(conn, connections) as client:
        client.get(f"{provider.url}/api/me")
    assert "token endpoint" in str(exc.value)
    stored = home.store.get("connections", "acme")["checks"]["refresh"]
    assert stored["outcome"] == "refresh_failed" and "Could not reach the token endpoint" in stored["message"]
    assert "rt-Value-5k3j2h1g" not in str(stored)
