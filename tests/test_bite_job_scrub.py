"""A connection's secret that reaches a step's record by any way is masked in the
stored job (issue 17 item 3), through a real server and its job store.

The sender of a webhook is not trusted: here it puts the CRM connection's token in
its payload. The first step (a public action, no connection, no secret of its own)
sends that payload to an API that echoes it, so the token is in the step's request
and response; the second step uses the CRM connection, which is what makes the
token a secret of this job. Only the runner's final scrub of the whole record (the
secrets of every step, over every step's record) masks the first step's copies:
removing it (``return result`` in ``Runner.run``) fails this test. A refused
request's URL and error text (a key typed into an action's URL, its request stopped
by the network policy before it is sent) are masked the same way."""

from __future__ import annotations

import json

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from plugwire.core.base.secrets import MASK
from plugwire.core.connections.model import Connections
from plugwire.core.http.netpolicy import NetworkPolicy
from plugwire.core.recipes.model import Recipes
from recipes_support import finished_job, plugwire_server, save_action

TOKEN = "crm-token-planted-5150-abcdef"  # the CRM connection's header value
TYPED = "typed-url-key-7331-zyxwv"  # a key typed into an action's URL


@pytest.fixture
def echo(live_server):
    """An API that answers with what it was sent (body and headers), at /fail with a 500
    repeating the body; it keeps what it was sent."""
    got: list[dict] = []

    async def echo(request: Request) -> JSONResponse:
        body = await request.body()
        got.append({"headers": dict(request.headers), "body": body.decode()})
        return JSONResponse({"you_sent": body.decode(), "headers": dict(request.headers)})

    async def fail(request: Request) -> PlainTextResponse:
        got.append({"headers": dict(request.headers), "body": (await request.body()).decode()})
        return PlainTextResponse(f"cannot take {(await request.body()).decode()}", status_code=500)

    server = live_server(Starlette(routes=[Route("/echo", echo, methods=["POST", "GET"]),
                                           Route("/fail", fail, methods=["POST"])]))
    server.got = got
    return server


def _webhook(url: str, token: str, payload: dict) -> str:
    answer = httpx2.post(f"{url}/hooks/{token}", json=payload, timeout=10)
    assert answer.status_code == 202, answer.text
    return answer.headers["x-plugwire-job"]


def test_a_secret_echoed_by_an_earlier_step_is_masked_in_the_stored_job(home, echo):
    Connections(home).create({"name": "crm", "auth_type": "header", "settings": {"headers": {"X-Crm-Token": TOKEN}}})
    save_action(home, "relay", method="POST", url=f"{echo.url}/echo", body_format="json", body={"note": "x"},
                sample={"you_sent": "x"})
    save_action(home, "crm-call", method="GET", url=f"{echo.url}/echo", connection="crm", sample={"you_sent": ""})
    recipes = Recipes(home)
    recipes.create({"name": "leaky", "trigger": {"type": "webhook", "config": {"sample_payload": {"note": "x"}}}, "steps": [
        {"name": "relay", "action": "relay", "body": {"note": "{{trigger.payload.note}}"}},
        {"name": "crm", "action": "crm-call"},
    ]})
    hook = recipes.start("leaky").token
    with plugwire_server(home) as (state, url):
        job = finished_job(state, _webhook(url, hook, {"note": f"here is {TOKEN} for you"}))
        stored = state.jobs.get(job["id"])
    assert job["status"] == "succeeded", job["error"]
    assert TOKEN in echo.got[0]["body"]  # the sender's payload went out as sent
    assert echo.got[1]["headers"]["x-crm-token"] == TOKEN  # it went out in clear, where it belongs
    relay = stored["steps"][0]
    assert relay["input"]["body"] == {"note": f"here is {MASK} for you"}
    assert MASK in relay["output"]["body"]["you_sent"]
    # The event is kept as the sender sent it; what the job did with it is masked.
    assert TOKEN not in json.dumps(stored["steps"])


@pytest.mark.parametrize("where", ["refused", "closed"])
def test_a_key_in_a_failed_requests_url_and_error_text_is_masked_in_the_stored_job(home, where):
    """A key typed into an action's URL, for a request that never got an answer: stopped
    by the network policy (the step's record keeps the URL it would have sent, and the
    error), or sent to a port where nothing listens (the network error's text)."""
    from conftest import free_port

    save_action(home, "typed", method="GET", url=f"http://127.0.0.1:{free_port()}/echo?api_key={TYPED}&page=1",
                sample={"ok": True})
    recipes = Recipes(home)
    recipes.create({"name": "typed", "trigger": {"type": "webhook"}, "steps": [{"name": "call", "action": "typed"}]})
    hook = recipes.start("typed").token
    with plugwire_server(home, policy=NetworkPolicy(enabled=where == "refused")) as (state, url):
        stored = state.jobs.get(finished_job(state, _webhook(url, hook, {"n": 1}))["id"])
    step = stored["steps"][0]
    assert stored["status"] == "failed" and step["status"] == "failed" and step["error"]
    assert MASK in step["input"]["url"] and "page=1" in step["input"]["url"]
    assert TYPED not in json.dumps(stored)


def test_a_secret_of_a_step_that_did_not_run_is_masked_in_the_failed_steps_record(home, echo):
    """The first step fails (its API answers 500, repeating what it was sent), so the
    CRM step never runs: its connection's token, which the sender slipped into the
    payload, is still masked in the failed step's request, response and error text.
    Fails when only the secrets of the steps that ran are scrubbed."""
    Connections(home).create({"name": "crm", "auth_type": "header", "settings": {"headers": {"X-Crm-Token": TOKEN}}})
    save_action(home, "relay", method="POST", url=f"{echo.url}/fail", body_format="json", body={"note": "x"},
                sample={"you_sent": "x"})
    save_action(home, "crm-call", method="GET", url=f"{echo.url}/echo", connection="crm", sample={"you_sent": ""})
    recipes = Recipes(home)
    recipes.create({"name": "cut-short", "trigger": {"type": "webhook", "config": {"sample_payload": {"note": "x"}}},
                    "steps": [{"name": "relay", "action": "relay", "body": {"note": "{{trigger.payload.note}}"}},
                              {"name": "crm", "action": "crm-call"}]})
    hook = recipes.start("cut-short").token
    with plugwire_server(home) as (state, url):
        stored = state.jobs.get(finished_job(state, _webhook(url, hook, {"note": f"here is {TOKEN} for you"}))["id"])
    relay, crm = stored["steps"]
    assert stored["status"] == "failed" and relay["status"] == "failed" and crm["status"] == "skipped"
    assert len(echo.got) == 1 and TOKEN in echo.got[0]["body"]  # only the relay was sent
    assert relay["output"]["status"] == 500 and MASK in relay["output"]["body"]
    assert relay["input"]["body"] == {"note": f"here is {MASK} for you"}
    assert TOKEN not in json.dumps(stored["steps"]) and TOKEN not in (stored["error"] or "")
