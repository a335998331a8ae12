"""The OpenAPI importer: real vendor documents at scale, and small hand-written ones
for each rule (refs, examples, generation, content types, auth hints, faults)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from plugwire.core.base.errors import UserInputError
from plugwire.knowledge.models import CatalogueFile
from plugwire.knowledge.openapi import import_openapi
from plugwire.knowledge.openapi.document import Faults, Resolver
from plugwire.knowledge.openapi.regexgen import string_for_pattern
from plugwire.knowledge.openapi.samples import SampleGenerator

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "openapi"
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}

# file -> (operations in the document, imported, skipped), counted from the documents.
REAL = {
    "github.json": (874, 874, 0),
    "stripe.yaml": (468, 468, 0),
    "slack.json": (174, 174, 0),
    "jira.json": (261, 261, 0),
    "eventbrite.yaml": (23, 23, 0),
    "hubspot-crm-contacts.yaml": (13, 13, 0),
}

needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"{DATA} is absent (CI=true fails instead: tests/ci_noskip.py)")


def count_operations(path: Path) -> int:
    """Count the operations of a document independently of the importer (for YAML,
    from the text: method keys one level under a path, which keeps Stripe's 4 MB fast)."""
    text = path.read_text()
    if path.suffix == ".json":
        return sum(1 for item in json.loads(text)["paths"].values() for m in item if m in METHODS)
    section = re.search(r"^paths:\s*\n(.*?)(?=^\S)", text, re.M | re.S).group(1)
    indent = re.search(r"^( +)\S", section, re.M).group(1)
    return len(re.findall(rf"^{indent}{indent}({'|'.join(METHODS)}):\s*$", section, re.M))


@pytest.fixture(scope="module")
def real():
    """Import each real document once for the module; keyed by file name."""
    cache: dict = {}

    def get(name: str):
        if name not in cache:
            cache[name] = import_openapi(DATA / name)
        return cache[name]

    return get


def endpoint(report, method: str, path: str):
    found = [e for e in report.catalogue.endpoints if e.method == method and e.path == path]
    assert found, f"{method} {path} not imported"
    return found[0]


def write(tmp_path: Path, doc: dict, name: str = "api.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False) if name.endswith(".yaml") else json.dumps(doc))
    return path


def doc3(paths: dict, **extra) -> dict:
    return {"openapi": "3.0.3", "info": {"title": "Example API", "version": "1"},
            "servers": [{"url": "https://api.example.com/v1"}], "paths": paths, **extra}


def post_body(schema: dict, **media) -> dict:
    return {"post": {"summary": "Create", "requestBody": {"content": {"application/json": {"schema": schema, **media}}},
                     "responses": {"201": {"description": "ok"}}}}


# --- the real documents -------------------------------------------------------

@needs_data
@pytest.mark.parametrize("name", sorted(REAL))
def test_every_real_document_imports_with_every_operation_accounted_for(real, name):
    in_doc = count_operations(DATA / name)
    operations, imported, skipped = REAL[name]
    report = real(name)
    assert in_doc == operations
    assert report.operations == operations
    assert report.imported == imported == len(report.catalogue.endpoints)
    assert len(report.skipped) == skipped
    assert report.imported + len(report.skipped) == in_doc
    # The catalogue survives a round trip through its own model, as a file would.
    again = CatalogueFile.model_validate(report.catalogue.model_dump(mode="json"))
    assert len(again.endpoints) == imported


@needs_data
def test_github_examples_win_and_docs_links_come_along(real):
    report = real("github.json")
    assert report.catalogue.provider == "github"
    assert report.catalogue.hosts == ["api.github.com", "uploads.github.com"]  # release assets go to uploads.
    issue = endpoint(report, "POST", "/repos/{owner}/{repo}/issues")
    assert issue.summary == "Create an issue"
    assert issue.docs_url.startswith("https://docs.github.com/")
    assert issue.request.body_format == "json"
    assert issue.request.body["title"] == "Found a bug"  # the document's own example
    assert {"owner", "repo"} <= set(issue.path_params)
    assert any(c.path == "title" and c.required for c in issue.constraints)
    assert "the document declares no security schemes, so the catalogue has no auth hints" in report.faults


@needs_data
def test_stripe_bodies_are_forms_generated_from_schemas(real):
    report = real("stripe.yaml")
    with_body = [e for e in report.catalogue.endpoints if e.request and e.request.body_format != "none"]
    assert len(with_body) > 200
    assert not [e for e in with_body if e.method == "GET"]  # Stripe's empty form bodies on reads are dropped
    formats = {(e.request.body_format, e.path if e.request.body_format != "form" else "") for e in with_body}
    assert formats == {("form", ""), ("multipart", "/v1/files")}
    assert all(isinstance(e.request.body, dict) for e in with_body)
    customers = endpoint(report, "POST", "/v1/customers")
    assert customers.summary == "Creates a new customer object."
    body = customers.request.body
    assert body["email"] == "user@example.com"  # generated: Stripe has no request examples
    assert body["address"]["country"] == "US"
    mode = next(c for c in customers.constraints if c.path == "cash_balance.settings.reconciliation_mode")
    assert mode.enum == ["automatic", "manual", "merchant_default"]
    assert [a.type for a in report.catalogue.auth] == ["basic", "header"]
    assert report.catalogue.auth[1].format == "Bearer {token}"


@needs_data
def test_slack_swagger2_host_base_path_forms_and_oauth(real):
    report = real("slack.json")
    cat = report.catalogue
    assert cat.hosts == ["slack.com"]
    post = endpoint(report, "POST", "/api/chat.postMessage")
    assert post.request.body_format == "form"
    assert post.request.body["channel"]
    assert "token" not in post.request.headers  # a credential, not a sample header
    assert post.docs_url == "https://api.slack.com/methods/chat.postMessage"
    assert post.response.body["ok"] is True
    oauth = cat.auth[0]
    assert oauth.type == "oauth2"
    assert (oauth.authorize_url, oauth.token_url) == ("https://slack.com/oauth/authorize", "https://slack.com/api/oauth.access")


@needs_data
def test_jira_host_becomes_a_template_and_auth_hints_follow_the_schemes(real):
    report = real("jira.json")
    cat = report.catalogue
    assert cat.hosts == ["{company}.atlassian.net"]
    assert [a.type for a in cat.auth] == ["basic", "oauth2"]
    assert cat.auth[1].authorize_url == "https://auth.atlassian.com/authorize"
    assert cat.auth[1].token_url == "https://auth.atlassian.com/oauth/token"
    projects = endpoint(report, "GET", "/rest/api/2/project")
    assert isinstance(projects.response.body, list)
    create = endpoint(report, "POST", "/rest/api/2/issue")
    assert create.request.body_format == "json" and "fields" in create.request.body


@needs_data
def test_eventbrite_wrapper_fault_is_reported(real):
    report = real("eventbrite.yaml")
    venue = endpoint(report, "POST", "/v3/organizations/{organization_id}/venues/")
    assert venue.docs_url.startswith("https://www.eventbrite.com/platform/api#")  # the description is only a link
    assert venue.path_params["organization_id"].example == "12345"  # "Example: 12345." in its description
    faults = [f for f in report.faults if f.startswith("POST /v3/organizations/{organization_id}/venues/")]
    assert len(faults) == 1
    assert "'event'" in faults[0] and "'venue'" in faults[0]
    assert report.catalogue.auth[0].type == "header"


# --- refs ------------------------------------------------------------------------

def test_recursive_schemas_are_cut_and_external_refs_resolved(tmp_path):
    (tmp_path / "shared.yaml").write_text(yaml.safe_dump({
        "Pet": {"type": "object", "required": ["name", "category"],
                "properties": {"name": {"type": "string", "example": "Rex"}, "category": {"$ref": "#/Category"}}},
        "Category": {"type": "object", "required": ["label"], "properties": {"label": {"type": "string", "enum": ["dog", "cat"]}}},
    }))
    node = {"type": "object", "required": ["name", "children"], "properties": {
        "name": {"type": "string"},
        "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
        "parent": {"$ref": "#/components/schemas/Node"},
        "other": {"$ref": "#/components/schemas/Other"},
    }}
    other = {"type": "object", "properties": {"back": {"$ref": "#/components/schemas/Node"}}}
    path = write(tmp_path, doc3(
        {"/nodes": post_body({"$ref": "#/components/schemas/Node"}),
         "/pets": post_body({"$ref": "shared.yaml#/Pet"}),
         "/ghosts": post_body({"$ref": "#/components/schemas/Missing"})},
        components={"schemas": {"Node": node, "Other": other}},
    ))
    report = import_openapi(path)
    body = endpoint(report, "POST", "/v1/nodes").request.body
    json.dumps(body)  # finite and plain
    assert body["name"] and isinstance(body["children"], list)
    assert endpoint(report, "POST", "/v1/pets").request.body == {"name": "Rex", "category": {"label": "dog"}}
    ghost = endpoint(report, "POST", "/v1/ghosts")  # imported without a body, fault reported
    assert ghost.request.body is None
    assert any("#/components/schemas/Missing" in f for f in report.faults)


# --- examples and generation ----------------------------------------------------------

def test_examples_come_first_then_schemas(tmp_path):
    schema = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "size": {"type": "integer"}}}
    path = write(tmp_path, doc3(
        {"/a": post_body(schema, example={"name": "from media example"}),
         "/b": post_body(schema, examples={"first": {"$ref": "#/components/examples/Named"}}),
         "/c": post_body({**schema, "example": {"name": "from schema example"}}),
         "/d": post_body(schema),
         "/e": post_body(schema, example={"size": "big"}),
         "/f": {"get": {"responses": {"200": {"description": "ok", "content": {"application/json": {
             "schema": {"type": "object", "properties": {"id": {"type": "integer"}}}, "example": {"id": "x-1"}}}}}}}},
        components={"examples": {"Named": {"value": {"name": "from examples map"}}}},
    ))
    report = import_openapi(path)
    body = {p: endpoint(report, "POST", f"/v1/{p}").request.body for p in "abcd"}
    assert body["a"] == {"name": "from media example"}
    assert body["b"] == {"name": "from examples map"}
    assert body["c"] == {"name": "from schema example"}
    assert body["d"] == {"name": "Example name", "size": 1}
    bad = [f for f in report.faults if f.startswith("POST /v1/e:")]
    assert len(bad) == 1 and "lacks the required property 'name'" in bad[0] and "size: is a string" in bad[0]
    assert "GET /v1/f: the 200 response example does not fit its schema: id: is a string but the schema says integer" in report.faults
    assert endpoint(report, "GET", "/v1/f").response.body == {"id": "x-1"}  # reported, still the document's sample


