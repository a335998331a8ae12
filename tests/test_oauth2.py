"""OAuth2 (authorization code with PKCE, refresh, client credentials) against a real
provider on 127.0.0.1 (tests/oauth_provider.py, built from authlib's server parts)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx2
import pytest

from conftest import free_port
from oauth_provider import OAuthProvider
from plugwire.core.base.errors import AuthorizationRequired, PlugwireError, UserInputError
from plugwire.core.connections.authorize import finish_from_callback, run_authorization, start
from plugwire.core.http.client import client_for
from plugwire.core.http.outcomes import Outcome
from plugwire.core.http.testconn import test_connection
from plugwire.core.plugincore.auth import AuthContext, MemoryTokenStore, TokenStore

SECRET = "s3cret-client-Value-93hdk2"
CC_SECRET = "cc-secret-Value-4kd82nv"


@pytest.fixture
def provider(live_server, monkeypatch):
    """A running provider; ``provider.url`` is its base URL."""
    # authlib's server refuses plain http unless told otherwise; this is loopback only.
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    p = OAuthProvider()
    p.url = live_server(p.app).url
    return p


def add_oauth2(connections, provider, name="acme", *, authorize_query="", register=True, **settings):
    """Register a client at the provider and create an ``oauth2`` connection for it."""
    redirect_uri = settings.pop("redirect_uri", f"http://127.0.0.1:{free_port()}/callback")
    if register:
        provider.add_client("plugwire-app", SECRET, [redirect_uri])
    data = {
        "authorize_url": f"{provider.url}/authorize" + (f"?{authorize_query}" if authorize_query else ""),
        "token_url": f"{provider.url}/token",
        "client_id": "plugwire-app",
        "client_secret": SECRET,
        "redirect_uri": redirect_uri,
        **settings,
    }
    return connections.create({"name": name, "auth_type": "oauth2", "settings": data, "test_url": f"{provider.url}/api/me"})


def browse(url: str) -> httpx2.Response:
    """The user's browser: open the authorize URL and follow the redirect to the callback."""
    with httpx2.Client(follow_redirects=True, trust_env=False, timeout=10) as browser:
        return browser.get(url)


def provider_redirect(url: str) -> str:
    """Open the authorize URL without following: return where the provider redirects."""
    with httpx2.Client(trust_env=False, timeout=10) as browser:
        response = browser.get(url)
    assert response.status_code == 302, response.text
    return response.headers["location"]


def connect(conn, connections, show_url=None, timeout=10.0) -> dict:
    seen = []

    def default_show(url):
        seen.append(browse(url))

    result = run_authorization(conn, connections, show_url=show_url or default_show, open_browser=False, timeout=timeout)
    if seen:
        assert seen[0].status_code == 200 and "Connected" in seen[0].text
    return result


def expire(connections, name, seconds_left=-10):
    """Make the stored token expire ``seconds_left`` from now (negative: already expired)."""
    store = connections.tokens(name)
    token = store.load()
    token["expires_at"] = int(time.time()) + seconds_left
    store.save(token)


def test_connect_flow_keeps_authorize_params_uses_pkce_and_calls_the_api(connections, provider):
    conn = add_oauth2(
        connections,
        provider,
        authorize_query="response_type=code&scope=profile&audience=https%3A%2F%2Fapi.acme.test&access_type=offline",
        scope="email",
    )
    result = connect(conn, connections)

    sent = provider.authorize_requests[-1]
    assert sent["audience"] == ["https://api.acme.test"]
    assert sent["access_type"] == ["offline"]
    assert sent["response_type"] == ["code"]  # kept once, not duplicated
    assert sent["scope"] == ["profile email"]
    assert sent["code_challenge_method"] == ["S256"] and len(sent["code_challenge"][0]) == 43
    assert provider.token_requests[-1]["grant_type"] == "authorization_code"
    assert provider.token_requests[-1]["has_code_verifier"] == "True"

    assert result["scope"] == "profile email" and result["renewable"] is True
    assert result["expires_at"] and "message" in result
    text = json.dumps(result)
    token = connections.tokens("acme").load()
    for secret in (SECRET, token["access_token"], token["refresh_token"]):
        assert secret not in text

    with client_for(conn, connections) as client:
        me = client.get(f"{provider.url}/api/me")
    assert me.status_code == 200 and me.json()["user"] == "alice"
    assert test_connection(conn, connections).outcome is Outcome.OK


