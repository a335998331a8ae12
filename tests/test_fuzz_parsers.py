"""The fuzzing campaign over the parsers a CLI user reaches (issue 13, item 10): cURL
import, URL and suggest input, catalogue files and OpenAPI documents. Whatever goes
in, what comes out is a result or one of plugwire's own errors, never another
exception. Bounded by the hypothesis profile of tests/conftest.py ("suite" here,
"long" in bench/fuzz_long.py)."""

from __future__ import annotations

import copy
import json
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.provisional import urls
from plugwire.core.base.errors import UserInputError
from plugwire.core.base.urls import validate_absolute_url
from plugwire.core.curl.parse import (
    _FLAGS,
    _IGNORED_WITH_VALUE,
    _WITH_VALUE,
    parse_curl,
    split_command,
    to_curl,
)
from plugwire.core.http.exchange import RequestSpec
from plugwire.knowledge.loader import read_catalogue
from plugwire.knowledge.models import CatalogueFile
from pydantic import ValidationError

pytestmark = pytest.mark.fuzz

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "openapi"
CATALOGUE = Path(__file__).resolve().parents[1] / "knowledge" / "catalogue"

# -- strategies --------------------------------------------------------------------------
_OPTIONS = sorted(set(_WITH_VALUE) | set(_IGNORED_WITH_VALUE) | set(_FLAGS)) + ["-sSL", "-XPOST", "-HX-A:1", "--bogus"]
_TEXT = st.text(st.characters(codec="utf-8"), max_size=40)
_URLISH = st.one_of(
    urls(),
    st.builds(lambda s, h, p: f"{s}://{h}{p}", st.sampled_from(["http", "https", "ftp", "HTTP"]),
              st.one_of(st.from_regex(r"[a-z0-9.-]{1,20}(:[0-9]{1,6})?", fullmatch=True), _TEXT),
              st.one_of(st.from_regex(r"(/[a-z0-9{}%._~-]{0,8}){0,4}(\?[a-z=&0-9]{0,10})?", fullmatch=True), _TEXT)),
    _TEXT,
)
_HEADERS = st.builds(lambda n, v: f"{n}: {v}", st.one_of(st.from_regex(r"[A-Za-z-]{1,10}", fullmatch=True), _TEXT), _TEXT)
_WORD = st.one_of(st.sampled_from(_OPTIONS), _URLISH, _HEADERS, _TEXT, st.sampled_from(["@", "@.", "@missing", "-", "=", ":"]))

# Keys the importer and the catalogue look for, so that random trees reach past the top level.
_KEYS = st.one_of(st.sampled_from([
    "openapi", "swagger", "info", "servers", "url", "variables", "default", "host", "basePath", "schemes", "paths",
    "get", "post", "put", "parameters", "name", "in", "required", "schema", "$ref", "#/components/schemas/A",
    "requestBody", "content", "application/json", "application/x-www-form-urlencoded", "multipart/form-data",
    "responses", "200", "201", "type", "object", "array", "string", "properties", "items", "example", "examples",
    "value", "enum", "pattern", "format", "allOf", "oneOf", "anyOf", "components", "schemas", "securitySchemes",
    "security", "flows", "flow", "tokenUrl", "authorizationUrl", "scopes", "consumes", "produces", "definitions",
    "securityDefinitions", "x-examples", "operationId", "summary", "description", "tags", "externalDocs",
    "format", "provider", "hosts", "endpoints", "method", "path", "request", "response", "body", "body_format",
    "auth", "headers", "query", "constraints", "path_params", "status", "minimum", "maxLength", "minItems",
]), _TEXT)
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), _TEXT,
                     st.sampled_from(["3.0.0", "2.0", "https://api.example.com/v1", "/{id}", "{x}", "#/", "query", "path"]))
_TREES = st.recursive(_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_KEYS, inner, max_size=5)),
                      max_leaves=30)


def _mutate(data: st.DataObject, doc: Any, times: int) -> Any:
    """Return a copy of ``doc`` with ``times`` values replaced by random trees or removed."""
    doc = copy.deepcopy(doc)
    for _ in range(times):
        parent, key, node = None, None, doc
        while isinstance(node, (dict, list)) and node and data.draw(st.integers(0, 4)) > 0:
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            parent, key = node, data.draw(st.sampled_from(keys))
            node = node[key]
        if parent is None:
            continue
        if isinstance(parent, dict) and data.draw(st.booleans()):
            del parent[key]
        else:
            parent[key] = data.draw(_TREES)
    return doc


