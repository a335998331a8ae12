"""The simple built-in auth types against a real API on 127.0.0.1 (tests/api_server.py):
right credentials get in, wrong ones are rejected plainly, secrets stay out of
messages and logs."""

from __future__ import annotations

import asyncio
import logging

import httpx2
import pytest

from api_server import make_api, parse_digest_header
from conftest import free_port
from plugwire.core.base.errors import UserInputError
from plugwire.core.http.client import client_for
from plugwire.core.http.outcomes import Outcome
from plugwire.core.http.testconn import test_connection as check  # aliased: pytest would collect test_*
from plugwire.core.plugincore.auth import AuthContext, MemoryTokenStore
from plugwire.core.plugincore.manager import auth_types

BASIC = ("octo-user", "S3CRET-basic-pw-4b1d")
BEARER = "tok-BEARER-7f3a9e11"
API_KEY = "KEY-header-91c2e6"
QUERY_KEY = "KEY-query-55d1/+=&"  # characters that must be percent-encoded in a URL
DIGEST = ("dora", "S3CRET-digest-pw-c0de")
PLANTED = [BASIC[1], BEARER, API_KEY, QUERY_KEY, DIGEST[1]]


@pytest.fixture
def api():
    return make_api(basic=BASIC, bearer=BEARER, headers={"X-Api-Key": API_KEY}, params={"api_key": QUERY_KEY}, digest=DIGEST)


@pytest.fixture
def server(api, live_server):
    return live_server(api.app)


GOOD = {
    "basic": ("basic", {"username": BASIC[0], "password": BASIC[1]}, "/basic/me"),
    "bearer": ("header", {"headers": {"Authorization": f"Bearer {BEARER}"}}, "/bearer/me"),
    "api-key-header": ("header", {"headers": {"X-Api-Key": API_KEY, "Accept": "application/json"}}, "/header/me"),
    "query": ("query", {"params": {"api_key": QUERY_KEY}}, "/query/me"),
    "digest": ("digest", {"username": DIGEST[0], "password": DIGEST[1]}, "/digest/me"),
    "custom-basic": ("custom", {"username": BASIC[0], "password": BASIC[1]}, "/basic/me"),
    "custom-header": ("custom", {"headers": {"X-Api-Key": API_KEY}}, "/header/me"),
    "custom-query": ("custom", {"params": {"api_key": QUERY_KEY}}, "/query/me"),
}

BAD = {
    "basic": ("basic", {"username": BASIC[0], "password": "wrong-pw"}, "/basic/me", 401, "Bad credentials"),
    "bearer": ("header", {"headers": {"Authorization": "Bearer wrong-token"}}, "/bearer/me", 401, "Bad credentials"),
    "api-key-header": ("header", {"headers": {"X-Api-Key": "wrong-key"}}, "/header/me", 403, "Invalid API key"),
    "missing-header": ("header", {"headers": {"X-Other": "whatever"}}, "/header/me", 401, "Requires authentication"),
    "query": ("query", {"params": {"api_key": "wrong-key"}}, "/query/me", 403, "Invalid API key"),
    "digest": ("digest", {"username": DIGEST[0], "password": "wrong-pw"}, "/digest/me", 401, "Bad credentials"),
    "digest-user": ("digest", {"username": "mallory", "password": DIGEST[1]}, "/digest/me", 401, "Bad credentials"),
    "custom": ("custom", {"username": "nobody", "password": "nope"}, "/basic/me", 401, "Bad credentials"),
}


@pytest.mark.parametrize("case", sorted(GOOD))
def test_right_credentials_get_in(case, api, server, connections):
    auth, settings, path = GOOD[case]
    conn = connections.create({"name": case, "auth_type": auth, "settings": settings, "test_url": server.url + path})
    result = check(connections.get(case), connections)
    assert result.ok, result.message
    assert result.outcome is Outcome.OK and result.status == 200
    assert api.last().status == 200
    assert conn.auth_type == auth


@pytest.mark.parametrize("case", sorted(BAD))
def test_wrong_credentials_are_rejected_with_the_apis_message(case, server, connections):
    auth, settings, path, status, said = BAD[case]
    connections.create({"name": case, "auth_type": auth, "settings": settings, "test_url": server.url + path})
    result = check(connections.get(case), connections)
    assert not result.ok
    assert result.outcome is Outcome.CREDENTIALS_REJECTED
    assert result.status == status
    assert result.api_message == said
    assert said in result.message and "credentials" in result.message


def test_no_credentials_at_all_is_rejected(server, connections):
    conn = connections.create({"name": "anon", "auth_type": "none", "test_url": server.url + "/basic/me"})
    result = check(conn, connections)
    assert result.outcome is Outcome.CREDENTIALS_REJECTED and result.api_message == "Requires authentication"