def test_the_provider_requires_pkce_and_says_so(connections, provider):
    conn = add_oauth2(connections, provider, use_pkce=False)
    with pytest.raises(PlugwireError, match="PKCE is required") as exc:
        connect(conn, connections)
    assert "Nothing was stored" in str(exc.value)
    assert connections.tokens("acme").load() is None


def test_a_public_client_connects_and_refreshes_with_pkce_alone(connections, provider):
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    provider.add_client("public-app", None, [redirect_uri], auth_method="none")
    conn = add_oauth2(
        connections, provider, register=False, client_id="public-app", client_secret=None,
        token_auth_method="none", redirect_uri=redirect_uri,
    )
    connect(conn, connections)
    assert provider.token_requests[-1]["client_id"] == "public-app"
    expire(connections, "acme")
    with client_for(conn, connections) as client:
        assert client.get(f"{provider.url}/api/me").json()["client_id"] == "public-app"
    assert provider.calls["refresh_token"] == 1


@pytest.mark.parametrize(
    "change, field",
    [
        ({"authorize_url": "/authorize"}, "settings.authorize_url"),
        ({"token_url": "ftp://idp.test/token"}, "settings.token_url"),
        ({"redirect_uri": "127.0.0.1:8765/callback"}, "settings.redirect_uri"),
        ({"client_secret": None}, "settings.client_secret"),
        ({"extra_token_params": {"grant_type": "password"}}, "settings.extra_token_params"),
        ({"token_auth_method": "private_key_jwt"}, "settings.token_auth_method"),
    ],
)
def test_bad_settings_name_the_field(connections, change, field):
    settings = {
        "authorize_url": "https://idp.test/authorize",
        "token_url": "https://idp.test/token",
        "client_id": "app",
        "client_secret": SECRET,
        **change,
    }
    with pytest.raises(UserInputError) as exc:
        connections.create({"name": "acme", "auth_type": "oauth2", "settings": settings})
    assert field in str(exc.value)
    assert SECRET not in str(exc.value)


def test_tokens_are_encrypted_in_the_store_file(connections, provider, home):
    conn = add_oauth2(connections, provider)
    connect(conn, connections)
    token = connections.tokens("acme").load()
    raw = (home.path / "plugwire.json").read_text()
    assert "tokens" in raw
    for secret in (token["access_token"], token["refresh_token"], SECRET):
        assert secret not in raw


def test_not_connected_yet_tells_the_user_what_to_run(connections, provider):
    conn = add_oauth2(connections, provider, name="my api")
    with pytest.raises(AuthorizationRequired, match=r"plugwire connections connect 'my api'"):
        client_for(conn, connections)
    result = test_connection(conn, connections)
    assert result.outcome is Outcome.NOT_CONNECTED and "connect 'my api'" in result.message


def test_token_is_renewed_before_expiry_within_the_leeway(connections, provider):
    conn = add_oauth2(connections, provider, refresh_leeway=60)
    connect(conn, connections)
    expire(connections, "acme", seconds_left=45)  # still valid at the provider, but within the leeway
    with client_for(conn, connections) as client:
        assert client.get(f"{provider.url}/api/me").status_code == 200
        assert client.get(f"{provider.url}/api/me").status_code == 200
    assert provider.calls["refresh_token"] == 1

    conn = connections.edit("acme", {"settings": {"refresh_leeway": 10}})
    expire(connections, "acme", seconds_left=45)
    with client_for(conn, connections) as client:
        assert client.get(f"{provider.url}/api/me").status_code == 200
    assert provider.calls["refresh_token"] == 1


def test_fifty_threads_on_an_expired_token_refresh_once(connections, provider):
    conn = add_oauth2(connections, provider)
    connect(conn, connections)
    old = connections.tokens("acme").load()
    expire(connections, "acme")
    with client_for(conn, connections) as client, ThreadPoolExecutor(50) as pool:
        responses = list(pool.map(lambda _: client.get(f"{provider.url}/api/me"), range(50)))
    assert [r.status_code for r in responses] == [200] * 50
    assert provider.calls["refresh_token"] == 1
    new = connections.tokens("acme").load()
    assert new["access_token"] != old["access_token"]
    assert new["refresh_token"] != old["refresh_token"]  # the provider rotates refresh tokens
    assert new["expires_at"] > time.time()