# -- (a) the cURL importer -----------------------------------------------------------------
def _parsed_or_refused(command: str):
    try:
        got = parse_curl(command)
    except UserInputError as exc:
        assert exc.field == "curl" and "Fix:" in str(exc)
        return None
    RequestSpec.model_validate(got.request.model_dump())  # whatever it accepts holds to the request's rules
    validate_absolute_url(got.request.url, "url")
    return got


@given(st.one_of(_TEXT, st.text(max_size=200), _TEXT.map(lambda t: "curl " + t)))
def test_curl_text_is_parsed_or_refused(tmp_path, monkeypatch, text):
    monkeypatch.chdir(tmp_path)  # a command naming @file reads only this empty folder
    _parsed_or_refused(text)


@given(st.lists(_WORD, max_size=8))
@example(["-A", "", "0"])  # found: an empty -A became an empty User-Agent that the export did not give back
@example(["-T", "--basic", "http://a.example"])  # found: an unreadable -T file was named "files."
def test_curl_argv_is_parsed_or_refused_and_survives_export(tmp_path, monkeypatch, words):
    monkeypatch.chdir(tmp_path)
    command = "curl " + " ".join(shlex.quote(w) for w in words)
    assert split_command(command) == ["curl", *words]  # bash quoting is read back as written
    got = _parsed_or_refused(command)
    if got is None:
        return
    again = parse_curl(to_curl(got.request, show_secrets=True)).request  # what we print, we read back the same
    assert (again.method, again.url, again.headers) == (got.request.method, got.request.url, got.request.headers)


# -- (b) URL and suggest input -------------------------------------------------------------
@given(st.sampled_from(["GET", "post", "PATCH", "", "G E T", "délete"]), _URLISH, st.sampled_from([None, "github", "nope"]))
@example("GET", "http://[A", None)  # found: urlsplit's ValueError for an unclosed IPv6 host
def test_suggest_from_the_catalogue_answers_or_refuses(home, method, url, provider):
    from plugwire.knowledge.suggestions import suggest_from_catalogue

    try:
        found = suggest_from_catalogue(method, url, provider=provider)
    except UserInputError as exc:
        assert exc.field == "url"
        return
    assert all(0 <= s.score <= 1 for s in found)


@given(st.sampled_from(["GET", "POST", "x"]), _URLISH)
def test_the_wizards_suggest_reports_only_plugwire_errors(home, method, url):
    from plugwire.core.wizard.suggest import suggest

    result = suggest(method, url)
    for problem in result.problems:
        kind = problem.split(" failed: ", 1)[1].split(":", 1)[0]
        assert kind in {"UserInputError", "PlugwireError", "NotFoundError"}, problem


@given(_URLISH)
def test_absolute_urls_are_checked_or_refused(url):
    try:
        checked = validate_absolute_url(url, "url")
    except UserInputError:
        return
    import httpx2

    parsed = httpx2.URL(checked)
    assert parsed.scheme in ("http", "https") and parsed.host and (parsed.port is None or 0 < parsed.port < 65536)


# -- (c) catalogue files -----------------------------------------------------------------------
def _catalogue_ok_or_problems(tmp_path: Path, doc: Any, suffix: str) -> None:
    try:
        CatalogueFile.model_validate(doc)
    except ValidationError:
        pass
    file = tmp_path / f"fuzzed{suffix}"
    text = json.dumps(doc) if suffix == ".json" else yaml.safe_dump(doc, allow_unicode=True)
    file.write_text(text, encoding="utf-8")
    providers, problems = read_catalogue(file)
    assert providers or problems
    assert all(str(p).startswith(file.name) for p in problems)


@given(_TREES, st.sampled_from([".json", ".yaml"]))
def test_any_tree_as_a_catalogue_file_is_a_provider_or_problems(tmp_path, tree, suffix):
    _catalogue_ok_or_problems(tmp_path, tree, suffix)


_BUILTIN = yaml.safe_load((CATALOGUE / "eventbrite.yaml").read_text())


@given(st.data(), st.integers(1, 3), st.sampled_from([".json", ".yaml"]))
def test_a_mutated_builtin_catalogue_file_is_a_provider_or_problems(tmp_path, data, times, suffix):
    _catalogue_ok_or_problems(tmp_path, _mutate(data, _BUILTIN, times), suffix)