def _generator(doc: dict | None = None) -> SampleGenerator:
    return SampleGenerator(Resolver(doc or {}, Path("/nowhere/api.yaml"), Faults()))


def test_generation_respects_formats_patterns_enums_and_ranges():
    gen = _generator()
    schema = {"type": "object", "required": ["country", "when", "mail", "id", "site", "code", "level", "ratio", "kind", "short", "tags"],
              "properties": {
                  "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
                  "when": {"type": "string", "format": "date-time"},
                  "mail": {"type": "string", "format": "email"},
                  "id": {"type": "string", "format": "uuid"},
                  "site": {"type": "string", "format": "uri"},
                  "code": {"type": "string", "pattern": r"^PRJ-\d{4}$"},
                  "level": {"type": "integer", "minimum": 5, "maximum": 9},
                  "ratio": {"type": "number", "exclusiveMinimum": 2.0},
                  "kind": {"type": "string", "enum": ["alpha", "beta"]},
                  "short": {"type": "string", "minLength": 12, "maxLength": 14},
                  "tags": {"type": "array", "minItems": 2, "items": {"type": "string", "maxLength": 3}},
              }}
    value = gen.sample(schema)
    assert value["country"] == "US"  # the name's usual value, which fits the pattern
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", value["when"])
    assert value["mail"] == "user@example.com"
    assert re.fullmatch(r"[0-9a-f-]{36}", value["id"])
    assert value["site"].startswith("https://")
    assert re.fullmatch(r"PRJ-\d{4}", value["code"])
    assert 5 <= value["level"] <= 9 and isinstance(value["level"], int)
    assert value["ratio"] > 2.0
    assert value["kind"] == "alpha"
    assert 12 <= len(value["short"]) <= 14
    assert len(value["tags"]) == 2 and all(len(t) <= 3 for t in value["tags"])


