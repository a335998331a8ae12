"""Issue 14, item 5: a learned suggestion and the imported OpenAPI entry for the same
endpoint are one suggestion (the learned values, the catalogue's constraints), so
that a 400's offending field is named without picking the catalogue suggestion.

End to end: a real local API that answers 400 for a bad ``color``, its OpenAPI
document imported with ``plugwire knowledge import``, and the wizard."""

from __future__ import annotations

import json

import pytest
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from plugwire.core.wizard.steps import Wizard
from plugwire.knowledge.sources import LEARNED_FILE, MERGED_KEY, ProviderRecord, merge

COLORS = ("red", "green")


def widgets_app() -> Starlette:
    async def widgets(request: Request) -> JSONResponse:
        data = json.loads(await request.body() or b"{}")
        if data.get("color") not in COLORS:
            return JSONResponse({"message": "color: must be red or green"}, status_code=400)
        return JSONResponse({"id": 7, **data}, status_code=201)

    return Starlette(routes=[Route("/v1/widgets", widgets, methods=["POST"])])


def openapi_doc(base: str) -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Widgets", "version": "1"},
        "servers": [{"url": base}],
        "paths": {
            "/v1/widgets": {
                "post": {
                    "summary": "Create a widget",
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["name", "color"],
                                    "properties": {
                                        "name": {"type": "string", "example": "Sprocket"},
                                        "color": {"type": "string", "enum": list(COLORS)},
                                    },
                                }
                            }
                        }
                    },
                    "responses": {"201": {"description": "created"}},
                }
            }
        },
    }


@pytest.fixture
def api(live_server):
    return live_server(widgets_app())


@pytest.fixture
def imported(api, tmp_path, run_cli):
    """Import the API's OpenAPI document into the user's catalogue as provider ``acme``."""

    def run() -> None:
        doc = tmp_path / "widgets.yaml"
        doc.write_text(yaml.safe_dump(openapi_doc(api.url)), encoding="utf-8")
        code, out, err = run_cli("knowledge", "import", str(doc), "--provider", "acme")
        assert code == 0, out + err

    return run


def _prove(home, url: str, *, blank: bool) -> Wizard:
    """Send a good widget through a wizard and apply it (learning it)."""
    wiz = Wizard(home)
    wiz.start("POST", url)
    if blank:
        wiz.blank()
        wiz.edit(body={"name": "Mine", "color": "green"}, body_format="json")
    else:
        wiz.set("name", "Mine")
        wiz.set("color", "green")
    assert wiz.send().exchange.response.status == 201
    assert wiz.apply("Make widget").learned["learned"] is True
    return wiz


def _bad_color_is_named(home, url: str):
    """A new wizard's default suggestion names ``color`` when the API answers 400."""
    wiz = Wizard(home)
    wiz.start("POST", url)
    top = wiz.suggestion
    assert top is not None and top.learned and top.proven
    assert any(c.path == "color" and c.enum == list(COLORS) for c in top.constraints)
    sample = wiz.request.body
    wiz.set("color", "blue")
    failed = wiz.send()
    assert failed.exchange.response.status == 400
    assert "color" in {v.path for v in failed.violations}
    return top, sample


def test_learned_before_the_import_is_merged_with_the_imported_endpoint(home, api, imported):
    url = f"{api.url}/v1/widgets"
    _prove(home, url, blank=True)  # no catalogue knows the host yet: learned as its own provider
    imported()
    top, sample = _bad_color_is_named(home, url)
    assert sample == {"name": "", "color": ""}  # the learned values (the user's own stripped), not the catalogue's example
    assert top.provider == "acme" and top.endpoint == "POST /v1/widgets" and top.summary == "Create a widget"
    netloc = api.url.split("://", 1)[1].rstrip("/")
    assert top.reason.startswith(f"Learned from your earlier request to {netloc}")
    assert "its field constraints come from" in top.reason
    # one suggestion for the endpoint, not a learned one shadowing the catalogue's
    assert [s.endpoint for s in Wizard(home).start("POST", url).suggestions].count("POST /v1/widgets") == 1


def test_learned_from_the_imported_suggestion_keeps_its_constraints(home, api, imported):
    url = f"{api.url}/v1/widgets"
    imported()
    first = _prove(home, url, blank=False)
    assert first.suggestion.provider == "acme" and not first.suggestion.learned
    top, sample = _bad_color_is_named(home, url)
    assert sample == {"name": "Sprocket", "color": "red"}  # learned: the catalogue's public examples stood in for the user's values
    assert top.provider == "acme" and top.summary == "Create a widget"
    assert "the sample's values were learned from a request that succeeded against the live API" in top.reason
    assert "its field constraints come from Widgets's catalogue (acme.yaml)" in top.reason


def _record(file: str, kind: str, endpoint: dict) -> ProviderRecord:
    blob = json.dumps(endpoint).encode()
    return ProviderRecord("acme", "Acme", None, None, ("api.acme.test",), "", (), [("POST", "/v1/widgets", endpoint["summary"], blob)], file, kind)


@pytest.mark.parametrize("learned_first", [True, False])
def test_merge_combines_a_learned_endpoint_with_the_catalogue_one_in_either_order(learned_first):
    catalogue = _record("/c/acme.yaml", "user", {
        "method": "POST", "path": "/v1/widgets", "summary": "Create a widget", "docs_url": "https://docs.acme.test",
        "request": {"body_format": "json", "query": {"mode": "fast"}, "body": {"name": "Sprocket", "color": "red"}},
        "constraints": [{"path": "color", "enum": ["red", "green"]}],
    })
    learned = _record(f"/c/{LEARNED_FILE}", "user", {
        "method": "POST", "path": "/v1/widgets", "summary": "Learned from a proven POST request",
        "request": {"body_format": "json", "query": {"mode": ""}, "body": {"name": "", "color": ""}},
    })
    records = [(learned, 3), (catalogue, 3)] if learned_first else [(catalogue, 3), (learned, 3)]
    (provider,), conflicts = merge(records)
    summary, blob, file, is_learned = provider.endpoints[("POST", "/v1/widgets")]
    data = json.loads(blob)
    assert is_learned and file.endswith(LEARNED_FILE) and summary == "Create a widget"
    assert data["request"]["body"] == {"name": "", "color": ""}  # the learned values
    assert data["request"]["query"] == {"mode": "fast"}  # an empty learned value takes the catalogue's example
    assert data["constraints"] == [{"path": "color", "enum": ["red", "green"]}]
    assert data["docs_url"] == "https://docs.acme.test" and "acme.yaml" in data[MERGED_KEY]
    (conflict,) = [c for c in conflicts if c.what != "provider"]  # still shown by `plugwire knowledge list`
    assert conflict.merged and "are merged (the learned sample values with the catalogue's constraints)" in str(conflict)
