"""Survivors of the mutation run over plugins/auth/oauth2_tokens.py (issue 17,
bench/README.md): what ``normalise_token`` stores of a token endpoint's answer.

The OAuth2 tests' provider always sends ``expires_in``, and authlib turns it into
``expires_at`` before plugwire sees the token; so the lifetime plugwire computes
itself, and a token with no lifetime at all, were never exercised. Nor was a client
secret of exactly four characters (the shortest masked, as everywhere in plugwire)
echoed in a provider's error.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from conftest import free_port
from plugwire.core.base.errors import AuthorizationRequired, PlugwireError
from plugwire.core.http.client import client_for
from plugwire.plugins.auth.oauth2_tokens import normalise_token

GRANT = ("client_credentials", {"scope": "read"})


def test_a_token_without_a_lifetime_is_stored_without_one():
    """``expires_in`` is only RECOMMENDED (RFC 6749, 5.1): without it the token has no
    ``expires_at`` (only a 401 then says it is stale), and storing it does not fail."""
    token = normalise_token({"access_token": "at-1", "token_type": "Bearer"}, None, GRANT)
    assert "expires_at" not in token and token["access_token"] == "at-1"


def test_expires_at_is_computed_from_expires_in_when_the_answer_has_none():
    before = int(time.time())
    token = normalise_token({"access_token": "at-1", "expires_in": 3600}, None, GRANT)
    assert before + 3600 <= token["expires_at"] <= int(time.time()) + 3600


def test_an_expires_at_the_answer_gives_is_kept():
    """A provider's own ``expires_at`` (authlib's, or one the provider sent) is not
    replaced by one computed again from ``expires_in``."""
    token = normalise_token({"access_token": "at-1", "expires_in": 3600, "expires_at": 1_700_000_000}, None, GRANT)
    assert token["expires_at"] == 1_700_000_000


def test_the_scope_is_the_answers_else_the_previous_tokens_else_the_one_asked_for():
    """A provider may leave ``scope`` out when it granted what was asked (RFC 6749,
    5.1): the stored token then keeps the scope it had, or the one the grant asked for."""
    previous = {"access_token": "old", "refresh_token": "rt-1", "scope": "read write"}
    assert normalise_token({"access_token": "at-2"}, previous, GRANT)["scope"] == "read write"
    assert normalise_token({"access_token": "at-2", "scope": ""}, None, GRANT)["scope"] == "read"
    assert normalise_token({"access_token": "at-2", "scope": "read"}, previous, GRANT)["scope"] == "read"
    assert "scope" not in normalise_token({"access_token": "at-2"}, None, ("client_credentials", {}))


def _token_endpoint(live_server, answer: Callable[[Any], Response]):
    """A token endpoint that answers every request with ``answer(form)``."""

    async def token(request: Request) -> Response:
        return answer(await request.form())

    return live_server(Starlette(routes=[Route("/token", token, methods=["POST"])]))


def _refusing_provider(live_server, error: str):
    """A token endpoint that refuses every request with ``error``, quoting the
    client secret it was sent in its description."""
    return _token_endpoint(live_server, lambda form: JSONResponse(
        {"error": error, "error_description": f"client_secret {form.get('client_secret')} is not the one on file"},
        status_code=400 if error == "invalid_grant" else 401))


def _client_credentials_error(connections, server, secret: str) -> PlugwireError:
    conn = connections.create({"name": "backend", "auth_type": "oauth2_client_credentials", "settings": {
        "token_url": f"{server.url}/token", "client_id": "machine", "client_secret": secret}})
    with client_for(conn, connections) as client, pytest.raises(PlugwireError) as info:
        client.get(f"{server.url}/api")
    return info.value


@pytest.mark.parametrize("secret", ["ab12", "a-longer-client-secret-77"])
def test_a_providers_error_that_quotes_the_client_secret_is_masked(connections, live_server, secret):
    error = _client_credentials_error(connections, _refusing_provider(live_server, "invalid_client"), secret)
    assert "client_secret **** is not the one on file" in str(error) and secret not in str(error)
    assert error.field == "settings.client_secret"


def test_invalid_grant_outside_a_refresh_is_a_settings_error_not_a_reconnect(connections, live_server):
    """Only a refused *refresh* means the user must connect again; a client
    credentials grant refused as ``invalid_grant`` has nothing to reconnect."""
    error = _client_credentials_error(connections, _refusing_provider(live_server, "invalid_grant"), "cc-secret-5512")
    assert not isinstance(error, AuthorizationRequired)
    assert "refused the client_credentials request (invalid_grant" in str(error) and error.field == "settings.token_url"


@pytest.mark.parametrize(("answer", "said"), [
    (HTMLResponse("<h1>Service Unavailable</h1>", status_code=503), "answered 503 Service Unavailable instead of a token"),
    (HTMLResponse("<form>Sign in</form>"), "did not answer with a token (Token endpoint response is not a JSON object"),
])
def test_a_token_endpoint_that_answers_no_token_is_a_settings_error(connections, live_server, answer, said):
    """A gateway's error page or a login page where the token was expected: an error
    naming token_url, not a crash on a token that was never read."""
    error = _client_credentials_error(connections, _token_endpoint(live_server, lambda form: answer), "cc-secret-5512")
    assert said in str(error) and error.field == "settings.token_url" and "token_url" in error.fix


def test_a_token_endpoint_nothing_answers_at_is_a_settings_error(connections):
    port = free_port()
    conn = connections.create({"name": "backend", "auth_type": "oauth2_client_credentials", "settings": {
        "token_url": f"http://127.0.0.1:{port}/token", "client_id": "machine", "client_secret": "cc-secret-5512"}})
    with client_for(conn, connections) as client, pytest.raises(PlugwireError) as info:
        client.get(f"http://127.0.0.1:{port}/api")
    assert f"Could not reach the token endpoint http://127.0.0.1:{port}/token" in str(info.value)
    assert info.value.field == "settings.token_url" and "cc-secret-5512" not in str(info.value)