def test_good_credentials_but_forbidden_resource_is_a_403(server, connections):
    conn = connections.create({"name": "b", "auth_type": "basic", "settings": {"username": BASIC[0], "password": BASIC[1]}})
    result = check(conn, connections, server.url + "/basic/forbidden")
    assert result.status == 403 and result.outcome is Outcome.CREDENTIALS_REJECTED
    assert "refused access" in result.message and "not accessible" in result.api_message


def test_custom_combines_headers_params_and_basic(live_server, connections):
    api = make_api(basic=BASIC, headers={"X-Tenant": "TENANT-secret-77"}, params={"app_key": "APPKEY-secret-88"})
    server = live_server(api.app)
    settings = {
        "username": BASIC[0],
        "password": BASIC[1],
        "headers": {"X-Tenant": "TENANT-secret-77"},
        "params": {"app_key": "APPKEY-secret-88"},
    }
    conn = connections.create({"name": "combo", "auth_type": "custom", "settings": settings})
    with client_for(conn, connections) as client:
        response = client.get(server.url + "/all/items", params={"page": "2"})
    assert response.status_code == 200, response.text
    seen = api.last("all")
    assert seen.user == BASIC[0]
    assert seen.param("page") == ["2"] and seen.param("app_key") == ["APPKEY-secret-88"]
    # one missing part is enough to be refused
    del settings["headers"]
    partial = connections.create({"name": "partial", "auth_type": "custom", "settings": settings})
    assert check(partial, connections, server.url + "/all/items").outcome is Outcome.CREDENTIALS_REJECTED


def test_custom_username_alone_is_basic_with_empty_password(live_server, connections):
    api = make_api(basic=("sk_test_KEY-as-user-123", ""))
    server = live_server(api.app)
    conn = connections.create({"name": "stripe-like", "auth_type": "custom", "settings": {"username": "sk_test_KEY-as-user-123"}})
    assert check(conn, connections, server.url + "/basic/charges").ok


def test_query_auth_keeps_the_requests_own_parameters(api, server, connections):
    conn = connections.create({"name": "q", "auth_type": "query", "settings": {"params": {"api_key": QUERY_KEY}}})
    with client_for(conn, connections) as client:
        response = client.get(server.url + "/query/search?q=plug+wire&page=1&page=2")
    assert response.status_code == 200
    seen = api.last("query")
    assert seen.param("q") == ["plug wire"]
    assert seen.param("page") == ["1", "2"]
    assert seen.param("api_key") == [QUERY_KEY]
    assert response.json()["args"] == [["q", "plug wire"], ["page", "1"], ["page", "2"]]


def test_query_auth_replaces_a_same_named_parameter(api, server, connections):
    conn = connections.create({"name": "q", "auth_type": "query", "settings": {"params": {"api_key": QUERY_KEY}}})
    with client_for(conn, connections) as client:
        assert client.get(server.url + "/query/x", params={"api_key": "stale", "a": "b"}).status_code == 200
    assert api.last().param("api_key") == [QUERY_KEY] and api.last().param("a") == ["b"]


def test_digest_answers_the_servers_challenge_and_reuses_it(api, server, connections):
    conn = connections.create({"name": "d", "auth_type": "digest", "settings": {"username": DIGEST[0], "password": DIGEST[1]}})
    with client_for(conn, connections) as client:
        first = client.get(server.url + "/digest/a?x=1")
        second = client.post(server.url + "/digest/b", json={"n": 1})
    assert first.status_code == 200 and second.status_code == 200
    digest_requests = [r for r in api.requests if r.route == "digest"]
    # challenge, answer, then the second request authenticates straight away
    assert [r.status for r in digest_requests] == [401, 200, 200]
    sent = parse_digest_header(digest_requests[-1].headers["authorization"])
    assert sent["nc"] == "00000002" and sent["uri"] == "/digest/b" and sent["qop"] == "auth"
    assert DIGEST[1] not in digest_requests[-1].headers["authorization"]


def test_auth_types_work_with_the_async_client_too(api, server, connections):
    cases = [GOOD[c] for c in ("bearer", "query", "custom-basic", "digest")]
    conns = [connections.create({"name": f"a{i}", "auth_type": a, "settings": s}) for i, (a, s, _) in enumerate(cases)]

    async def run() -> list[int]:
        codes = []
        for conn, (_, _, path) in zip(conns, cases):
            async with client_for(conn, connections, asynchronous=True) as client:
                codes.append((await client.get(server.url + path)).status_code)
        return codes

    assert asyncio.run(run()) == [200, 200, 200, 200]