def test_fifty_async_requests_on_an_expired_token_refresh_once(connections, provider):
    conn = add_oauth2(connections, provider)
    connect(conn, connections)
    expire(connections, "acme")

    async def main():
        async with client_for(conn, connections, asynchronous=True) as client:
            return await asyncio.gather(*(client.get(f"{provider.url}/api/me") for _ in range(50)))

    responses = asyncio.run(main())
    assert [r.status_code for r in responses] == [200] * 50
    assert provider.calls["refresh_token"] == 1


def test_a_401_refreshes_once_and_retries(connections, provider):
    conn = add_oauth2(connections, provider)
    connect(conn, connections)
    with client_for(conn, connections) as client:
        assert client.get(f"{provider.url}/api/me").status_code == 200
        provider.revoke_access_tokens()
        with ThreadPoolExecutor(20) as pool:
            responses = list(pool.map(lambda _: client.get(f"{provider.url}/api/me"), range(20)))
        assert [r.status_code for r in responses] == [200] * 20
        assert provider.calls["refresh_token"] == 1

        # An API that keeps answering 401: one refresh, one retry, then the 401 is the answer.
        response = client.get(f"{provider.url}/api/always-401")
    assert response.status_code == 401
    assert provider.calls["refresh_token"] == 2


def test_a_401_refreshes_once_with_the_async_client(connections, provider):
    conn = add_oauth2(connections, provider)
    connect(conn, connections)
    provider.revoke_access_tokens()

    async def main():
        async with client_for(conn, connections, asynchronous=True) as client:
            return await asyncio.gather(*(client.get(f"{provider.url}/api/me") for _ in range(20)))

    assert [r.status_code for r in asyncio.run(main())] == [200] * 20
    assert provider.calls["refresh_token"] == 1


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_refused_refresh_asks_to_reconnect(connections, provider, asynchronous):
    conn = add_oauth2(connections, provider)
    connect(conn, connections)
    before = connections.tokens("acme").load()
    provider.revoke_refresh_tokens()
    expire(connections, "acme")

    async def get_async():
        async with client_for(conn, connections, asynchronous=True) as client:
            return await client.get(f"{provider.url}/api/me")

    with pytest.raises(AuthorizationRequired) as exc:
        if asynchronous:
            asyncio.run(get_async())
        else:
            with client_for(conn, connections) as client:
                client.get(f"{provider.url}/api/me")
    message = str(exc.value)
    assert "plugwire connections connect acme" in message
    assert "invalid_grant: The refresh token was revoked" in message
    for secret in (SECRET, before["refresh_token"], before["access_token"]):
        assert secret not in message
    # Nothing was cleared behind the user's back.
    assert connections.tokens("acme").load()["refresh_token"] == before["refresh_token"]

    result = test_connection(conn, connections)
    assert result.outcome is Outcome.NOT_CONNECTED and "reconnected" in result.message


def test_client_credentials_fetches_on_first_use_and_after_expiry(connections, provider):
    provider.add_client("machine", CC_SECRET, [], auth_method="client_secret_basic")
    conn = connections.create(
        {
            "name": "backend",
            "auth_type": "oauth2_client_credentials",
            "settings": {
                "token_url": f"{provider.url}/token",
                "client_id": "machine",
                "client_secret": CC_SECRET,
                "scope": "read",
                "audience": "https://api.acme.test",
                "token_auth_method": "client_secret_basic",
                "extra_token_params": {"resource": "orders"},
            },
        }
    )
    assert connections.tokens("backend").load() is None
    with client_for(conn, connections) as client, ThreadPoolExecutor(50) as pool:
        responses = list(pool.map(lambda _: client.get(f"{provider.url}/api/me"), range(50)))
    assert [r.status_code for r in responses] == [200] * 50
    assert responses[0].json() == {"user": None, "client_id": "machine", "scope": "read"}
    assert provider.calls["client_credentials"] == 1
    sent = provider.token_requests[-1]
    assert sent["audience"] == "https://api.acme.test" and sent["resource"] == "orders" and sent["scope"] == "read"

    with client_for(conn, connections) as client:  # a new client reuses the stored token
        assert client.get(f"{provider.url}/api/me").status_code == 200
    assert provider.calls["client_credentials"] == 1

    expire(connections, "backend")
    with client_for(conn, connections) as client:
        assert client.get(f"{provider.url}/api/me").status_code == 200
    assert provider.calls["client_credentials"] == 2
    assert CC_SECRET not in (Path(connections.home.path) / "plugwire.json").read_text()


