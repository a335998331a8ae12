"""The web console's routes without a browser, against a real server on 127.0.0.1:
access (login off loopback, CSRF on every form), connection forms (secrets never
echoed, kept when left empty, PEM uploads, the private-network flag), Test
connection through the network policy, and a forged session cookie."""

from __future__ import annotations

import re

import httpx2
import pytest
from starlette.requests import Request

from api_server import make_api
from plugwire.core.http.netpolicy import NetworkPolicy
from plugwire.core.web.session import COOKIE, ConsoleAccess, is_loopback_host
from recipes_support import API_TOKEN, plugwire_server
from tls_pki import Pki, hello_app

PASSWORD = "console-Pass-5e1d9a"
HEADER_KEY = "hdr-Key-93kd0c7b"


class Browser:
    """A cookie-keeping HTTP client that fills in each form's CSRF field as a browser would."""

    def __init__(self, url: str, host: str | None = None):
        headers = {"Host": host} if host else {}
        self.client = httpx2.Client(base_url=url, timeout=30, headers=headers)
        self.csrf = ""

    def get(self, path: str) -> httpx2.Response:
        response = self.client.get(path)
        found = re.search(r'name="csrf" value="([^"]+)"', response.text) or re.search(r'name="csrf-token" content="([^"]+)"', response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def post(self, path: str, data: dict | None = None, *, csrf: bool = True, **kw) -> httpx2.Response:
        data = dict(data or {})
        if csrf:
            if not self.csrf:
                self.get("/console/")
            data["csrf"] = self.csrf
        return self.client.post(path, data=data, **kw)


@pytest.fixture
def server(home):
    with plugwire_server(home) as (state, url):
        yield state, url


def test_loopback_rule():
    assert is_loopback_host("127.0.0.1:8000") and is_loopback_host("localhost") and is_loopback_host("[::1]:80")
    assert not is_loopback_host("0.0.0.0") and not is_loopback_host("plugwire.example.com:8000")

    def request(host: str) -> Request:
        return Request({"type": "http", "method": "GET", "path": "/", "headers": [(b"host", host.encode())], "query_string": b""})

    assert not ConsoleAccess("t", "127.0.0.1").login_needed(request("127.0.0.1:8000"))
    assert ConsoleAccess("t", "0.0.0.0").login_needed(request("127.0.0.1:8000"))  # bound beyond loopback
    assert ConsoleAccess("t", "127.0.0.1").login_needed(request("rebound.example:8000"))  # DNS rebinding, a tunnel


def test_every_form_needs_the_csrf_token(server, home):
    state, url = server
    browser = Browser(url)
    for path, data in [
        ("/console/connections/new", {"auth_type": "none", "name": "x"}),
        ("/console/wizard/new", {"name": "a", "method": "GET", "url": "https://example.com/"}),
        ("/console/recipes/new", {"name": "r", "trigger": "webhook"}),
        ("/console/recipes/r/start", {}),
        ("/console/logout", {}),
    ]:
        refused = browser.post(path, data, csrf=False)
        assert refused.status_code == 403, path
        assert "security token" in refused.text
        wrong = browser.post(path, {**data, "csrf": "forged"}, csrf=False)
        assert wrong.status_code == 403, path
    assert home.store.all("connections") == {} and home.store.all("recipes") == {}
    made = browser.post("/console/connections/new", {"auth_type": "none", "name": "x"})
    assert made.status_code == 303 and made.headers["location"] == "/console/connections/x"


def test_off_loopback_every_page_asks_for_the_token_first(server):
    state, url = server
    outsider = Browser(url, host="plugwire.example.com")
    first = outsider.get("/console/connections?x=1")
    assert first.status_code == 303 and first.headers["location"] == "/console/login?next=/console/connections%3Fx%3D1"
    assert outsider.post("/console/connections/new", {"auth_type": "none", "name": "x"}).status_code == 303
    login = outsider.get("/console/login")
    assert login.status_code == 200 and 'type="password" name="token"' in login.text
    assert outsider.post("/console/login", {"token": "wrong"}).status_code == 401
    done = outsider.post("/console/login", {"token": API_TOKEN, "next": "https://evil.example/"})
    assert done.status_code == 303 and done.headers["location"] == "/console/"  # no open redirect
    assert outsider.get("/console/connections").status_code == 200
    # A cookie with a changed payload is not a session.
    value = outsider.client.cookies[COOKIE]
    outsider.client.cookies.clear()
    outsider.client.cookies.set(COOKIE, "e30" + value[value.index("."):])
    assert outsider.get("/console/connections").status_code == 303
    # On loopback nothing is asked.
    assert Browser(url).get("/console/connections").status_code == 200


def test_secrets_are_never_echoed_and_kept_when_left_empty(server, connections, live_server):
    state, url = server
    api = make_api(basic=("bob", PASSWORD), headers={"X-Api-Key": HEADER_KEY})
    api_url = live_server(api.app).url
    browser = Browser(url)
    form = browser.get("/console/connections/new?auth_type=basic&name=jira")
    assert 'name="settings.password" value=""' in form.text and 'value="jira"' in form.text
    made = browser.post("/console/connections/new", {
        "auth_type": "basic", "name": "jira", "settings.username": "bob", "settings.password": PASSWORD,
        "test_url": f"{api_url}/basic/me", "verify_tls": "on", "timeout": "12",
    })
    assert made.status_code == 303
    for page in ("/console/connections", "/console/connections/jira", "/console/connections/jira/edit"):
        assert PASSWORD not in browser.get(page).text
    assert "(keep current)" in browser.get("/console/connections/jira/edit").text
    edited = browser.post("/console/connections/jira/edit", {
        "auth_type": "basic", "name": "jira", "settings.username": "bob", "settings.password": "",
        "test_url": f"{api_url}/basic/me", "description": "kept", "verify_tls": "on", "timeout": "12",
    })
    assert edited.status_code == 303
    conn = connections.get("jira")
    assert conn.settings.password.get_secret_value() == PASSWORD and conn.options.description == "kept"
    tested = browser.post("/console/connections/jira/test", {"url": ""})
    assert "Success" in tested.text and "200" in tested.text

    # Header auth: a row's empty value keeps it, a removed row is unset.
    browser.post("/console/connections/new", {"auth_type": "header", "name": "keyed", "settings.headers.key": ["X-Api-Key", "X-Old"],
                                              "settings.headers.value": [HEADER_KEY, "old"], "verify_tls": "on"})
    edit = browser.get("/console/connections/keyed/edit").text
    assert HEADER_KEY not in edit and 'value="X-Api-Key"' in edit
    kept = browser.post("/console/connections/keyed/edit", {"auth_type": "header", "name": "keyed", "settings.headers.key": ["X-Api-Key"],
                                                           "settings.headers.value": [""], "verify_tls": "on"})
    assert kept.status_code == 303, kept.text
    headers = connections.get("keyed").settings.headers
    assert list(headers) == ["X-Api-Key"] and headers["X-Api-Key"].get_secret_value() == HEADER_KEY


def test_refused_form_names_the_field_and_keeps_what_was_typed_except_secrets(server):
    state, url = server
    browser = Browser(url)
    refused = browser.post("/console/connections/new", {
        "auth_type": "basic", "name": "vpn-api", "settings.password": PASSWORD, "private_network": "on", "verify_tls": "on",
    })
    assert refused.status_code == 400
    assert "agent_url" in refused.text and 'value="vpn-api"' in refused.text and PASSWORD not in refused.text
    made = browser.post("/console/connections/new", {
        "auth_type": "basic", "name": "vpn-api", "settings.password": PASSWORD, "private_network": "on",
        "agent_url": "http://agent.internal:3128", "verify_tls": "on",
    })
    assert made.status_code == 303
    assert "private network, through the agent http://agent.internal:3128" in browser.get("/console/connections/vpn-api").text


def test_client_certificate_upload_reaches_an_mtls_api(server, connections, live_server, tmp_path):
    state, url = server
    pki = Pki(tmp_path / "pki")
    mtls = live_server(hello_app(), ssl_options=pki.server_options())
    browser = Browser(url)
    files = {
        "cert.certificate": ("client.pem", pki.client.cert_pem.encode(), "application/x-pem-file"),
        "cert.private_key": ("client-key.pem", pki.client.key_pem.encode(), "application/x-pem-file"),
        "cert.ca_bundle": ("ca.pem", pki.ca_pem.encode(), "application/x-pem-file"),
    }
    made = browser.post("/console/connections/new", {"auth_type": "none", "name": "mtls", "test_url": f"{mtls.url}/hello", "verify_tls": "on"}, files=files)
    assert made.status_code == 303, made.text
    page = browser.get("/console/connections/mtls").text
    assert "client certificate: subject OU=Testing cert" in page and "PRIVATE KEY" not in page
    assert "Success" in browser.post("/console/connections/mtls/test", {"url": ""}).text
    # An edit without uploads keeps the certificate; "remove" drops it.
    browser.post("/console/connections/mtls/edit", {"auth_type": "none", "name": "mtls", "test_url": f"{mtls.url}/hello", "verify_tls": "on"})
    assert connections.get("mtls").options.client_certificate is not None
    browser.post("/console/connections/mtls/edit", {"auth_type": "none", "name": "mtls", "cert.remove": "on", "verify_tls": "on"})
    assert connections.get("mtls").options.client_certificate is None
    bad = browser.post("/console/connections/new", {"auth_type": "none", "name": "bad"}, files={"cert.certificate": ("x.pem", b"not a certificate", "text/plain")})
    assert bad.status_code == 400 and "client_certificate" in bad.text


def test_test_connection_obeys_the_servers_network_policy(home, connections, live_server):
    api = make_api(basic=("bob", PASSWORD))
    api_url = live_server(api.app).url
    connections.create({"name": "local", "auth_type": "basic", "settings": {"username": "bob", "password": PASSWORD}, "test_url": f"{api_url}/basic/me"})
    with plugwire_server(home, policy=NetworkPolicy(enabled=True)) as (state, url):
        page = Browser(url).post("/console/connections/local/test", {"url": ""}).text
    assert "Refused by the network policy" in page and "loopback" in page
    assert api.requests == []  # nothing was sent


def test_oauth2_connect_redirects_to_the_provider_with_the_servers_callback(server, connections):
    state, url = server
    connections.create({"name": "acme", "auth_type": "oauth2", "settings": {
        "authorize_url": "https://auth.example.com/authorize?audience=api", "token_url": "https://auth.example.com/token",
        "client_id": "app", "client_secret": "s3cret-Value-99"}})
    browser = Browser(url)
    assert browser.get("/console/connections/acme/status").json() == {"interactive": True, "connected": False, "expires_at": None}
    started = browser.post("/console/connections/acme/connect")
    assert started.status_code == 303
    target = httpx2.URL(started.headers["location"])
    assert target.host == "auth.example.com" and target.params["audience"] == "api"
    assert target.params["redirect_uri"] == f"{url}/oauth/callback" and state.home.store.get("oauth_pending", target.params["state"])
    refused = browser.post("/console/connections/missing/connect")
    assert refused.status_code == 404