def _flow(auth_name: str, settings: dict, url: str = "https://api.example.com/v1/items?page=2") -> httpx2.Request:
    """Drive an auth's flow directly: it must hand back the request with no I/O."""
    auth_type = auth_types.get(auth_name)
    auth = auth_type.build_auth(auth_type.parse_settings(settings), AuthContext("t", MemoryTokenStore()))
    flow = auth.sync_auth_flow(httpx2.Request("GET", url))
    request = next(flow)
    with pytest.raises(StopIteration):
        flow.send(httpx2.Response(200, request=request))
    return request


def test_flows_set_headers_and_params_without_io():
    req = _flow("header", {"headers": {"X-Api-Key": "k-1", "X-Two": "v-2"}})
    assert req.headers["x-api-key"] == "k-1" and req.headers["x-two"] == "v-2"
    req = _flow("query", {"params": {"key": "a b&c"}})
    assert req.url.params.get_list("page") == ["2"] and req.url.params["key"] == "a b&c"
    req = _flow("custom", {"headers": {"X-T": "t"}, "params": {"k": "v"}, "username": "u", "password": "p"})
    assert req.headers["authorization"] == httpx2.BasicAuth("u", "p").auth_flow(httpx2.Request("GET", "http://x")).__next__().headers["authorization"]
    assert req.headers["x-t"] == "t" and req.url.params["k"] == "v" and req.url.params["page"] == "2"


@pytest.mark.parametrize(
    "auth, settings, field, words",
    [
        ("header", {"headers": {}}, "settings.headers", "at least one header"),
        ("header", {}, "settings.headers", "Field required"),
        ("header", {"headers": {"Bad Header": "SECRET-VALUE-1"}}, "settings.headers", "'Bad Header' is not a valid HTTP header name"),
        ("header", {"headers": {"X-Key:": "SECRET-VALUE-1"}}, "settings.headers", "'X-Key:' is not a valid"),
        ("header", {"headers": {"X-Key": "SECRET-VALUE-1\r\nX-Evil: 1"}}, "settings.headers", "line break"),
        ("query", {"params": {}}, "settings.params", "at least one parameter"),
        ("query", {"params": {"": "SECRET-VALUE-1"}}, "settings.params", "empty"),
        ("custom", {}, "settings", "at least one of headers, params, username or password"),
        ("custom", {"headers": {}, "params": {}}, "settings", "at least one of headers, params, username or password"),
        ("custom", {"headers": {"Authorization": "SECRET-VALUE-1"}, "password": "SECRET-VALUE-1"}, "settings", "Authorization"),
        ("digest", {"username": "u"}, "settings.password", "Field required"),
        ("digest", {"username": "", "password": "SECRET-VALUE-1"}, "settings.username", "empty"),
        ("basic", {"username": "u", "password": "SECRET-VALUE-1", "extra": 1}, "settings.extra", "Extra inputs"),
    ],
)
def test_bad_settings_name_the_field_and_never_the_secret(auth, settings, field, words, connections):
    with pytest.raises(UserInputError) as info:
        connections.create({"name": "x", "auth_type": auth, "settings": settings})
    text = str(info.value)
    assert f"{field}:" in text or f"{field}." in text, text
    assert words in text
    assert "SECRET-VALUE-1" not in text


def test_secrets_stay_out_of_logs_and_messages(api, server, connections, caplog):
    caplog.set_level(logging.DEBUG)
    results = []
    for case in sorted(GOOD):
        auth, settings, path = GOOD[case]
        conn = connections.create({"name": case, "auth_type": auth, "settings": settings})
        results.append(check(conn, connections, server.url + path))
        with client_for(conn, connections) as client:
            client.get(server.url + path + "?extra=1")
        # a wrong-URL failure report must not echo the secrets either
        results.append(check(conn, connections, f"http://127.0.0.1:{free_port()}{path}?page=1"))
    assert all(r.ok for r in results[::2])
    assert {r.outcome for r in results[1::2]} == {Outcome.CONNECTION_REFUSED}
    assert "HTTP Request" in caplog.text  # the HTTP client did log its requests
    text = caplog.text + "".join(r.model_dump_json() for r in results)
    text += "".join(repr(c.settings) + str(c.public()) for c in connections.list())
    for secret in PLANTED:
        assert secret not in text
        assert httpx2.QueryParams({"k": secret}).__str__()[2:] not in text  # the URL-encoded form


def test_describe_fields_gives_factory_defaults_and_no_secret_defaults():
    from plugwire.core.plugincore.manager import auth_types

    fields = {f["name"]: f for f in auth_types.get("custom").describe_fields()}
    assert fields["headers"]["default"] == {} and fields["headers"]["secret"] is True
    assert fields["password"]["default"] is None
    basic = {f["name"]: f for f in auth_types.get("basic").describe_fields()}
    assert basic["password"]["required"] is True and basic["username"]["default"] == ""