def test_client_credentials_with_a_wrong_secret_names_the_field(connections, provider):
    provider.add_client("machine", CC_SECRET, [])
    conn = connections.create(
        {
            "name": "backend",
            "auth_type": "oauth2_client_credentials",
            "settings": {"token_url": f"{provider.url}/token", "client_id": "machine", "client_secret": "wrong-secret"},
        }
    )
    with client_for(conn, connections) as client, pytest.raises(PlugwireError) as exc:
        client.get(f"{provider.url}/api/me")
    assert exc.value.field == "settings.client_secret" and "invalid_client" in str(exc.value)


def test_a_callback_with_another_state_is_refused(connections, provider):
    conn = add_oauth2(connections, provider)

    def forged(url):
        callback = urlsplit(provider_redirect(url))
        query = parse_qs(callback.query)
        query["state"] = ["forged-state"]
        browse(urlunsplit(callback._replace(query=urlencode(query, doseq=True))))

    with pytest.raises(PlugwireError, match="state does not match") as exc:
        connect(conn, connections, show_url=forged)
    assert exc.value.field == "state"
    assert connections.tokens("acme").load() is None


def test_access_denied_is_said_plainly(connections, provider):
    conn = add_oauth2(connections, provider)
    provider.deny = True
    with pytest.raises(PlugwireError, match=r"access was denied at the provider \(access_denied") as exc:
        connect(conn, connections)
    assert "plugwire connections connect acme" in str(exc.value)
    assert connections.tokens("acme").load() is None


def test_no_callback_in_time_is_a_clear_error(connections, provider):
    conn = add_oauth2(connections, provider)
    with pytest.raises(PlugwireError, match=r"No callback .* within 0.3 seconds"):
        connect(conn, connections, show_url=lambda url: None, timeout=0.3)


def test_a_redirect_uri_off_this_machine_is_refused_for_the_local_listener(connections, provider):
    conn = add_oauth2(connections, provider, redirect_uri="https://app.acme.test/oauth/callback")
    with pytest.raises(UserInputError, match="settings.redirect_uri") as exc:
        connect(conn, connections)
    assert exc.value.field == "settings.redirect_uri"


def test_a_busy_callback_port_is_a_clear_error(connections, provider):
    conn = add_oauth2(connections, provider)
    port = int(urlsplit(conn.settings.redirect_uri).port)
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        with pytest.raises(PlugwireError, match=rf"Cannot listen on 127.0.0.1:{port}"):
            connect(conn, connections)


def test_a_web_server_finishes_from_the_callback_url(connections, provider):
    web_callback = "https://plugwire.acme.test/oauth/callback"
    provider.add_client("plugwire-app", SECRET, [web_callback])
    conn = add_oauth2(connections, provider, register=False)
    pending = start(conn, redirect_uri=web_callback)
    assert pending.redirect_uri == web_callback and pending.secret_state["code_verifier"]
    callback = provider_redirect(pending.url)
    assert callback.startswith(web_callback)

    result = finish_from_callback(conn, connections, pending, callback)
    assert result["renewable"] is True
    with client_for(conn, connections) as client:
        assert client.get(f"{provider.url}/api/me").status_code == 200
    # A code is good once: the provider refuses a replay, plainly.
    with pytest.raises(PlugwireError, match="invalid_grant"):
        finish_from_callback(conn, connections, pending, callback)


# -- the command line, end to end in another process ------------------------------------
def _plugwire() -> str:
    return shutil.which("plugwire") or str(Path(sys.executable).parent / "plugwire")


def _cli_env(home) -> dict[str, str]:
    return {**os.environ, "PLUGWIRE_HOME": str(home.path), "PYTHONUNBUFFERED": "1", "ACME_SECRET": SECRET}