def test_generation_of_one_of_any_of_all_of():
    doc = {"components": {"schemas": {
        "Base": {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}},
        "Named": {"allOf": [{"$ref": "#/components/schemas/Base"},
                            {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}]},
    }}}
    gen = _generator(doc)
    assert gen.sample({"$ref": "#/components/schemas/Named"}) == {"id": 1, "name": "Example name"}
    assert gen.sample({"oneOf": [{"type": "null"}, {"type": "string", "format": "date"}]}) == "2024-01-15"
    assert gen.sample({"anyOf": [{"type": "string", "enum": [""]}, {"type": "integer", "minimum": 3}]}) == 3
    # OpenAPI 3.1: type lists and example arrays
    assert gen.sample({"type": ["null", "integer"], "maximum": 0}) == 0
    assert gen.sample({"type": "string", "examples": ["first", "second"]}) == "first"


@pytest.mark.parametrize("pattern", [r"^[A-Z]{2}$", r"^\d{5}(-\d{4})?$", r"^(cus|acct)_[A-Za-z0-9]{14}$",
                                     r"^[a-z0-9-]+$", r"^#?[0-9a-fA-F]{6}$", r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"])
def test_pattern_strings_match(pattern):
    text = string_for_pattern(pattern)
    assert text is not None and re.search(pattern, text)


def test_unbuildable_patterns_fall_back_gracefully():
    assert string_for_pattern("[") is None  # invalid
    assert string_for_pattern(r"^(?=.*\d)[a-z]{4}$") is None  # lookahead the walk cannot honour
    value = _generator().sample({"type": "string", "pattern": r"^(?=.*\d)[a-z]{4}$"}, name="nickname")
    assert isinstance(value, str) and value


# --- content types, parameters, servers --------------------------------------------

def test_content_types_parameters_and_server_variables(tmp_path):
    schema = {"type": "object", "required": ["title"], "properties": {"title": {"type": "string"}, "file": {"type": "string", "format": "binary"}}}
    path = write(tmp_path, {
        "openapi": "3.1.0", "info": {"title": "Docs", "version": "1"},
        "servers": [{"url": "https://{tenant}.docs.example.com/api/{version}",
                     "variables": {"tenant": {"default": "acme"}, "version": {"default": "v2"}}}],
        "paths": {
            "/forms": {"post": {"requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {
                **schema, "properties": {"title": schema["properties"]["title"]}}}}}, "responses": {}}},
            "/uploads": {"post": {"requestBody": {"content": {"multipart/form-data": {"schema": schema}}}, "responses": {}}},
            "/xml": {"put": {"requestBody": {"content": {"application/xml": {"schema": {**schema, "xml": {"name": "doc"}}}}}, "responses": {}}},
            "/docs/{doc_id}": {
                "parameters": [{"name": "doc_id", "in": "path", "required": True, "schema": {"type": "string", "example": "d-42"}}],
                "get": {"operationId": "getDoc", "externalDocs": {"url": "https://docs.example.com/get-doc"},
                        "parameters": [
                            {"name": "fields", "in": "query", "required": True, "schema": {"type": "string", "enum": ["all", "min"]}},
                            {"name": "page", "in": "query", "schema": {"type": "integer"}},
                            {"name": "lang", "in": "query", "example": "de"},
                            {"name": "X-Request-Id", "in": "header", "required": True, "schema": {"type": "string", "format": "uuid"}},
                        ],
                        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                            "type": "array", "items": {"type": "object", "properties": {"id": {"type": "string", "readOnly": True}}}}}}}}},
            },
        },
    }, "docs.json")
    report = import_openapi(path)
    cat = report.catalogue
    assert cat.provider == "docs" and cat.hosts == ["{tenant}.docs.example.com"]
    form = endpoint(report, "POST", "/api/v2/forms").request
    assert (form.body_format, form.body) == ("form", {"title": "Example title"})
    multipart = endpoint(report, "POST", "/api/v2/uploads").request
    assert multipart.body_format == "multipart" and multipart.body == {"title": "Example title", "file": "example.bin"}
    xml = endpoint(report, "PUT", "/api/v2/xml").request
    assert xml.body_format == "xml" and xml.body == "<doc><title>Example title</title><file>example.bin</file></doc>"
    get = endpoint(report, "GET", "/api/v2/docs/{doc_id}")
    assert get.summary == "getDoc" and get.docs_url == "https://docs.example.com/get-doc"
    assert get.path_params["doc_id"].example == "d-42"
    assert get.request.query == {"fields": "all", "lang": "de"}  # required ones and ones with examples
    assert get.request.headers == {"X-Request-Id": "3fa85f64-5717-4562-b3fc-2c963f66afa6"}
    assert next(c for c in get.constraints if c.path == "query.fields").enum == ["all", "min"]
    assert get.response.body == [{"id": "12345"}]


