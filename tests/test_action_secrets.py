"""An action's own credentials (a key in its query or URL, a header the user marks
secret): sent in clear to the API, masked wherever they come back (the sent request,
an API that echoes them, the wizard, the CLI, a job's record) and sealed at rest."""

from __future__ import annotations

import json

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from plugwire.core.base.secrets import MASK
from plugwire.core.recipes.model import Recipe, Step
from plugwire.core.wizard.actions import Actions, build_action
from plugwire.core.wizard.steps import Wizard
from recipes_support import prove_saved, run_recipe

KEY = "ak-planted-query-key-4242"  # under a credential-like name (api_key)
REGION = "rg-marked-secret-7788"  # under an ordinary name the user marks secret
TENANT = "tn-marked-header-9911"  # a header the user marks secret
TYPED = "typed-in-url-key-5566"  # typed into the URL itself


def echo_app() -> Starlette:
    """An httpbin-like API: answers with the request's query, headers and URL, and
    repeats the raw query string in a response header. What it received is kept."""
    received: list[dict] = []

    async def echo(request: Request) -> JSONResponse:
        received.append({"query": list(request.query_params.multi_items()), "headers": dict(request.headers)})
        body = {"args": dict(request.query_params), "headers": dict(request.headers), "url": str(request.url)}
        return JSONResponse(body, headers={"X-Echo-Query": request.url.query})

    app = Starlette(routes=[Route("/echo", echo, methods=["GET", "POST"])])
    app.state.received = received
    return app


@pytest.fixture
def echo(live_server):
    app = echo_app()
    server = live_server(app)
    server.received = app.state.received
    return server


def _nowhere(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text, f"{secret!r} leaked"


def test_the_wizard_masks_a_query_key_the_api_echoes_and_seals_it(home, connections, echo):
    wiz = Wizard(home, connections=connections)
    wiz.start("GET", f"{echo.url}/echo?api_key={KEY}&page=2")
    wiz.blank()
    attempt = wiz.send()
    assert attempt.exchange.ok
    assert ("api_key", KEY) in echo.received[-1]["query"]  # it went out in clear
    ex = attempt.exchange
    assert ex.response.body["args"] == {"api_key": MASK, "page": "2"}
    assert MASK in ex.response.headers["X-Echo-Query"] and MASK in ex.response.body["url"]
    _nowhere(ex.model_dump_json(), KEY)
    _nowhere(json.dumps(attempt.public()), KEY)
    _nowhere(wiz.review().last.exchange.model_dump_json(), KEY)
    action = wiz.apply("Echo", learn=False).action
    _nowhere(json.dumps(action.public()), KEY)
    _nowhere(home.store.path.read_text(), KEY)
    assert Actions(home).get("Echo").query["api_key"] == KEY  # unsealed to send


def test_a_key_typed_into_a_saved_actions_url_is_sealed_and_masked_in_its_job(home, echo):
    actions = Actions(home)
    actions.create(build_action({"name": "typed", "method": "GET", "url": f"{echo.url}/echo?api_key={TYPED}&page=1"}))
    prove_saved(home, "typed")  # its proof (sample request and answer) keeps the key out of the store too
    _nowhere(home.store.path.read_text(), TYPED)
    assert actions.get("typed").url.endswith(f"?api_key={TYPED}&page=1")
    _nowhere(json.dumps(actions.get("typed").public()), TYPED)
    result = _run(home, "typed")
    assert result["steps"][0]["status"] == "succeeded"
    assert ("api_key", TYPED) in echo.received[-1]["query"]
    _nowhere(json.dumps(result), TYPED)


def test_marked_secret_fields_are_masked_in_the_job_input_and_output_and_sealed(home, echo):
    actions = Actions(home)
    actions.create(build_action({
        "name": "marked", "method": "GET", "url": f"{echo.url}/echo", "query": {"region": REGION, "page": "1"},
        "headers": {"X-Tenant": TENANT}, "secret_fields": ["region", "x-tenant"],
    }))
    prove_saved(home, "marked")
    _nowhere(home.store.path.read_text(), REGION, TENANT)
    public = actions.get("marked").public()
    assert public["query"] == {"region": MASK, "page": "1"} and public["headers"] == {"X-Tenant": MASK}
    result = _run(home, "marked")
    step = result["steps"][0]
    assert step["status"] == "succeeded"
    assert ("region", REGION) in echo.received[-1]["query"] and echo.received[-1]["headers"]["x-tenant"] == TENANT
    assert step["input"]["query"]["region"] == MASK and step["input"]["headers"]["X-Tenant"] == MASK
    assert step["output"]["body"]["args"]["region"] == MASK and step["output"]["body"]["headers"]["x-tenant"] == MASK
    _nowhere(json.dumps(result), REGION, TENANT)


def _run(home, action: str) -> dict:
    return run_recipe(home, Recipe(name="r", trigger={"type": "webhook"}, steps=[Step(name="a", action=action)]))


def test_cli_secret_flag_marks_a_query_parameter_and_a_header(run_cli, home, echo):
    code, out, err = run_cli("actions", "new", "--name", "Marked", "--method", "GET", "--url", f"{echo.url}/echo",
                             "--no-suggestion", "-q", f"region={REGION}", "-q", "page=1", "-H", f"X-Tenant: {TENANT}",
                             "--secret", "region", "--secret", "X-Tenant", "--yes", "--json")
    assert code == 0, err
    assert ("region", REGION) in echo.received[-1]["query"] and echo.received[-1]["headers"]["x-tenant"] == TENANT
    data = json.loads(out)
    assert data["action"]["query"] == {"region": MASK, "page": "1"} and data["action"]["secret_fields"] == ["region", "X-Tenant"]
    _nowhere(out + err, REGION, TENANT)
    _nowhere(home.store.path.read_text(), REGION, TENANT)
    code, out, err = run_cli("actions", "new", "--name", "Text", "--method", "GET", "--url", f"{echo.url}/echo",
                             "--no-suggestion", "-q", f"region={REGION}", "--secret", "region", "--yes")
    assert code == 0, err
    _nowhere(out + err, REGION)
    for command in (("actions", "show", "Marked"), ("actions", "show", "Marked", "--json"), ("actions", "list", "--json"),
                    ("actions", "curl", "Marked")):
        code, out, err = run_cli(*command)
        assert code == 0, err
        _nowhere(out + err, REGION, TENANT)


def test_cli_secret_flag_naming_nothing_is_refused_with_the_fix(run_cli, echo):
    code, out, err = run_cli("actions", "new", "--name", "Bad", "--method", "GET", "--url", f"{echo.url}/echo",
                             "--no-suggestion", "-q", "page=1", "--secret", "regoin", "--yes")
    assert code == 2
    assert "regoin" in err and "--secret" in err and "--query" in err
