"""OAuth 1.0a (``oauth1``, three-legged, and ``oauth1_two_legged``) against a real
provider on 127.0.0.1 that verifies every signature (tests/oauth1_provider.py, built
from authlib's server side)."""

from __future__ import annotations

import json
import subprocess

import httpx2
import pytest
from conftest import free_port
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from oauth1_provider import METHODS, USER, OAuth1Provider
from plugwire.core.base.errors import (
    AuthorizationRequired,
    PlugwireError,
    UserInputError,
)
from plugwire.core.connections.authorize import (
    finish_from_callback,
    run_authorization,
    start,
)
from plugwire.core.http.client import client_for, policed_transport
from plugwire.core.http.netpolicy import NetworkPolicy
from plugwire.core.http.testconn import test_connection
from recipes_support import API_TOKEN, plugwire_server
from test_oauth2 import _plugwire, browse, provider_redirect

SECRET = "consumer-Secret-Value-7hd92k"
NOTE = {"title": "tea & biscuits", "tags": "a b+c", "n": "1"}


@pytest.fixture
def provider(live_server):
    p = OAuth1Provider()
    p.url = live_server(p.app).url
    return p


def _rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


def _signing(provider, method: str) -> dict:
    """Register the consumer at the provider for ``method``; return its signing settings."""
    if method == "RSA-SHA1":
        private, public = _rsa_pair()
        provider.add_consumer("plugwire-app", None, public)
        return {"consumer_key": "plugwire-app", "signature_method": method, "rsa_private_key": private}
    provider.add_consumer("plugwire-app", SECRET)
    return {"consumer_key": "plugwire-app", "signature_method": method, "consumer_secret": SECRET}


def add_three_legged(connections, provider, name="tumble", method="HMAC-SHA1", **settings):
    data = {
        "request_token_url": f"{provider.url}/initiate",
        "authorize_url": f"{provider.url}/authorize",
        "access_token_url": f"{provider.url}/token",
        "redirect_uri": f"http://127.0.0.1:{free_port()}/callback",
        **_signing(provider, method),
        **settings,
    }
    return connections.create({"name": name, "auth_type": "oauth1", "settings": data, "test_url": f"{provider.url}/api/me"})


def _send_both(conn, connections, provider) -> None:
    """A GET and a form POST through the connection: the provider verifies both."""
    with client_for(conn, connections) as client:
        me = client.get(f"{provider.url}/api/me", params={"fields": "name,id"})
        assert me.status_code == 200, me.text
        note = client.post(f"{provider.url}/api/notes?draft=yes", data=NOTE)
        assert note.status_code == 200, note.text
    assert note.json()["form"] == NOTE
    # The body's parameters were in what the provider verified the signature over.
    assert all(provider.seen[-1]["params"].get(k) == v for k, v in NOTE.items())
    assert provider.seen[-1]["params"]["draft"] == "yes"


@pytest.mark.parametrize("method", METHODS)
def test_each_signature_method_with_a_given_token_is_verified(connections, provider, method):
    token = provider.issue("plugwire-app")
    signing = _signing(provider, method)
    conn = connections.create({"name": "shop", "auth_type": "oauth1_two_legged", "settings": {
        **signing, "token": token.oauth_token, "token_secret": token.oauth_token_secret}})
    _send_both(conn, connections, provider)
    assert [s["method"] for s in provider.seen] == [method, method]
    assert provider.seen[-1]["user"] == USER


def test_a_form_body_changed_after_signing_is_refused(connections, provider):
    # The provider checks the body's parameters: the signature covers them.
    conn = connections.create({"name": "shop", "auth_type": "oauth1_two_legged", "settings": _signing(provider, "HMAC-SHA1")})
    auth = conn.auth_type_plugin().build_auth(conn.settings, connections.auth_context(conn))
    flow = auth.sync_auth_flow(httpx2.Request("POST", f"{provider.url}/api/notes", data=NOTE))
    signed = next(flow)
    tampered = httpx2.post(f"{provider.url}/api/notes", content=signed.content.replace(b"n=1", b"n=2"),
                           headers=dict(signed.headers))
    assert tampered.status_code == 401 and "invalid_signature" in tampered.text


def test_consumer_only_two_legged(connections, provider):
    conn = connections.create({"name": "shop", "auth_type": "oauth1_two_legged", "settings": _signing(provider, "HMAC-SHA256")})
    _send_both(conn, connections, provider)
    assert provider.seen[-1]["user"] is None and "oauth_token" not in provider.seen[-1]["params"]


