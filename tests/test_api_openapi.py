"""The OpenAPI document the server publishes at /api/openapi.json stays true: it is
valid OpenAPI 3.1, it describes exactly the routes api.py serves, and each request
schema it documents accepts what the route accepts."""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path

import httpx2
import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from plugwire.core.http.netpolicy import NetworkPolicy
from plugwire.core.server import ServerState, create_app
from plugwire.core.server.api import routes
from plugwire.core.server.openapi import document
from plugwire.core.storage.home import Home
from recipes_support import API_TOKEN, plugwire_server, save_action

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def _doc() -> dict:
    return json.loads(json.dumps(document(routes)))


def _validator(doc: dict, ref: str):
    """Return a validator of the schema at ``ref`` (a JSON pointer into ``doc``)."""
    return jsonschema_rs.validator_for({"$ref": ref, "components": doc["components"]})


def test_the_document_is_served_behind_the_token(home):
    with plugwire_server(home) as (_, url):
        assert httpx2.get(f"{url}/api/openapi.json").status_code == 401
        answer = httpx2.get(f"{url}/api/openapi.json", headers=AUTH)
    assert answer.status_code == 200 and answer.json() == _doc()


def test_the_document_is_valid_openapi_3_1():
    from schemathesis.specs.openapi.definitions import OPENAPI_31

    meta = jsonschema_rs.validator_for(OPENAPI_31)
    doc = _doc()
    assert doc["openapi"] == "3.1.0" and list(meta.iter_errors(doc)) == []
    broken = copy.deepcopy(doc)
    del broken["paths"]["/api/actions"]["post"]["responses"]["201"]["description"]
    assert not meta.is_valid(broken)  # the meta-schema is not vacuous
    for name in doc["components"]["schemas"]:  # each schema compiles, its references resolve
        _validator(doc, f"#/components/schemas/{name}").is_valid({})


def test_every_route_is_documented_and_every_documented_route_exists():
    served = {(r.path, m.lower()) for r in routes for m in (r.methods or {"GET"}) if m != "HEAD"}
    documented = {(path, method) for path, ops in _doc()["paths"].items() for method in ops}
    assert served == documented
    for path, ops in _doc()["paths"].items():
        for method, op in ops.items():
            needs_token = path.startswith("/api/")
            assert bool(op["security"]) == needs_token, (path, method)
            if needs_token:
                assert op["responses"]["401"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
            if "requestBody" in op:
                assert {"400", "413", "422"} <= set(op["responses"]), (path, method)


# -- each documented request schema accepts what its route accepts --------------------------------
GOOD_BODIES = {
    "/api/connections": {"name": "shop", "auth_type": "basic", "settings": {"username": "u", "password": "p"},
                         "base_url": "https://api.example.com", "timeout": 10},
    "/api/actions": {"name": "ping", "method": "POST", "url": "https://api.example.com/ping", "headers": {"X-Trace": "1"},
                     "query": {"tag": ["a", "b"], "page": 2}, "body_format": "json", "body": {"a": [1, None]},
                     "retry": {"max_attempts": 2}, "timeout": 5, "response_format": "json"},
    "/api/recipes": {"name": "hook", "trigger": {"type": "webhook", "config": {"sample_payload": {"id": 1}}},
                     "steps": [{"action": "proven-ping", "body": {"id": "{{trigger.payload.id}}"}, "headers": {"X-Id": "{{trigger.payload.id}}"}}]},
}


def _schema_of(doc: dict, path: str):
    return _validator(doc, doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"])


@pytest.fixture(scope="module")
def client():
    with tempfile.TemporaryDirectory() as folder:
        state = ServerState(Home(Path(folder)), policy=NetworkPolicy(enabled=True), api_token=API_TOKEN)
        yield TestClient(create_app(state), raise_server_exceptions=True)


def test_the_bodies_a_route_takes_fit_its_documented_schema(client):
    doc = _doc()
    # The action the API saves is a draft (nothing answers at api.example.com); the recipe runs a proven one.
    save_action(client.app.state.plugwire.home, "proven-ping", method="POST", url="https://api.example.com/ping", sample={"ok": True})
    for path, body in GOOD_BODIES.items():
        answer = client.post(path, headers=AUTH, json=body)
        assert answer.status_code == 201, answer.text
        assert _schema_of(doc, path).is_valid(body), path


# Action-like bodies, mostly well formed, with wrong values mixed in where it matters.
_text = st.text(max_size=12)
_scalar = st.one_of(st.none(), st.booleans(), st.integers(-10, 10), _text)
_json = st.recursive(_scalar, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_text, inner, max_size=3)), max_leaves=6)
_action = st.fixed_dictionaries(
    {"name": st.sampled_from(["a", "b", "", "x y", "é"]),
     "url": st.sampled_from(["https://api.example.com/x", "http://127.0.0.1:9/", "/rel", "ftp://x/y", ""])},
    optional={
        "method": st.sampled_from(["GET", "post", "BREW", ""]),
        "headers": st.dictionaries(st.sampled_from(["X-A", "Bad Name", "Tést", ""]), st.sampled_from(["1", "a\r\nb", "é", ""]), max_size=2),
        "query": st.dictionaries(st.sampled_from(["q", "page"]), _json, max_size=2),
        "body_format": st.sampled_from(["none", "json", "form", "multipart", "xml", "text", "binary", "yaml"]),
        "body": _json,
        "response_format": st.sampled_from(["auto", "json", "bytes", "csv"]),
        "timeout": st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False), _text),
        "content_type": st.sampled_from(["text/csv", "a\nb"]),
    },
)


@pytest.mark.fuzz
@settings(max_examples=40)
@given(body=_action)
def test_the_documented_action_schema_accepts_whatever_the_route_accepts(client, body):
    answer = client.post("/api/actions", headers=AUTH, json=body)
    assert answer.status_code in (201, 409, 422), answer.text
    if answer.status_code in (201, 409):
        assert _schema_of(_doc(), "/api/actions").is_valid(body), body


def test_a_method_a_path_lacks_is_405_listing_the_ones_it_has(client):
    # One route per path: Starlette's Allow lists every method of the path, as documented.
    answer = client.delete("/api/actions", headers=AUTH)
    assert answer.status_code == 405 and set(answer.headers["allow"].split(", ")) >= {"GET", "POST"}
    documented = {m.upper() for m in _doc()["paths"]["/api/actions"]}
    assert documented <= set(answer.headers["allow"].split(", "))
