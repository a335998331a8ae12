"""Survivors of the mutation run over core/http/capture.py (issue 17, bench/README.md):
the secrets a request carries by itself (typed by hand, no connection) are found in
its headers and query and masked wherever the API echoes them; its other values are
not taken for secrets.

The send-secrets tests plant their credentials through a connection, whose own
secrets mask them by value anyway; so forgetting a hand-typed header's value, the
token after ``Bearer``, or the names ``secret_fields`` marks passed them all.
"""

from __future__ import annotations

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from plugwire.core.base.redact import MASK
from plugwire.core.http.capture import marked_names, request_secrets
from plugwire.core.http.exchange import RequestSpec
from plugwire.core.http.send import send

KEY, TOKEN, TENANT = "typed-key-5521ab", "typed-token-8812cd", "tenant-secret-3391"


@pytest.fixture
def echo(live_server):
    """An API that repeats some of the request's values back under innocent names."""

    async def repeat(request: Request) -> JSONResponse:
        authorization = request.headers.get("authorization", "")
        return JSONResponse({
            "a": request.headers.get("x-api-key"),
            "b": authorization.partition(" ")[2],  # the token alone, without its scheme
            "c": request.headers.get("x-tenant"),
            "d": dict(request.query_params),
        })

    return live_server(Starlette(routes=[Route("/repeat", repeat)]))


def test_hand_typed_credentials_are_masked_where_the_api_echoes_them(echo):
    spec = RequestSpec(method="GET", url=echo.url + "/repeat?q=concert+hall&api_key=typed-query-4410",
                       headers={"X-Api-Key": KEY, "Authorization": f"Bearer {TOKEN}", "X-Tenant": TENANT},
                       secret_fields=["x-tenant"])
    ex = send(spec)
    assert ex.ok, ex.message
    assert ex.response.body == {"a": MASK, "b": MASK, "c": MASK, "d": {"q": "concert hall", "api_key": MASK}}
    for secret in (KEY, TOKEN, TENANT, "typed-query-4410"):
        assert secret not in ex.model_dump_json()


def test_marked_names_are_the_specs_secret_fields_in_lower_case():
    assert marked_names(RequestSpec(secret_fields=[" X-Tenant ", "Account"])) == frozenset({"x-tenant", "account"})
    assert marked_names(RequestSpec()) == frozenset()
    assert marked_names(object()) == frozenset()  # something with no secret_fields at all


def test_only_secret_values_are_taken_from_a_request():
    """The word after the first is a secret of its own only after an auth scheme's name
    (``Bearer``): a cookie's second pair is not; nor is the value of a query parameter
    whose name is not a credential's, which would then be masked in every answer."""
    request = httpx2.Request("GET", "https://api.test/?q=concert&api_key=k3y%2B9&flag",
                             headers={"Cookie": "sid=s3ss-77aa; theme=dark", "Authorization": f"Bearer {TOKEN}"})
    assert sorted(request_secrets(request)) == sorted(
        ["sid=s3ss-77aa; theme=dark", f"Bearer {TOKEN}", TOKEN, "k3y%2B9", "k3y+9"])