@pytest.mark.parametrize("method", ["HMAC-SHA1", "RSA-SHA1"])
def test_three_legged_through_the_loopback_listener(connections, provider, home, method):
    conn = add_three_legged(connections, provider, method=method)
    with pytest.raises(AuthorizationRequired, match="connections connect"):
        client_for(conn, connections)
    seen = []
    result = run_authorization(conn, connections, show_url=lambda url: seen.append(browse(url)), open_browser=False, timeout=10)
    assert seen[0].status_code == 200 and "Connected" in seen[0].text
    assert "token stored encrypted" in result["message"]
    token = connections.tokens("tumble").load()
    assert token["oauth_token"] in provider.tokens and provider.calls["initiate"] == 1
    raw = (home.path / "plugwire.json").read_text()
    assert token["oauth_token_secret"] not in raw and SECRET not in raw
    _send_both(conn, connections, provider)
    assert provider.seen[-1]["user"] == USER and provider.seen[-1]["method"] == method


def test_a_wrong_consumer_secret_is_refused_plainly(connections, provider):
    conn = add_three_legged(connections, provider)
    provider.consumers["plugwire-app"].client_secret = "another-secret"
    with pytest.raises(PlugwireError) as caught:
        start(conn, connections=connections)
    assert caught.value.field == "settings.consumer_secret"
    assert "could not verify the signature" in str(caught.value) and "invalid_signature" in str(caught.value)
    assert SECRET not in str(caught.value) + str(caught.value.fix)
    # Two-legged: the API refuses, and the connection test says it rejected the credentials.
    two = connections.create({"name": "shop", "auth_type": "oauth1_two_legged", "settings": {
        "consumer_key": "plugwire-app", "consumer_secret": SECRET}})
    found = test_connection(two, connections, f"{provider.url}/api/me")
    assert found.outcome == "credentials_rejected" and "invalid_signature" in found.message


def test_the_callback_of_another_request_token_and_a_denial_are_refused(connections, provider):
    conn = add_three_legged(connections, provider)
    pending = start(conn, connections=connections)
    callback = provider_redirect(pending.url)
    forged = callback.replace(pending.state, "someone-elses-token")
    with pytest.raises(PlugwireError, match="not the request token"):
        finish_from_callback(conn, connections, pending, forged)
    provider.deny = True
    pending = start(conn, connections=connections)
    with pytest.raises(PlugwireError, match="access was denied"):
        finish_from_callback(conn, connections, pending, provider_redirect(pending.url))
    assert connections.tokens("tumble").load() is None


def test_the_network_policy_refuses_the_token_urls_before_any_secret_leaves(connections, provider):
    conn = add_three_legged(connections, provider)
    policy = NetworkPolicy()  # 127.0.0.1 stands for a refused host
    with pytest.raises(PlugwireError, match="Refused by the network policy"):
        start(conn, connections=connections, transport=policed_transport(policy, conn))
    assert provider.calls["initiate"] == 0
    pending = start(conn, connections=connections)
    with pytest.raises(PlugwireError, match="Refused by the network policy"):
        finish_from_callback(conn, connections, pending, provider_redirect(pending.url),
                             transport=policed_transport(policy, conn))
    assert provider.calls["token"] == 0 and connections.tokens("tumble").load() is None


def test_plaintext_is_not_sent_over_plain_http_off_this_machine(connections, provider):
    conn = connections.create({"name": "shop", "auth_type": "oauth1_two_legged", "settings": _signing(provider, "PLAINTEXT")})
    with client_for(conn, connections) as client, pytest.raises(PlugwireError) as caught:
        client.get("http://api.plugwire.test/me")
    assert caught.value.field == "settings.signature_method" and SECRET not in str(caught.value)


@pytest.mark.parametrize(("settings", "field"), [
    ({"consumer_key": "k", "signature_method": "HMAC-SHA1"}, "consumer_secret"),
    ({"consumer_key": "k", "signature_method": "RSA-SHA1"}, "rsa_private_key"),
    ({"consumer_key": "k", "signature_method": "RSA-SHA1", "rsa_private_key": "not a key"}, "rsa_private_key"),
    ({"consumer_key": "k", "consumer_secret": "s", "signature_method": "HMAC-MD5"}, "signature_method"),
])
def test_bad_settings_name_the_field(connections, settings, field):
    with pytest.raises(UserInputError) as caught:
        connections.create({"name": "shop", "auth_type": "oauth1_two_legged", "settings": settings})
    assert field in str(caught.value) and "not a key" not in str(caught.value)


def test_three_legged_through_a_running_servers_callback(home, connections, provider):
    with plugwire_server(home) as (_, url):
        add_three_legged(connections, provider, redirect_uri="http://127.0.0.1:9/unused")
        auth = {"Authorization": f"Bearer {API_TOKEN}"}
        started = httpx2.post(f"{url}/api/connections/tumble/authorize", headers=auth)
        assert started.status_code == 201, started.text
        raw = (home.path / "plugwire.json").read_text()
        assert "oauth_pending" in raw and "oauth_token_secret" not in raw  # the request token's secret sealed
        page = browse(started.json()["authorize_url"])
        assert page.status_code == 200 and "Connected" in page.text, page.text
        again = browse(started.json()["authorize_url"])  # the request token is spent
        assert again.status_code >= 400
        replay = httpx2.get(f"{url}/oauth/callback?oauth_token=unknown&oauth_verifier=x")
        assert replay.status_code == 400 and "unknown or expired" in replay.text
    token = connections.tokens("tumble").load()
    assert token["oauth_token"] and token["oauth_token_secret"] not in page.text
    assert test_connection(connections.get("tumble"), connections, f"{provider.url}/api/me").ok