def test_swagger2_body_parameters_file_uploads_and_definitions(tmp_path):
    path = write(tmp_path, {
        "swagger": "2.0", "info": {"title": "Pets", "version": "1"},
        "host": "Pets.Example.com:8443", "basePath": "/v2/", "schemes": ["https"],
        "consumes": ["application/json"], "produces": ["application/json"],
        "securityDefinitions": {"basic": {"type": "basic"}, "key": {"type": "apiKey", "in": "query", "name": "key"}},
        "security": [{"key": []}],
        "paths": {
            "/pets": {"post": {"parameters": [{"in": "body", "name": "pet", "required": True,
                                               "schema": {"$ref": "#/definitions/Pet"}}],
                               "responses": {"201": {"description": "made", "schema": {"$ref": "#/definitions/Pet"},
                                                     "examples": {"application/json": {"id": 7, "name": "Rex"}}}}}},
            "/pets/{petId}/photo": {"post": {"consumes": ["multipart/form-data"], "parameters": [
                {"in": "path", "name": "petId", "required": True, "type": "integer", "x-example": 7},
                {"in": "formData", "name": "caption", "type": "string", "required": True},
                {"in": "formData", "name": "image", "type": "file", "required": True}],
                "responses": {"204": {"description": "stored"}}}},
        },
        "definitions": {"Pet": {"type": "object", "required": ["name"], "properties": {
            "id": {"type": "integer", "readOnly": True}, "name": {"type": "string"},
            "tag": {"type": "string", "enum": ["dog", "cat"]}}}},
    }, "swagger.json")
    report = import_openapi(path)
    cat = report.catalogue
    assert cat.provider == "example" and cat.hosts == ["pets.example.com"]  # generic file name: from the host
    assert [a.type for a in cat.auth] == ["query", "basic"]  # the document's requirement first
    create = endpoint(report, "POST", "/v2/pets")
    assert create.request.body_format == "json"
    assert create.request.body == {"name": "Example name", "tag": "dog"}  # readOnly id left out
    assert create.response.status == 201 and create.response.body == {"id": 7, "name": "Rex"}
    photo = endpoint(report, "POST", "/v2/pets/{petId}/photo")
    assert photo.path_params["petId"].example == "7"
    assert photo.request.body_format == "multipart"
    assert photo.request.body == {"caption": "example caption", "image": "example.bin"}
    assert photo.response.status == 204 and photo.response.body is None


