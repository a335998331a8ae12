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


# --- the command: never lose a user's file; several files in one run ------------------

POSTMAN = Path(__file__).parent / "data" / "postman" / "team-api.postman_collection.json"
HAR = Path(__file__).parent / "data" / "har" / "shop-session.har"


def _doc(paths: list[str], host: str = "api.widgets.example") -> dict:
    return {"openapi": "3.0.3", "info": {"title": "Widgets", "version": "1"}, "servers": [{"url": f"https://{host}/v1"}],
            "paths": {p: {"get": {"summary": f"Get {p}", "responses": {"200": {"description": "ok"}}}} for p in paths}}


def _spec(folder: Path, name: str, doc: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(doc))
    return path


def _paths(target: Path) -> set[str]:
    from plugwire.knowledge.models import CatalogueFile

    cat = CatalogueFile.model_validate(yaml.safe_load(target.read_text()))
    return {cat.base_path + ep.path for ep in cat.endpoints}


def test_a_second_import_of_a_provider_is_refused_then_merged_or_replaced(run_cli, home, tmp_path):
    first = _spec(tmp_path / "a", "widgets.json", _doc(["/parts", "/bins"]))
    second = _spec(tmp_path / "b", "widgets.json", _doc(["/parts", "/orders"]))
    target = home.path / "catalogue" / "widgets.yaml"
    code, out, err = run_cli("knowledge", "import", str(first))
    assert code == 0, err
    before = target.read_text()

    code, out, err = run_cli("knowledge", "import", str(second), "--json")
    assert code != 0
    error = json.loads(out)
    assert error["field"] == "provider" and "--merge" in error["fix"] and "--replace" in error["fix"]
    assert target.read_text() == before  # untouched

    code, out, err = run_cli("knowledge", "import", str(second), "--merge", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["action"] == "merged" and summary["endpoints"] == 3
    assert {"item": "GET /v1/parts (already in your catalogue)", "into": "GET /v1/parts"} in summary["merged"]
    assert _paths(target) == {"/v1/parts", "/v1/bins", "/v1/orders"}

    code, out, err = run_cli("knowledge", "import", str(second), "--replace")
    assert code == 0, err
    assert "Replaced" in out and _paths(target) == {"/v1/parts", "/v1/orders"}

    code, out, err = run_cli("knowledge", "import", str(second), "--merge", "--replace")
    assert code != 0 and "--merge and --replace" in out + err


def test_merge_keeps_a_file_with_another_base_path_whole(run_cli, home, tmp_path):
    _spec(tmp_path, "v1.json", _doc(["/parts"]))
    v2 = _doc(["/parts", "/bins"])
    v2["servers"] = [{"url": "https://api.widgets.example/v2"}]
    _spec(tmp_path, "v2.json", v2)
    assert run_cli("knowledge", "import", str(tmp_path / "v1.json"), "--provider", "widgets")[0] == 0
    code, out, err = run_cli("knowledge", "import", str(tmp_path / "v2.json"), "--provider", "widgets", "--merge")
    assert code == 0, err
    assert _paths(home.path / "catalogue" / "widgets.yaml") == {"/v1/parts", "/v2/parts", "/v2/bins"}


def test_a_broken_file_in_the_way_is_never_overwritten_unasked(run_cli, home, tmp_path):
    target = home.path / "catalogue" / "widgets.yaml"
    target.parent.mkdir(parents=True)
    target.write_text("provider: widgets\nendpoints: [oops\n")
    spec = _spec(tmp_path, "widgets.json", _doc(["/parts"]))
    for flags in ((), ("--merge",)):
        code, out, err = run_cli("knowledge", "import", str(spec), *flags)
        assert code != 0 and "--replace" in out + err
        assert target.read_text() == "provider: widgets\nendpoints: [oops\n"


def test_several_files_and_a_folder_in_one_run_each_reported(run_cli, home, tmp_path):
    folder = tmp_path / "specs"
    _spec(folder, "alpha.json", _doc(["/a"], host="api.alpha.example"))
    _spec(folder, "beta.json", _doc(["/b"], host="api.beta.example"))
    (folder / "gamma.yaml").write_text(BROKEN)
    (folder / "broken.json").write_text("{not json")
    (folder / "notes.txt").write_text("not a spec")
    code, out, err = run_cli("knowledge", "import", str(folder), str(POSTMAN), str(HAR), "--json")
    assert code == 1  # one file failed; the others were imported all the same
    result = json.loads(out)
    by_name = {Path(r["source"]).name: r for r in result["files"]}
    assert set(by_name) == {"alpha.json", "beta.json", "broken.json", "gamma.yaml", POSTMAN.name, HAR.name}
    assert result["imported_files"] == 5 and result["failed_files"] == 1
    assert by_name["broken.json"]["field"] == "spec" and by_name["broken.json"]["fix"]
    assert by_name["gamma.yaml"]["imported"] == 2
    assert by_name[POSTMAN.name]["format"] == "postman" and by_name[HAR.name]["format"] == "har"
    for name in ("alpha", "beta", "gamma"):
        assert (home.path / "catalogue" / f"{name}.yaml").is_file()

    code, out, err = run_cli("knowledge", "import", str(folder / "alpha.json"), str(folder / "beta.json"), "--replace")
    assert code == 0, err
    assert "[1/2]" in out and "[2/2]" in out and "2 of 2 files imported." in out
    code, out, err = run_cli("knowledge", "import", str(folder / "alpha.json"), str(folder / "beta.json"), "-o",
                             str(tmp_path / "one.yaml"))
    assert code != 0 and "--output" in out + err


def test_a_host_another_provider_lists_is_reported_and_merge_into_joins_them(run_cli, home, tmp_path):
    # Two documents of one API under different names: the second shares the first's host.
    assert run_cli("knowledge", "import", str(_spec(tmp_path, "shop.json", _doc(["/carts"], host="api.shop.example"))))[0] == 0
    second = _spec(tmp_path, "shop-admin.json", _doc(["/stock"], host="api.shop.example"))
    code, out, err = run_cli("knowledge", "import", str(second), "--json")
    assert code == 0, err
    assert json.loads(out)["shared_hosts"] == [{"host": "api.shop.example", "provider": "shop", "answers_first": "shop",
                                                "why": "neither is ranked above the other and both come from the same "
                                                       "source, so the provider id first in order answers"}]
    code, out, err = run_cli("knowledge", "import", str(second), "--replace")
    assert "host api.shop.example is also listed by provider 'shop'" in out and "--merge-into shop" in out

    code, out, err = run_cli("knowledge", "list", "--json")
    assert json.loads(out)["shared_hosts"] == [{"host": "api.shop.example", "providers": ["shop", "shop-admin"]}]
    code, out, err = run_cli("knowledge", "list")
    assert "Hosts listed by several providers" in out and "api.shop.example: shop, shop-admin" in out

    (home.path / "catalogue" / "shop-admin.yaml").unlink()
    code, out, err = run_cli("knowledge", "import", str(second), "--merge-into", "shop", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["provider"] == "shop" and summary["action"] == "merged" and summary["shared_hosts"] == []
    assert _paths(home.path / "catalogue" / "shop.yaml") == {"/v1/carts", "/v1/stock"}
    assert json.loads(run_cli("knowledge", "list", "--json")[1])["shared_hosts"] == []
    code, out, err = run_cli("suggest", "GET", "https://api.shop.example/v1/stock", "--json")
    assert code == 0, err
    assert '"shop"' in out and "shop-admin" not in out

    code, out, err = run_cli("knowledge", "import", str(second), "--merge-into", "nosuch")
    assert code != 0 and "--merge-into 'nosuch'" in out + err and "knowledge list" in out + err


def test_with_several_files_host_is_only_for_those_that_name_none(run_cli, home, tmp_path):
    folder = tmp_path / "specs"
    _spec(folder, "named.json", _doc(["/a"], host="api.named.example"))
    relative = _doc(["/b"])
    relative["servers"] = [{"url": "/api"}]
    _spec(folder, "relative.json", relative)
    code, out, err = run_cli("knowledge", "import", str(folder), "--json")
    assert code == 1 and json.loads(out)["failed_files"] == 1
    code, out, err = run_cli("knowledge", "import", str(folder), "--host", "pets.example.org", "--replace", "--json")
    assert code == 0, err
    hosts = {Path(r["source"]).name: r["hosts"] for r in json.loads(out)["files"]}
    assert hosts == {"named.json": ["api.named.example"], "relative.json": ["pets.example.org"]}
