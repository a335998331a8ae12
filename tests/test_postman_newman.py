"""Postman's own tools on the collection ``plugwire actions export --postman`` writes:
newman (Postman's collection runner) sends every request to a real API on
127.0.0.1 that checks Basic, Digest, bearer, API-key and custom-header credentials
itself, with the credentials given only as newman's ``--env-var``; and Postman's SDK
(``postman-collection``) reads back every request as it was written.

newman and the SDK come from npm into tests/.npm (.ci/run installs them; see
tests/published_schemas.py).
"""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qsl

import pytest
from api_server import make_api
from plugwire.core.connections.model import Connections
from plugwire.core.wizard.actions import Actions, build_action
from published_schemas import node_script, npm_tool, postman_schema, problems, run_node
from recipes_support import prove_saved, save_action

TOKEN = "tok-newman-never-in-the-file-1234"
PASSWORD = "pw-newman-never-in-the-file"
DIGEST_PASSWORD = "digest-newman-never-in-the-file"
KEY = "key-newman-never-in-the-file"
SIGNING = "signing-newman-never-in-the-file"
CUSTOM = ("custom-one-never-in-the-file", "custom-two-never-in-the-file")
CLIENT_SECRET = "cs-newman-never-in-the-file"
SECRETS = (TOKEN, PASSWORD, DIGEST_PASSWORD, KEY, SIGNING, *CUSTOM, CLIENT_SECRET)

#: What newman is given for each collection variable the export declared.
ENV = {"crm_token": TOKEN, "jira_username": "ana@example.test", "jira_password": PASSWORD,
       "wiki_username": "bo", "wiki_password": DIGEST_PASSWORD, "maps_api_key": KEY,
       "find_issue_x_signing": SIGNING, "legacy_x_one": CUSTOM[0], "legacy_x_two": CUSTOM[1],
       "billing_client_id": "plugwire", "billing_client_secret": CLIENT_SECRET}


class _KeepBodies:
    """ASGI wrapper that keeps each request's body (in arrival order) for the test."""

    def __init__(self, app) -> None:
        self.app = app
        self.bodies: list[bytes] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        self.bodies.append(body)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


@pytest.fixture
def api(live_server):
    """The checking API (every scheme's expected credentials) and its base URL."""
    api = make_api(basic=("ana@example.test", PASSWORD), bearer=TOKEN, digest=("bo", DIGEST_PASSWORD),
                   params={"api_key": KEY}, headers={"X-One": CUSTOM[0], "X-Two": CUSTOM[1]})
    kept = _KeepBodies(api.app)
    server = live_server(kept)
    return api, kept, server.url


@pytest.fixture
def saved(home, api):
    """Connections of six auth types and actions through each, aimed at the checking API."""
    server, kept, url = api
    conns = Connections(home)
    conns.create({"name": "crm", "auth_type": "header", "settings": {"headers": {"Authorization": f"Bearer {TOKEN}"}}})
    conns.create({"name": "jira", "auth_type": "basic", "settings": {"username": "ana@example.test", "password": PASSWORD}})
    conns.create({"name": "wiki", "auth_type": "digest", "settings": {"username": "bo", "password": DIGEST_PASSWORD}})
    conns.create({"name": "maps", "auth_type": "query", "settings": {"params": {"api_key": KEY}}})
    conns.create({"name": "legacy", "auth_type": "custom", "settings": {"headers": {"X-One": CUSTOM[0], "X-Two": CUSTOM[1]}}})
    conns.create({"name": "billing", "auth_type": "oauth2_client_credentials", "settings": {
        "token_url": f"{url}/open/oauth/token", "client_id": "plugwire", "client_secret": CLIENT_SECRET}})
    actions = Actions(home)
    for action in (
        {"name": "create_contact", "connection": "crm", "method": "POST", "url": f"{url}/bearer/v1/contacts",
         "body_format": "json", "body": {"name": "Ana", "tags": ["vip"], "vip": True}, "description": "Add a contact"},
        {"name": "find_issue", "connection": "jira", "method": "GET",
         "url": f"{url}/basic/rest/api/3/search?jql=project%3DOPS", "query": {"maxResults": 5},
         "headers": {"X-Trace": "on", "X-Signing": SIGNING}, "secret_fields": ["X-Signing"]},
        {"name": "edit_page", "connection": "wiki", "method": "PUT", "url": f"{url}/digest/pages/42",
         "body_format": "text", "body": "h1. Roof"},
        {"name": "geocode", "connection": "maps", "method": "GET", "url": f"{url}/query/geocode",
         "query": {"address": "Main St 1"}},
        {"name": "upload", "connection": "legacy", "method": "POST", "url": f"{url}/header/upload",
         "body_format": "multipart", "body": {"caption": "Before"}},
        {"name": "invoice", "connection": "billing", "method": "POST", "url": f"{url}/open/invoices",
         "body_format": "form", "body": {"amount": "12.50", "currency": "EUR"}},
        {"name": "remove_tag", "method": "DELETE", "url": f"{url}/open/tags/vip"},
    ):
        if action.get("connection") == "billing":  # its token URL is not a token endpoint: saved as Apply saves it
            save_action(home, **action)
            continue
        actions.create(build_action(action))
        prove_saved(home, action["name"])  # through the connection's auth, against the checking API
    server.requests.clear()  # the tests below count what newman sent
    kept.bodies.clear()
    return home


@pytest.fixture
def exported(saved, run_cli, tmp_path):
    """The collection file ``plugwire actions export --postman`` wrote, and its JSON."""
    path = tmp_path / "team.postman_collection.json"
    code, out, err = run_cli("actions", "export", "--postman", "-o", str(path))
    assert code == 0, out + err
    collection = json.loads(path.read_text())
    assert problems(postman_schema("2.1.0"), collection) == []
    for secret in SECRETS:
        assert secret not in path.read_text()
    return path, collection