def test_security_schemes_become_auth_hints(tmp_path):
    path = write(tmp_path, doc3(
        {"/items": {"get": {"parameters": [{"name": "api_key", "in": "query", "required": True, "schema": {"type": "string"}},
                                           {"name": "X-Api-Token", "in": "header", "required": True, "schema": {"type": "string"}}],
                            "responses": {"200": {"description": "ok"}}}}},
        security=[{"oauth": ["read"]}, {"key": []}],
        components={"securitySchemes": {
            "key": {"type": "apiKey", "in": "header", "name": "X-Api-Token"},
            "qkey": {"type": "apiKey", "in": "query", "name": "api_key"},
            "basic": {"type": "http", "scheme": "basic"},
            "bearer": {"type": "http", "scheme": "bearer", "description": "Personal access token."},
            "oauth": {"type": "oauth2", "flows": {
                "authorizationCode": {"authorizationUrl": "https://auth.example.com/authorize", "tokenUrl": "/oauth/token",
                                      "scopes": {"read": "Read", "write": "Write"}},
                "clientCredentials": {"tokenUrl": "https://auth.example.com/token", "scopes": {}}}},
        }},
    ))
    report = import_openapi(path)
    auth = [a.model_dump(exclude_none=True) for a in report.catalogue.auth]
    assert auth == [
        {"type": "oauth2", "authorize_url": "https://auth.example.com/authorize", "authorize_params": {},
         "token_url": "https://api.example.com/oauth/token", "scopes": ["read", "write"], "pkce": False},
        {"type": "oauth2_client_credentials", "token_url": "https://auth.example.com/token", "scopes": []},
        {"type": "header", "headers": ["X-Api-Token"]},
        {"type": "query", "params": ["api_key"]},
        {"type": "basic"},
        {"type": "header", "headers": ["Authorization"], "format": "Bearer {token}", "notes": "Personal access token."},
    ]
    request = endpoint(report, "GET", "/v1/items").request
    assert request is None  # the credential parameters are not sample values