def _cli_add(home, provider) -> None:
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    provider.add_client("plugwire-app", SECRET, [redirect_uri])
    added = subprocess.run(
        [
            _plugwire(), "connections", "add", "acme", "--auth", "oauth2",
            "--set", f"authorize_url={provider.url}/authorize?access_type=offline",
            "--set", f"token_url={provider.url}/token",
            "--set", "client_id=plugwire-app",
            "--set", f"redirect_uri={redirect_uri}",
            "--set", "scope=profile",
            "--secret", "client_secret=env:ACME_SECRET",
            "--test-url", f"{provider.url}/api/me",
        ],
        env=_cli_env(home), capture_output=True, text=True, timeout=60,
    )
    assert added.returncode == 0, added.stderr
    assert "plugwire connections connect 'acme'" in added.stdout or "connections connect" in added.stdout


def _cli_connect(home, *flags: str) -> tuple[subprocess.CompletedProcess, str, httpx2.Response]:
    proc = subprocess.Popen(
        [_plugwire(), "connections", "connect", "acme", "--no-browser", "--timeout", "60", *flags],
        env=_cli_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    # With --json the URL is on stderr (stdout holds only the result document).
    stream = proc.stderr if "--json" in flags else proc.stdout
    url = ""
    for line in stream:
        if line.startswith("http"):
            url = line.strip()
            break
    assert url, proc.communicate(timeout=30)
    page = browse(url)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), url, page


def test_cli_connect_end_to_end(home, provider, connections):
    _cli_add(home, provider)
    done, url, page = _cli_connect(home)
    assert done.returncode == 0, done.stderr
    assert page.status_code == 200 and "Connected" in page.text
    assert "Connected acme" in done.stdout and "access_type=offline" in url
    token = connections.tokens("acme").load()
    for secret in (SECRET, token["access_token"], token["refresh_token"]):
        assert secret not in done.stdout + done.stderr

    tested = subprocess.run(
        [_plugwire(), "connections", "test", "acme", "--json"], env=_cli_env(home), capture_output=True, text=True, timeout=60
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert json.loads(tested.stdout)["outcome"] == "ok"


def test_cli_connect_json_prints_one_document_without_secrets(home, provider, connections):
    _cli_add(home, provider)
    done, _, _ = _cli_connect(home, "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["connection"] == "acme" and result["scope"] == "profile" and result["expires_at"]
    token = connections.tokens("acme").load()
    for secret in (SECRET, token["access_token"], token["refresh_token"]):
        assert secret not in done.stdout + done.stderr


def test_cli_connect_reports_a_denial_without_traceback(home, provider):
    _cli_add(home, provider)
    provider.deny = True
    done, _, page = _cli_connect(home)
    assert done.returncode == 1 and page.status_code == 400 and "denied" in page.text
    assert "access was denied" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


class NotingTokenStore(MemoryTokenStore):
    """A token store of a plugin author's own that keeps the failures it is told of."""

    def __init__(self, token: dict):
        super().__init__(token)
        self.failures: list[PlugwireError] = []

    def record_refresh_failure(self, error: PlugwireError) -> None:
        self.failures.append(error)


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_token_store_is_told_when_getting_a_token_finally_failed(connections, provider, asynchronous):
    """TokenStore.record_refresh_failure is part of the public protocol: the OAuth2
    type calls a store's own, and a store that subclasses TokenStore without one gets
    the default, which does nothing (the failure is raised all the same)."""
    conn = add_oauth2(connections, provider)
    connect(conn, connections)
    provider.revoke_refresh_tokens()
    expired = {**connections.tokens("acme").load(), "expires_at": int(time.time()) - 10}
    assert "record_refresh_failure" in vars(TokenStore)

    def get(store: MemoryTokenStore) -> None:
        auth = conn.auth_type_plugin().build_auth(conn.settings, AuthContext("acme", store))
        url = f"{provider.url}/api/me"
        if asynchronous:
            async def once() -> None:
                async with httpx2.AsyncClient(auth=auth, trust_env=False) as client:
                    await client.get(url)

            asyncio.run(once())
        else:
            with httpx2.Client(auth=auth, trust_env=False) as client:
                client.get(url)

    noting = NotingTokenStore(expired)
    with pytest.raises(AuthorizationRequired) as raised:
        get(noting)
    assert noting.failures == [raised.value] and "invalid_grant" in str(raised.value)

    plain = MemoryTokenStore(expired)
    assert plain.record_refresh_failure(raised.value) is None
    with pytest.raises(AuthorizationRequired, match="must be reconnected"):
        get(plain)
