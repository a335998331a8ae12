"""The runner's per-step work against a real server: pills filled for every event from
templates parsed once, and the step record's input as JSON data."""

import asyncio
import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from plugwire.core.http.exchange import SentRequest
from plugwire.core.http.netpolicy import NetworkPolicy
from plugwire.core.recipes.model import Recipe, Step
from plugwire.core.recipes.runner import Runner
from plugwire.core.wizard.actions import Actions, build_action
from recipes_support import prove_saved


def _venues_app() -> Starlette:
    async def venues(request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse({"id": f"v-{body['venue']['capacity']}", **body["venue"], "q": dict(request.query_params)})

    async def venue(request: Request) -> JSONResponse:
        return JSONResponse({"id": request.path_params["vid"], "note": request.headers.get("x-note")})

    return Starlette(routes=[Route("/venues", venues, methods=["POST"]), Route("/venues/{vid}", venue, methods=["GET"])])


def test_each_event_gets_its_own_values_and_records_hold_json(home, connections, live_server):
    server = live_server(_venues_app())
    connections.create({"name": "api", "auth_type": "basic", "settings": {"username": "u", "password": "runner-pw-5512"}})
    actions = Actions(home)
    actions.create(build_action({"name": "create", "connection": "api", "method": "POST", "url": server.url + "/venues",
                                 "body_format": "json", "body": {"venue": {"name": "x", "capacity": 1}}}))
    actions.create(build_action({"name": "read", "connection": "api", "method": "GET", "url": server.url + "/venues/x"}))
    for name in ("create", "read"):  # saved as drafts: proven against the local API, as `actions prove` does
        prove_saved(home, name)
    recipe = Recipe(name="r", trigger={"type": "webhook"}, steps=[
        Step(name="create", action="create", query={"src": "{{trigger.payload.src}}"},
             body={"venue": {"name": "{{trigger.payload.name}}", "capacity": "{{trigger.payload.capacity}}",
                             "label": "{{trigger.payload.name}}/{{trigger.payload.capacity}} \\{{kept}}"}}),
        Step(name="read", action="read", url=server.url + "/venues/{{steps.create.response.body.id}}",
             headers={"X-Note": "{{steps.create.response.body.label}}"}),
    ])
    runner = Runner(home, policy=NetworkPolicy(enabled=False))

    async def main():
        try:
            return [await runner.run(recipe, {"payload": {"name": f"Hall {n}", "capacity": n, "src": f"s{n}"}}) for n in (1, 2)]
        finally:
            await runner.aclose()

    first, second = asyncio.run(main())
    for n, result in ((1, first), (2, second)):
        assert result["status"] == "succeeded", result["error"]
        create, read = result["steps"]
        assert create["input"]["body"] == {"venue": {"name": f"Hall {n}", "capacity": n, "label": f"Hall {n}/{n} {{{{kept}}}}"}}
        assert create["input"]["query"] == {"src": f"s{n}"} and create["output"]["body"]["q"] == {"src": f"s{n}"}
        assert read["input"]["url"] == f"{server.url}/venues/v-{n}"
        assert read["output"]["body"] == {"id": f"v-{n}", "note": f"Hall {n}/{n} {{{{kept}}}}"}
        for step in (create, read):
            # The record's input is the sent request's fields as JSON data, credentials masked.
            assert set(step["input"]) == set(SentRequest.model_fields)
            assert json.loads(json.dumps(step["input"])) == step["input"]
            assert step["input"]["headers"]["Authorization"].startswith("Basic ") and "runner-pw-5512" not in json.dumps(step)
    assert first["steps"][0]["input"]["body"] is not second["steps"][0]["input"]["body"]