# --- faults, skips, errors -------------------------------------------------------------

def test_faults_and_skips_are_reported_not_raised(tmp_path):
    path = write(tmp_path, doc3({
        "/users/{id}": {"get": {"operationId": "same", "responses": {}}, "trace": {"responses": {}}},
        "/users/{user_id}": {"get": {"operationId": "same", "parameters": [
            {"name": "user_id", "in": "path", "required": True, "schema": {"type": "integer"}},
            {"name": "org", "in": "path", "required": True, "schema": {"type": "string"}}], "responses": {}}},
        "/teams": {"post": {"requestBody": {"content": {"application/json": {"schema": {
            "type": "object", "properties": {"user": {"type": "object", "properties": {"name": {"type": "string"}}}}}}}},
            "responses": {}}},
    }))
    calls = []
    report = import_openapi(path, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (4, 4) and len(calls) == 4
    assert report.imported == 2 and report.imported + len(report.skipped) == report.operations == 4
    reasons = dict(report.skipped)
    assert reasons["TRACE /users/{id}"] == "TRACE is not a method the catalogue holds"
    assert "differs only in parameter names" in reasons["GET /users/{user_id}"]
    faults = "\n".join(report.faults)
    assert "operationId 'same' is used by both GET /users/{id} and GET /users/{user_id}" in faults
    assert "GET /v1/users/{id}: path parameter {id} is not declared" in faults
    assert "declares the path parameter 'org', which the path does not contain" in faults
    assert "POST /v1/teams: the body wraps its fields in 'user', but the path is about 'teams'" in faults


def test_user_errors_name_the_field_and_the_fix(tmp_path):
    with pytest.raises(UserInputError, match="does not exist"):
        import_openapi(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("openapi: [unclosed\n")
    with pytest.raises(UserInputError, match="neither valid JSON nor valid YAML at line"):
        import_openapi(tmp_path / "bad.yaml")
    (tmp_path / "other.json").write_text('{"hello": "world"}')
    with pytest.raises(UserInputError, match="no 'openapi: 3.x'"):
        import_openapi(tmp_path / "other.json")
    relative = write(tmp_path, {**doc3({"/x": {"get": {"responses": {}}}}), "servers": [{"url": "/api"}]}, "rel.yaml")
    with pytest.raises(UserInputError, match="names no host") as caught:
        import_openapi(relative)
    assert caught.value.field == "host"
    report = import_openapi(relative, host="api.internal.example")
    assert report.catalogue.hosts == ["api.internal.example"]
    assert [e.path for e in report.catalogue.endpoints] == ["/api/x"]
    with pytest.raises(UserInputError, match="provider 'Bad Id'"):
        import_openapi(relative, provider="Bad Id", host="x.example.com")


# --- the CLI command ---------------------------------------------------------------------

def _cli_app() -> typer.Typer:
    """The `knowledge import` command as users reach it when it is wired, else alone."""
    try:
        from typer.main import get_command

        from plugwire.core.cli import app

        group = get_command(app)
        if "knowledge" in group.commands and "import" in getattr(group.commands["knowledge"], "commands", {}):
            return app
    except ImportError:
        pass
    from plugwire.core.cli.knowledge_import import import_command

    standalone = typer.Typer()
    knowledge = typer.Typer()
    knowledge.command("import")(import_command)
    knowledge.command("noop")(lambda: None)  # two commands keep "import" a named subcommand
    standalone.add_typer(knowledge, name="knowledge")
    return standalone


def test_cli_writes_a_valid_catalogue_to_the_user_catalogue(home, tmp_path):
    spec = write(tmp_path, doc3({"/items/{item_id}": {"get": {"summary": "Get an item", "parameters": [
        {"name": "item_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "ok"}}}}}), "widgets.yaml")
    runner = CliRunner()
    result = runner.invoke(_cli_app(), ["knowledge", "import", str(spec)])
    assert result.exit_code == 0, result.output
    target = home.path / "catalogue" / "widgets.yaml"
    assert str(target) in " ".join(result.output.split())
    assert "Imported 1 of 1 operations." in result.output
    assert "Faults in the data (1):" in result.output  # no security schemes
    cat = CatalogueFile.model_validate(yaml.safe_load(target.read_text()))
    assert cat.provider == "widgets" and cat.endpoints[0].path == "/v1/items/{item_id}"

    out = tmp_path / "out" / "custom.yaml"
    result = runner.invoke(_cli_app(), ["knowledge", "import", str(spec), "--provider", "acme", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["provider"] == "acme" and summary["imported"] == 1 and summary["output"] == str(out)
    assert summary["skipped"] == [] and len(summary["faults"]) == 1
    assert CatalogueFile.model_validate(yaml.safe_load(out.read_text())).provider == "acme"


@needs_data
def test_cli_imports_a_large_real_document(home, tmp_path):
    out = tmp_path / "slack.yaml"
    result = CliRunner().invoke(_cli_app(), ["knowledge", "import", str(DATA / "slack.json"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Imported 174 of 174 operations." in result.output
    cat = CatalogueFile.model_validate(yaml.load(out.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
    assert len(cat.endpoints) == 174 and cat.auth[0].type == "oauth2"


def test_cli_says_when_an_import_shadows_a_builtin_provider(home, tmp_path):
    spec = write(tmp_path, doc3({"/v3/organizations/{organization_id}/venues/": {"post": {
        "summary": "Create a venue",
        "parameters": [{"name": "organization_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {
            "venue": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}}}}},
        "responses": {"200": {"description": "ok"}}}}}, servers=[{"url": "https://www.eventbriteapi.com"}]))
    result = CliRunner().invoke(_cli_app(), ["knowledge", "import", str(spec), "--provider", "eventbrite", "--json"])
    assert result.exit_code == 0, result.output
    overrides = json.loads(result.output)["overrides"]
    assert [(o["source"], o["provider"], o["endpoints"]) for o in overrides] == [("builtin", "eventbrite", 1)]
    result = CliRunner().invoke(_cli_app(), ["knowledge", "import", str(spec), "--provider", "eventbrite-openapi", "--json"])
    assert json.loads(result.output)["overrides"] == []
