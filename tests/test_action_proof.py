"""Apply only after a live 2xx, at every door (issue 17 item 6).

Every way to save an action (code, the JSON API, the console, the CLI's flags and cURL
import, a plugin's suggestion, a Postman import) either proves it with a 2xx from a real
local API or leaves an unproven draft, which no recipe saves, starts or runs and which
is marked as a draft wherever an action is shown. Proving turns a draft runnable, a
4xx keeps it a draft, and an edit of what is sent un-proves it.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest
from api_server import make_api
from conftest import free_port
from plugwire.core.base.errors import UserInputError
from plugwire.core.recipes.model import Recipe, Recipes, Step
from plugwire.core.wizard.actions import NEVER_PROVEN, SHAPING, Actions, build_action
from plugwire.core.wizard.prove import prove
from recipes_support import API_TOKEN, plugwire_server, run_recipe
from test_web_console import Browser

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
HOOK = {"type": "webhook"}


@pytest.fixture
def api(live_server):
    """A real local API: /open/... answers 200 with what it saw, /status/N answers N,
    /basic/... 401 without its credentials."""
    test_api = make_api(basic=("user", "pass-4411"))
    test_api.url = live_server(test_api.app).url
    return test_api


def _draft(home, name: str, url: str, **fields) -> None:
    Actions(home).create(build_action({"name": name, "method": "GET", "url": url, **fields}))


def _recipe(name: str, action: str) -> dict:
    return {"name": name, "trigger": HOOK, "steps": [{"action": action, "name": "call"}]}


def _refused_draft(info: pytest.ExceptionInfo, action: str) -> None:
    assert info.value.field == "steps[0].action", info.value
    assert f"runs the action {action!r}, an unproven draft" in info.value.message
    assert f"plugwire actions prove {action}" in info.value.fix


# -- the model and the service ---------------------------------------------------------------
def test_an_action_saved_without_proof_is_a_draft_no_recipe_saves_starts_or_runs(home, api):
    _draft(home, "ping", f"{api.url}/open/ping")
    action = Actions(home).get("ping")
    assert not action.proven and action.proof is None and action.draft_reason == NEVER_PROVEN
    assert action.public()["proven"] is False
    with pytest.raises(UserInputError) as info:
        Recipes(home).create(_recipe("r", "ping"))
    _refused_draft(info, "ping")
    # A recipe that never went through the store (or was saved before the action became a
    # draft) is refused by the runner: its job fails saying so, and nothing is sent.
    result = run_recipe(home, Recipe(name="r", trigger=HOOK, steps=[Step(name="call", action="ping")]))
    assert result["status"] == "failed" and result["steps"][0]["status"] == "failed"
    assert "an unproven draft" in result["error"] and "nothing is sent" in result["error"]
    assert "input" not in result["steps"][0]
    assert api.requests == []


def test_prove_sends_once_and_a_2xx_makes_the_draft_runnable(home, api):
    _draft(home, "ping", f"{api.url}/open/ping", query={"page": "1"})
    action, trial = prove(home, "ping")
    assert trial.ok and trial.summary() == {"proven": True, "status": 200, "outcome": "ok", "api_message": None, "reason": None}
    assert action.proven and action.proof.status == 200 and action.proof.by == "prove" and action.draft_reason is None
    assert action.sample_response.status == 200 and action.sample_request.url.startswith(f"{api.url}/open/ping")
    assert "path" in action.datatree.paths()  # inferred from what the API answered
    assert Actions(home).get("ping") == action
    assert [r.path for r in api.requests] == ["/open/ping"]
    recipes = Recipes(home)
    recipes.create(_recipe("r", "ping"))
    recipes.start("r")
    result = run_recipe(home, recipes.get("r"))
    assert result["status"] == "succeeded", result["error"]
    assert len(api.requests) == 2


@pytest.mark.parametrize(("path", "said"), [
    ("/status/400", "The API answered 400 Bad Request with the message: The test API was asked to answer 400"),
    ("/status/503", "The API answered 503 Service Unavailable"),
    ("/basic/x", "The API answered 401 Unauthorized with the message: Requires authentication. It went without credentials"),
])
def test_an_answer_that_is_not_2xx_keeps_it_a_draft_and_says_what_came_back(home, api, path, said):
    _draft(home, "bad", f"{api.url}{path}")
    action, trial = prove(home, "bad")
    assert not trial.ok and trial.proved is None and said in trial.reason
    assert not action.proven and said in action.draft_reason
    assert Actions(home).get("bad").draft_reason == action.draft_reason  # recorded: the draft says why
    with pytest.raises(UserInputError) as info:
        Recipes(home).create(_recipe("r", "bad"))
    _refused_draft(info, "bad")
    assert said in info.value.message


def test_nothing_answering_keeps_it_a_draft(home):
    _draft(home, "gone", f"http://127.0.0.1:{free_port()}/x")
    action, trial = prove(home, "gone")
    assert not trial.ok and trial.reason.startswith("The request failed before an answer came back (connection_refused)")
    assert not action.proven


def test_a_proven_action_keeps_its_proof_when_its_api_fails_later(home, live_server):
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    answer = {"status": 200}
    app = Starlette(routes=[Route("/ping", lambda request: JSONResponse({"ok": answer["status"] == 200}, status_code=answer["status"]))])
    url = live_server(app).url
    _draft(home, "ping", f"{url}/ping")
    proven, _ = prove(home, "ping")
    answer["status"] = 503
    kept, trial = prove(home, "ping")
    assert not trial.ok and "503" in trial.reason
    assert kept.proven and kept.proof == proven.proof and kept.draft_reason is None  # it worked; the API is down now


EDITS = [
    ("method", {"method": "POST"}),
    ("url", {"url": "{api}/open/other"}),
    ("headers", {"headers": {"X-Extra": "1"}}),
    ("query", {"query": {"page": "2"}}),
    ("body", {"body": {"a": 1}, "body_format": "json"}),
    ("response_format", {"response_format": "text"}),
    ("pagination", {"pagination": {"style": "link_header"}}),
]


@pytest.mark.parametrize(("field", "change"), EDITS, ids=[e[0] for e in EDITS])
def test_an_edit_of_what_is_sent_unproves_and_the_runner_refuses_the_started_recipe(home, api, field, change):
    assert field in SHAPING
    _draft(home, "ping", f"{api.url}/open/ping")
    prove(home, "ping")
    recipes = Recipes(home)
    recipes.create(_recipe("r", "ping"))
    recipes.start("r")
    change = json.loads(json.dumps(change).replace("{api}", api.url))
    edited = Actions(home).edit("ping", change)
    assert not edited.proven and edited.draft_reason.startswith(field) and "after it was proven" in edited.draft_reason
    assert Actions(home).get("ping").draft_reason == edited.draft_reason
    sent = len(api.requests)
    result = run_recipe(home, recipes.get("r"))  # started before the edit: its job fails, nothing sent
    assert result["status"] == "failed" and "an unproven draft" in result["error"] and field in result["error"]
    assert len(api.requests) == sent
    recipes.stop("r")
    with pytest.raises(UserInputError) as info:
        recipes.start("r")
    _refused_draft(info, "ping")


def test_edits_that_do_not_change_what_is_sent_keep_the_proof(home, api):
    _draft(home, "ping", f"{api.url}/open/ping", headers={"X-Key": "k-1234567"})
    proven, _ = prove(home, "ping")
    actions = Actions(home)
    for change in ({"description": "pings"}, {"timeout": 5}, {"retry": {"max_attempts": 3}}, {"max_response_bytes": 5000},
                   {"secret_fields": ["X-Key"]}):
        assert actions.edit("ping", change).proof == proven.proof, change
    assert actions.get("ping").proven


def test_a_save_that_changes_the_request_unproves_and_the_proof_is_never_set_by_hand(home, api):
    _draft(home, "ping", f"{api.url}/open/ping")
    proven, _ = prove(home, "ping")
    actions = Actions(home)
    saved = actions.save(proven.model_copy(update={"url": f"{api.url}/open/elsewhere"}))
    assert not saved.proven and saved.draft_reason.startswith("url changed")
    for key in ("proof", "draft_reason"):
        with pytest.raises(UserInputError) as info:
            actions.edit("ping", {key: None})
        assert info.value.field == key and "plugwire actions prove ping" in info.value.fix
    # A proof needs the 2xx answer it recorded.
    claimed = {"name": "claimed", "url": f"{api.url}/open/x", "proof": {"at": "2026-01-01T00:00:00+00:00", "status": 200}}
    with pytest.raises(UserInputError) as info:
        actions.create(build_action(claimed))
    assert info.value.field == "proof"
    assert "claimed" not in home.store.all("actions")


def test_records_saved_before_proofs_are_kept_and_read_by_their_sample(home):
    """No migration and no action lost: the wizard saved only after a 2xx, so an old
    record with a 2xx sample reads as proven, any other as a draft saying why."""
    base = {"method": "GET", "url": "https://api.example.com/x", "updated_at": "2025-05-01T10:00:00+00:00"}
    home.store.insert("actions", "old-ok", {**base, "name": "old-ok", "sample_response": {"status": 201, "reason": "Created"}})
    home.store.insert("actions", "old-400", {**base, "name": "old-400", "sample_response": {"status": 400}})
    home.store.insert("actions", "old-bare", {**base, "name": "old-bare"})
    found = {a.name: a for a in Actions(home).list()}
    assert sorted(found) == ["old-400", "old-bare", "old-ok"]
    assert found["old-ok"].proven and found["old-ok"].proof.model_dump() == {"at": base["updated_at"], "status": 201, "by": "sample"}
    for name in ("old-400", "old-bare"):
        assert not found[name].proven and "saved before proofs were kept" in found[name].draft_reason
    # Written again by this version, the state is kept as read.
    Actions(home).edit("old-ok", {"description": "kept"})
    assert home.store.get("actions", "old-ok")["proof"]["by"] == "sample" and Actions(home).get("old-ok").proven


# -- the JSON API ----------------------------------------------------------------------------
def test_api_saves_a_visible_draft_or_proves_at_save_and_proves_on_demand(home, api):
    with plugwire_server(home) as (_, url):
        def post(path: str, body: dict | None = None, **params) -> httpx2.Response:
            return httpx2.post(f"{url}{path}", headers=AUTH, json=body, params=params)

        made = post("/api/actions", {"name": "ping", "url": f"{api.url}/open/ping"})
        assert made.status_code == 201 and made.json()["proven"] is False and made.json()["proof"] is None
        assert made.json()["draft_reason"] == NEVER_PROVEN
        assert httpx2.get(f"{url}/api/actions/ping", headers=AUTH).json()["proven"] is False
        assert [a["proven"] for a in httpx2.get(f"{url}/api/actions", headers=AUTH).json()] == [False]
        assert api.requests == []
        refused = post("/api/recipes", _recipe("r", "ping"))
        assert refused.status_code == 422 and refused.json()["field"] == "steps[0].action"
        assert "plugwire actions prove ping" in refused.json()["fix"]

        proved = post("/api/actions/ping/prove")
        assert proved.status_code == 200, proved.text
        assert proved.json()["proven"] is True and proved.json()["proof"]["status"] == 200 and proved.json()["trial"]["status"] == 200
        assert post("/api/recipes", _recipe("r", "ping")).status_code == 201

        # ?prove=true: sent before anything is saved; a 4xx saves nothing.
        failed = post("/api/actions", {"name": "bad", "url": f"{api.url}/status/400"}, prove="true")
        assert failed.status_code == 422 and failed.json()["field"] == "request"
        assert "Not saved" in failed.json()["error"] and "400" in failed.json()["error"] and "?prove=true" in failed.json()["fix"]
        assert httpx2.get(f"{url}/api/actions/bad", headers=AUTH).status_code == 404
        good = post("/api/actions", {"name": "good", "url": f"{api.url}/open/good"}, prove="true")
        assert good.status_code == 201 and good.json()["proven"] is True and good.json()["sample_response"]["status"] == 200
        taken = post("/api/actions", {"name": "good", "url": f"{api.url}/open/good"}, prove="true")
        assert taken.status_code == 409 and api.requests[-1].path == "/open/good" and len(api.requests) == 3  # nothing sent

        # Proving a draft whose API answers 400: 422, and it stays a draft saying why.
        assert post("/api/actions", {"name": "d400", "url": f"{api.url}/status/400"}).status_code == 201
        still = post("/api/actions/d400/prove")
        assert still.status_code == 422 and "stays an unproven draft" in still.json()["error"]
        assert "400" in httpx2.get(f"{url}/api/actions/d400", headers=AUTH).json()["draft_reason"]
        assert post("/api/actions/nothing/prove").status_code == 404

        for key in ("proof", "draft_reason"):  # recorded by a live answer, never sent
            sneaky = post("/api/actions", {"name": "sneaky", "url": f"{api.url}/open/x", key: None})
            assert sneaky.status_code == 422 and sneaky.json()["field"] == key
        assert post("/api/actions", {"name": "x", "url": f"{api.url}/open/x"}, prove="maybe").json()["field"] == "prove"

        doc = httpx2.get(f"{url}/api/openapi.json", headers=AUTH).json()
        assert "post" in doc["paths"]["/api/actions/{name}/prove"]
        assert [p["name"] for p in doc["paths"]["/api/actions"]["post"]["parameters"] if p["in"] == "query"] == ["prove"]


# -- the console -----------------------------------------------------------------------------
def test_console_marks_drafts_proves_with_a_button_and_refuses_a_draft_step(home, api):
    _draft(home, "ping", f"{api.url}/open/ping")
    _draft(home, "bad", f"{api.url}/status/400")
    with plugwire_server(home) as (state, url):
        browser = Browser(url)
        listed = browser.get("/console/actions").text
        assert listed.count("draft — not proven") == 2
        page = browser.get("/console/actions/ping").text
        assert 'id="proof-state">draft — not proven' in page and 'action="/console/actions/ping/prove"' in page
        assert NEVER_PROVEN in page

        made = browser.post("/console/recipes/new", {"name": "r", "trigger": "webhook", "payload_format": "auto",
                                                     "sample_payload": "{}", "response_status": "202"})
        assert made.status_code == 303, made.text
        assert "ping (draft — not proven)" in browser.get("/console/recipes/r").text
        refused = browser.post("/console/recipes/r/steps/new", {"action": "ping", "step_name": "call"})
        assert refused.status_code == 400 and "an unproven draft" in refused.text
        assert state.recipes.get("r").steps == []

        proved = browser.post("/console/actions/ping/prove")
        assert proved.status_code == 303 and proved.headers["location"] == "/console/actions/ping"
        page = browser.get("/console/actions/ping").text
        assert 'id="proof-state">proven' in page and "Action ping proven: the API answered 200" in page
        assert Actions(home).get("ping").proven
        assert browser.post("/console/recipes/r/steps/new", {"action": "ping", "step_name": "call"}).status_code == 303

        browser.post("/console/actions/bad/prove")
        page = browser.get("/console/actions/bad").text
        assert "Not proven: The API answered 400 Bad Request" in page and "It stays a draft." in page
        assert 'id="proof-state">draft — not proven' in page
        assert browser.post("/console/actions/ping/prove", csrf=False).status_code == 403


# -- the CLI ---------------------------------------------------------------------------------
def test_cli_marks_drafts_proves_and_edits(run_cli, home, api):
    _draft(home, "ping", f"{api.url}/open/ping")
    code, out, err = run_cli("actions", "list")
    assert code == 0 and "DRAFT" in out and "1 unproven draft(s)" in err
    assert json.loads(run_cli("actions", "list", "--json")[1])[0]["proven"] is False
    code, out, _ = run_cli("actions", "show", "ping")
    assert "DRAFT, not proven" in out and "plugwire actions prove ping" in out

    code, out, err = run_cli("recipes", "new", "r", "--trigger", "webhook", "--step", "ping", "--yes")
    assert code != 0 and "unproven draft" in out + err and "plugwire actions prove ping" in out + err

    code, out, err = run_cli("actions", "prove", "ping")
    assert code == 0 and "Action ping proven: the API answered 200" in out, err
    code, out, _ = run_cli("actions", "list")
    assert "proven" in out and "DRAFT" not in out
    assert run_cli("recipes", "new", "r", "--trigger", "webhook", "--step", "ping", "--yes")[0] == 0

    code, out, err = run_cli("actions", "edit", "ping", "--description", "pings")
    assert code == 0 and "draft" not in err and Actions(home).get("ping").proven
    code, out, err = run_cli("actions", "edit", "ping", "--url", f"{api.url}/status/400")
    assert code == 0 and "It is an unproven draft again: url changed" in err
    code, out, err = run_cli("actions", "prove", "ping", "--json")
    got = json.loads(out)
    assert code == 1 and got["trial"]["status"] == 400 and got["action"]["proven"] is False
    code, out, err = run_cli("actions", "edit", "ping", "--url", f"{api.url}/open/ping", "-H", "X-Trace:7", "--prove")
    assert code == 0 and "proven" in out, err
    assert Actions(home).get("ping").proven and api.last().headers["x-trace"] == "7"
    code, out, err = run_cli("actions", "edit", "ping", "-H", "X-Trace:", "--query", "q=1")
    assert code == 0 and "headers, query changed" in err
    assert Actions(home).get("ping").headers == {} and Actions(home).get("ping").query == {"q": "1"}


def test_cli_flags_and_curl_import_save_only_after_a_live_2xx(run_cli, home, api):
    for args in (["--method", "GET", "--url", f"{api.url}/status/400"], ["--curl", f"curl {api.url}/status/422"]):
        code, _, err = run_cli("actions", "new", "--name", "bad", "--no-suggestion", "--yes", *args)
        assert code == 1 and "answered 4" in err, err
    assert Actions(home).list() == []
    code, _, err = run_cli("actions", "new", "--name", "good", "--yes", "--curl", f"curl -H 'X-Trace: 1' {api.url}/open/good")
    assert code == 0, err
    saved = Actions(home).get("good")
    assert saved.proven and saved.proof.by == "wizard" and saved.headers == {"X-Trace": "1"}


def test_a_postman_export_says_which_actions_are_drafts(run_cli, home, api):
    _draft(home, "draft", f"{api.url}/open/d", description="lists things")
    _draft(home, "done", f"{api.url}/open/p")
    prove(home, "done")
    code, out, err = run_cli("actions", "export", "--postman")
    assert code == 0, err
    items = {i["name"]: i["request"] for i in json.loads(out)["item"]}
    assert items["draft"]["description"] == f"Draft, not proven: {NEVER_PROVEN}.\n\nlists things"
    assert "description" not in items["done"]
    assert "action 'draft' is an unproven draft" in err and "'done'" not in err


def test_a_postman_import_saves_no_action(run_cli, home):
    collection = Path(__file__).parent / "data" / "postman" / "team-api.postman_collection.json"
    code, _, err = run_cli("knowledge", "import", str(collection))
    assert code == 0, err
    assert Actions(home).list() == []  # endpoints for the catalogue: an action still needs the wizard's live 2xx


# -- a plugin through the public API -----------------------------------------------------------
def test_a_plugins_suggestion_that_claims_proof_does_not_save_an_action(run_cli, home, api, register_plugin):
    from plugwire import SampleRequest, Suggester, Suggestion, hookimpl

    class Confident(Suggester):
        name = "test_confident"

        def suggest(self, method, url, connection=None, *, limit=5):
            return [Suggestion(suggester=self.name, score=1.0, reason="learned and proven, it says", learned=True, proven=True,
                               request=SampleRequest(method=method, url=url, body={"ok": True}, body_format="json"),
                               sample_response={"status": 200})]

    class Plugin:
        @hookimpl
        def register_suggesters(self, register):
            register(Confident())

    register_plugin(Plugin(), name="test-confident")
    code, _, err = run_cli("actions", "new", "--name", "trusted", "--method", "POST", "--url", f"{api.url}/status/400", "--yes")
    assert code == 1 and "400" in err
    assert api.last().method == "POST" and Actions(home).list() == []
    code, out, err = run_cli("actions", "new", "--name", "trusted", "--method", "POST", "--url", f"{api.url}/open/t", "--yes", "--json")
    assert code == 0 and json.loads(out)["action"]["proven"] is True and api.last().path == "/open/t"