# -- (c) OpenAPI documents ----------------------------------------------------------------------
def _imported_or_refused(tmp_path: Path, doc: Any) -> None:
    from plugwire.core.cli.knowledge_import import write_catalogue
    from plugwire.knowledge.openapi import import_openapi

    spec = tmp_path / "fuzzed.json"
    spec.write_text(json.dumps(doc), encoding="utf-8")
    try:
        report = import_openapi(spec)
    except UserInputError as exc:
        assert exc.field in ("spec", "host", "provider") and "Fix:" in str(exc)
        return
    out = tmp_path / "out.yaml"
    write_catalogue(report.catalogue, out, source=str(spec))
    providers, problems = read_catalogue(out)  # whatever it writes, the catalogue reads back
    assert not problems and providers[0].provider == report.catalogue.provider
    assert report.imported + len(report.skipped) == report.operations


_SMALL = {
    "openapi": "3.0.3", "info": {"title": "Widgets", "version": "1"}, "servers": [{"url": "https://api.example.com/v1"}],
    "components": {
        "securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-Key"}},
        "schemas": {"Widget": {"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string", "maxLength": 20}, "size": {"type": "integer", "minimum": 1},
            "parts": {"type": "array", "items": {"$ref": "#/components/schemas/Widget"}}}}},
    },
    "security": [{"key": []}],
    "paths": {
        "/widgets/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {"summary": "Get a widget", "parameters": [{"name": "expand", "in": "query", "schema": {"enum": ["parts"]}}],
                    "responses": {"200": {"description": "ok", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Widget"}}}}}},
            "put": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Widget"},
                                                                      "example": {"name": "bolt"}}}},
                    "responses": {"201": {"description": "made"}}},
        },
        "/forms": {"post": {"requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {
            "type": "object", "properties": {"a": {"type": "string", "pattern": "^[a-z]{2}$"}}}}}},
            "responses": {"200": {"description": "ok"}}}},
    },
}
_SWAGGER = {
    "swagger": "2.0", "host": "api.example.com", "basePath": "/v2", "consumes": ["application/json"],
    "securityDefinitions": {"o": {"type": "oauth2", "flow": "accessCode", "authorizationUrl": "/auth", "tokenUrl": "/token",
                                  "scopes": {"read": "r"}}},
    "definitions": {"Pet": {"type": "object", "properties": {"name": {"type": "string"}}}},
    "paths": {"/pets": {"post": {"parameters": [{"name": "body", "in": "body", "schema": {"$ref": "#/definitions/Pet"}},
                                                {"name": "X-Trace", "in": "header", "type": "string", "required": True}],
                                 "responses": {"200": {"description": "ok", "schema": {"$ref": "#/definitions/Pet"}}}},
                        "get": {"parameters": [{"name": "limit", "in": "query", "type": "integer", "default": 10}],
                                "responses": {"200": {"description": "ok"}}}}},
}


@given(st.one_of(_TREES, st.builds(lambda p, c: {**_SMALL, "paths": p, "components": c}, _TREES, _TREES)))
def test_any_tree_as_an_openapi_document_is_imported_or_refused(tmp_path, doc):
    _imported_or_refused(tmp_path, doc)


@given(st.data(), st.sampled_from([_SMALL, _SWAGGER]), st.integers(1, 4))
def test_a_mutated_small_openapi_document_is_imported_or_refused(tmp_path, data, base, times):
    _imported_or_refused(tmp_path, _mutate(data, base, times))


def _real(name: str) -> Any:
    text = (DATA / name).read_text()
    return json.loads(text) if name.endswith(".json") else yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


_REAL: dict[str, Any] = {}


@pytest.mark.skipif(not DATA.is_dir(), reason=f"{DATA} is absent (CI=true fails instead: tests/ci_noskip.py)")
@given(st.data(), st.sampled_from(["eventbrite.yaml", "hubspot-crm-contacts.yaml"]), st.integers(1, 4))
def test_a_mutated_real_openapi_document_is_imported_or_refused(tmp_path, data, name, times):
    if name not in _REAL:
        _REAL[name] = json.loads(json.dumps(_real(name), default=str))  # YAML dates as strings, as JSON has them
    _imported_or_refused(tmp_path, _mutate(data, _REAL[name], times))
