"""Import at scale (issue 16 item 8): a piece of a document that does not fit is
skipped with a fault, never the whole document; hosts from relative servers and
server variables; a user's catalogue file is never silently replaced; several files
in one run, each reported."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plugwire.core.base.errors import UserInputError
from plugwire.knowledge.openapi import import_openapi

# Written as text: YAML timestamps with hour 25 and February 30 must be read as text.
BROKEN = """\
openapi: 3.0.0
info: {title: Broken, version: "1"}
servers: [{url: "https://api.broken.example/v1"}]
paths:
  /things:
    post:
      requestBody:
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Thing"}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Thing"}
  /events:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              example: {at: 2024-01-01T25:00:00Z, day: 2021-02-30}
components:
  schemas:
    Thing:
      type: object
      required: true
      properties:
        name: {type: string, required: true}
        at: {type: string, format: date-time, example: 2024-13-45T25:61:00Z}
"""


def test_required_true_and_impossible_timestamps_import_with_faults(tmp_path):
    spec = tmp_path / "broken.yaml"
    spec.write_text(BROKEN)
    report = import_openapi(spec)
    assert report.imported == 2 and report.skipped == []
    by_path = {ep.path: ep for ep in report.catalogue.endpoints}
    assert by_path["/v1/things"].request.body["at"] == "2024-13-45T25:61:00Z"
    assert by_path["/v1/events"].response.body == {"at": "2024-01-01T25:00:00Z", "day": "2021-02-30"}
    assert any("components.schemas.Thing: 'required' is True" in f for f in report.faults)
    assert any("Thing.properties.name: 'required' is True" in f for f in report.faults)


def test_a_valid_timestamp_is_still_written_as_iso_text(tmp_path):
    spec = tmp_path / "ok.yaml"
    spec.write_text(BROKEN.replace("2024-01-01T25:00:00Z", "2024-01-01T10:00:00Z"))
    ep = next(e for e in import_openapi(spec).catalogue.endpoints if e.path == "/v1/events")
    assert ep.response.body["at"] == "2024-01-01T10:00:00Z"


def _vars_doc(url: str, variables: dict) -> dict:
    return {"openapi": "3.0.3", "info": {"title": "V", "version": "1"},
            "servers": [{"url": url, "variables": variables}],
            "paths": {"/things": {"get": {"responses": {"200": {"description": "ok"}}}}}}


def test_a_host_made_of_server_variables_uses_their_defaults(tmp_path):
    spec = tmp_path / "vars.json"
    spec.write_text(json.dumps(_vars_doc("{protocol}://{hostname}:{port}/api/{version}", {
        "protocol": {"default": "https"}, "hostname": {"default": "Demo.Vars.example"},
        "port": {"default": "8443"}, "version": {"default": "v2"}})))
    report = import_openapi(spec)
    assert report.catalogue.hosts == ["demo.vars.example"]
    assert report.catalogue.endpoints[0].path == "/api/v2/things"
    spec.write_text(json.dumps(_vars_doc("https://{sub}.{domain}/", {"sub": {"default": "api"},
                                                                     "domain": {"default": "vars2.example"}})))
    assert import_openapi(spec).catalogue.hosts == ["api.vars2.example"]
    # A variable that fills one label next to literal ones is still a placeholder.
    spec.write_text(json.dumps(_vars_doc("https://{tenant}.vars3.example/", {"tenant": {"default": "acme"}})))
    assert import_openapi(spec).catalogue.hosts == ["{tenant}.vars3.example"]


def test_relative_servers_import_with_host_and_say_so_without(tmp_path):
    spec = tmp_path / "rel.json"
    spec.write_text(json.dumps(_vars_doc("/api/v3", {})))
    try:
        import_openapi(spec)
    except UserInputError as exc:
        assert exc.field == "host" and "--host" in exc.fix
    else:
        raise AssertionError("a relative server with no --host must be refused")
    report = import_openapi(spec, host="pets.example.org")
    assert report.catalogue.hosts == ["pets.example.org"] and report.catalogue.endpoints[0].path == "/api/v3/things"
    assert any("relative" in f for f in report.faults)


GOOD = yaml.safe_load(BROKEN.replace("2024-01-01T25:00:00Z", "x").replace("2024-13-45T25:61:00Z", "y").replace("2021-02-30", "z"))
GOOD["components"]["securitySchemes"] = {"key": {"type": "apiKey", "in": "header", "name": "X-Key"}}
GOOD["security"] = [{"key": []}]
GOOD["paths"]["/things/{id}"] = {"parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                                 "get": {"responses": {"200": {"description": "ok"}}}}


def _places(node, at=()):
    """Every (path to a node) of a document, to put a malformed value there."""
    yield at
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _places(value, (*at, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _places(value, (*at, i))


PLACES = [p for p in _places(GOOD) if len(p) >= 2]
JUNK = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5), st.just([]), st.just({}),
                 st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.none(), max_size=2))


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(place=st.sampled_from(PLACES), junk=JUNK)
def test_a_malformed_piece_anywhere_loses_at_most_its_operation(tmp_path, place, junk):
    doc = copy.deepcopy(GOOD)
    node = doc
    for key in place[:-1]:
        node = node[key]
    node[place[-1]] = junk
    spec = tmp_path / "fuzz.json"
    spec.write_text(json.dumps(doc))
    try:
        report = import_openapi(spec)
    except UserInputError:
        return  # a refusal that names the field and the fix (no host, no operation left) is fine
    assert report.imported + len(report.skipped) == report.operations
    assert report.imported >= 1


def test_the_shared_fixture_has_places_in_every_part():
    tops = {p[0] for p in PLACES}
    assert {"paths", "components", "servers", "info"} <= tops and Path(__file__).name