def _newman(path, *env_vars: str, tmp_path) -> dict:
    """Run newman on the collection ``path``; return its JSON report's run."""
    report = tmp_path / "newman-report.json"
    done = run_node([str(npm_tool("newman")), "run", str(path), "--reporters", "json", "--reporter-json-export", str(report),
                     "--timeout-request", "20000", *env_vars])
    assert report.exists(), done.stdout + done.stderr
    return json.loads(report.read_text())["run"]


def test_newman_sends_every_exported_request_with_the_credentials_given_as_variables(api, exported, tmp_path):
    server, kept, _url = api
    path, collection = exported
    declared = {v["key"] for v in collection["variable"]}
    assert declared == set(ENV)  # every credential is a variable, and newman is given each one
    run = _newman(path, *[f"--env-var={k}={v}" for k, v in ENV.items()], tmp_path=tmp_path)
    # Seven requests and Digest's retry: the API challenges with 401 first, newman answers with the hash.
    assert run["failures"] == [] and run["stats"]["requests"] == {"total": 8, "pending": 0, "failed": 0}
    seen = {(s.method, s.path): (s, b) for s, b in zip(server.requests, kept.bodies) if s.status != 401}
    assert {key: s.status for key, (s, _) in seen.items()} == {
        ("POST", "/bearer/v1/contacts"): 200, ("GET", "/basic/rest/api/3/search"): 200, ("PUT", "/digest/pages/42"): 200,
        ("GET", "/query/geocode"): 200, ("POST", "/header/upload"): 200, ("POST", "/open/invoices"): 200,
        ("DELETE", "/open/tags/vip"): 200}
    contact, issue, page = seen["POST", "/bearer/v1/contacts"], seen["GET", "/basic/rest/api/3/search"], seen["PUT", "/digest/pages/42"]
    geocode, upload, invoice = seen["GET", "/query/geocode"], seen["POST", "/header/upload"], seen["POST", "/open/invoices"]
    remove = seen["DELETE", "/open/tags/vip"]
    assert json.loads(contact[1]) == {"name": "Ana", "tags": ["vip"], "vip": True}
    assert contact[0].headers["content-type"].startswith("application/json")
    assert issue[0].user == "ana@example.test" and issue[0].query == [("jql", "project=OPS"), ("maxResults", "5")]
    assert issue[0].headers["x-trace"] == "on" and issue[0].headers["x-signing"] == SIGNING
    assert page[0].user == "bo" and page[1] == b"h1. Roof" and page[0].headers["content-type"].startswith("text/plain")
    assert geocode[0].param("address") == ["Main St 1"] and geocode[0].param("api_key") == [KEY]
    assert upload[0].headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b'name="caption"\r\n\r\nBefore\r\n' in upload[1]
    assert parse_qsl(invoice[1].decode()) == [("amount", "12.50"), ("currency", "EUR")]
    # newman never fetches an OAuth 2 token (the Postman app does, from the block's
    # token URL and client variables): without one it sends the request unauthorised.
    assert "authorization" not in invoice[0].headers and not [s for s in server.requests if "token" in s.path]
    assert remove[1] == b"" and "authorization" not in remove[0].headers


def test_without_the_variables_the_api_refuses_every_authenticated_request(api, exported, tmp_path):
    server, _kept, _url = api
    path, _collection = exported
    run = _newman(path, f"--env-var=jira_password={PASSWORD}x", tmp_path=tmp_path)
    statuses = {e["item"]["name"]: e["response"]["code"] for e in run["executions"]}
    # A wrong Basic password, and empty bearer and Digest values: 401; API keys sent empty: 403.
    assert statuses == {"create_contact": 401, "find_issue": 401, "edit_page": 401, "geocode": 403, "upload": 403,
                        "invoice": 200, "remove_tag": 200}
    basic = server.last("basic").headers["authorization"]
    assert base64.b64decode(basic.removeprefix("Basic ")).decode() == f":{PASSWORD}x"  # only the password was given


_SDK_READ = """
const {Collection} = require('postman-collection');
const fs = require('fs');
const collection = new Collection(JSON.parse(fs.readFileSync(process.argv[1], 'utf8')));
const out = [];
collection.forEachItem((item) => {
  const r = item.request;
  const auth = r.auth ? {type: r.auth.type, params: r.auth.parameters().toObject()} : null;
  out.push({name: item.name, method: r.method, url: r.url.toString(), query: r.url.query.toObject(true),
            headers: r.headers.all().map((h) => [h.key, h.value]), body: r.body ? r.body.toJSON() : null, auth,
            description: r.description ? r.description.toString() : null});
});
out.push({variables: collection.variables.toObject()});
process.stdout.write(JSON.stringify(out));
"""


def test_postmans_sdk_reads_every_request_back_as_written(exported):
    path, collection = exported
    *items, variables = json.loads(node_script(_SDK_READ, str(path)))
    assert variables == {"variables": {key: "" for key in ENV}}
    assert len(items) == len(collection["item"]) and items[0]["description"] == "Add a contact"
    for read, item in zip(items, collection["item"]):
        written = item["request"]
        assert (read["name"], read["method"]) == (item["name"], written["method"])
        assert read["url"] == written["url"]["raw"] and read["description"] == written.get("description")
        assert read["headers"] == [[h["key"], h["value"]] for h in written["header"]]
        assert read["auth"]["type"] == written["auth"]["type"]
        attrs = {a["key"]: a["value"] for a in written["auth"].get(written["auth"]["type"], [])}
        assert read["auth"]["params"] == attrs
        body = written.get("body")
        if body:
            assert {k: read["body"][k] for k in body} == body
        else:
            assert read["body"] is None