def test_a_running_server_refuses_a_request_token_url_its_policy_forbids(home, connections, provider):
    with plugwire_server(home, policy=NetworkPolicy()) as (_, url):
        add_three_legged(connections, provider)
        started = httpx2.post(f"{url}/api/connections/tumble/authorize", headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert started.status_code >= 400 and "Refused by the network policy" in started.text
    assert provider.calls["initiate"] == 0


def _cli(home, *args: str, **kw) -> subprocess.CompletedProcess | subprocess.Popen:
    import os

    env = {**os.environ, "PLUGWIRE_HOME": str(home.path), "PYTHONUNBUFFERED": "1", "OAUTH1_SECRET": SECRET}
    return subprocess.run([_plugwire(), *args], env=env, capture_output=True, text=True, timeout=60, **kw)


def _cli_add(home, provider, redirect_uri: str) -> None:
    provider.add_consumer("plugwire-app", SECRET)
    added = _cli(
        home, "connections", "add", "tumble", "--auth", "oauth1",
        "--set", f"request_token_url={provider.url}/initiate",
        "--set", f"authorize_url={provider.url}/authorize",
        "--set", f"access_token_url={provider.url}/token",
        "--set", "consumer_key=plugwire-app",
        "--set", "signature_method=HMAC-SHA256",
        "--set", f"redirect_uri={redirect_uri}",
        "--secret", "consumer_secret=env:OAUTH1_SECRET",
        "--test-url", f"{provider.url}/api/me",
    )
    assert added.returncode == 0, added.stderr
    assert "connections connect" in added.stdout


def test_cli_connect_through_the_loopback_listener(home, provider, connections):
    import os

    _cli_add(home, provider, f"http://127.0.0.1:{free_port()}/callback")
    env = {**os.environ, "PLUGWIRE_HOME": str(home.path), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([_plugwire(), "connections", "connect", "tumble", "--no-browser", "--timeout", "60"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = next((line.strip() for line in proc.stdout if line.startswith("http")), "")
    assert url, proc.communicate(timeout=30)
    page = browse(url)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert page.status_code == 200 and "Connected" in page.text and "Connected tumble" in out
    token = connections.tokens("tumble").load()
    for secret in (SECRET, token["oauth_token"], token["oauth_token_secret"]):
        assert secret not in out + err
    tested = _cli(home, "connections", "test", "tumble", "--json")
    assert tested.returncode == 0 and json.loads(tested.stdout)["outcome"] == "ok", tested.stdout + tested.stderr
    assert provider.seen[-1]["method"] == "HMAC-SHA256" and provider.seen[-1]["user"] == USER


def test_cli_connect_with_a_wrong_secret_says_which_setting_without_traceback(home, provider):
    _cli_add(home, provider, f"http://127.0.0.1:{free_port()}/callback")
    provider.consumers["plugwire-app"].client_secret = "another-secret"
    done = _cli(home, "connections", "connect", "tumble", "--no-browser", "--timeout", "5")
    assert done.returncode == 1, done.stdout + done.stderr
    said = done.stdout + done.stderr
    assert "consumer_secret" in said and "could not verify the signature" in said
    assert "Traceback" not in said and SECRET not in said


def test_the_consoles_connect_button_goes_through_the_provider_and_back(home, connections, provider):
    from test_web_console import Browser

    add_three_legged(connections, provider, redirect_uri="http://127.0.0.1:9/unused")
    with plugwire_server(home) as (_, url):
        browser = Browser(url)
        assert browser.get("/console/connections/tumble/status").json()["connected"] is False
        started = browser.post("/console/connections/tumble/connect")
        assert started.status_code == 303 and started.headers["location"].startswith(f"{provider.url}/authorize")
        page = browse(started.headers["location"])
        assert page.status_code == 200 and "Connected" in page.text, page.text
        assert browser.get("/console/connections/tumble/status").json()["connected"] is True
    with plugwire_server(home, policy=NetworkPolicy()) as (_, url):
        browser = Browser(url)
        refused = browser.post("/console/connections/tumble/connect", follow_redirects=True)
        assert "Refused by the network policy" in refused.text
    assert provider.calls["initiate"] == 1


def test_an_async_client_signs_a_form_post(connections, provider):
    import asyncio

    conn = connections.create({"name": "shop", "auth_type": "oauth1_two_legged", "settings": _signing(provider, "HMAC-SHA256")})

    async def post() -> httpx2.Response:
        async with client_for(conn, connections, asynchronous=True) as client:
            return await client.post(f"{provider.url}/api/notes", data=NOTE)

    answered = asyncio.run(post())
    assert answered.status_code == 200 and answered.json()["form"] == NOTE
