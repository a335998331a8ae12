"""The console's wizard and recipe routes without a browser, against real local
servers: Apply refused before a send and after a 4xx, an unchanged form keeps the
request that was sent, a pill to a missing field refused naming the step and field,
start and stop; and the helpers that map a body to editor lines and form rows."""

from __future__ import annotations

import html
import json
import re

import pytest

from plugwire.core.web.pills import body_from_rows, body_leaves
from plugwire.core.web.render import json_lines
from plugwire.core.wizard.actions import Actions
from recipes_support import plugwire_server, save_action
from test_web_console import Browser
from venue_api import serve

TOKEN = "evb-flows-token-2c81"


@pytest.fixture
def console(home, connections, live_server):
    api = serve(live_server, token=TOKEN)
    connections.create({"name": "eventbrite", "auth_type": "header", "provider": "eventbrite",
                        "settings": {"headers": {"Authorization": f"Bearer {TOKEN}"}}})
    with plugwire_server(home) as (state, url):
        yield state, Browser(url), api


def _start(browser: Browser, api, name: str = "create_venue") -> str:
    started = browser.post("/console/wizard/new", {"name": name, "connection": "eventbrite", "method": "POST",
                                                   "url": f"{api.url}/v3/organizations/77/venues/"})
    assert started.status_code == 303, started.text
    return started.headers["location"]


def _form(page: str) -> dict:
    """The wizard form's fields as the page shows them (what a browser would send back)."""
    body = re.search(r'<textarea name="body"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    return {"body": html.unescape(body), "body_format": "json", "content_type": "",
            "headers.key": [""], "headers.value": [""], "query.key": [""], "query.value": [""]}


def test_apply_is_refused_before_a_send_and_after_a_4xx(console, home):
    state, browser, api = console
    where = _start(browser, api)
    page = browser.get(where).text
    assert "Create a venue" in page and "&#34;country&#34;: &#34;US&#34;" in page
    refused = browser.post(where, {**_form(page), "do": "apply"})
    assert "never sent" in refused.text
    usa = _form(page)
    usa["body"] = usa["body"].replace('"country": "US"', '"country": "USA"')
    sent = browser.post(where, {**usa, "do": "send"})
    assert "400 Bad Request" in sent.text and 'data-path="venue.address.country"' in sent.text
    line = next(n for n, text in enumerate(usa["body"].split("\n"), 1) if '"country"' in text)
    assert f'data-highlight="{line}"' in sent.text
    review = browser.post(where, {**usa, "do": "review"})
    assert 'id="apply-refused"' in review.text and "400" in review.text
    refused = browser.post(where, {"do": "apply"})
    assert refused.status_code == 400 and "Apply refused" in refused.text
    assert Actions(home).list() == []


def test_an_unchanged_form_keeps_the_sent_request_and_apply_saves_it(console, home):
    state, browser, api = console
    where = _start(browser, api)
    page = browser.get(where).text
    broken = {**_form(page), "body": '{"venue": {"name": "x",}}', "do": "send"}
    answer = browser.post(where, broken)
    assert answer.status_code == 400 and "line 1 column" in answer.text  # the server also says where JSON breaks
    sent = browser.post(where, {**_form(page), "do": "send"})
    assert "200 OK" in sent.text
    # The page as sent back (headers, query, body untouched) is still the request that worked.
    review = browser.post(where, {**_form(sent.text), "do": "review"})
    assert 'id="apply-ready"' in review.text
    applied = browser.post(where, {"do": "apply"})
    assert applied.status_code == 303 and applied.headers["location"] == "/console/actions/create_venue"
    action = Actions(home).get("create_venue")
    assert action.sample_response.status == 200 and action.datatree is not None
    assert TOKEN not in browser.get("/console/actions/create_venue").text
    assert browser.get(where).status_code == 404  # the draft is gone once applied
    again = browser.post("/console/wizard/new", {"name": "create_venue", "method": "GET", "url": "https://example.com/"})
    assert again.status_code == 400 and "already exists" in again.text


def test_recipe_steps_with_pills_are_checked_and_the_recipe_starts_and_stops(console, home):
    state, browser, api = console
    save_action(home, "create_venue", connection="eventbrite", method="POST", url=f"{api.url}/v3/organizations/77/venues/",
                body_format="json", body={"venue": {"name": "Example Hall", "capacity": 300}}, prove=True)
    made = browser.post("/console/recipes/new", {"name": "new-venue", "trigger": "webhook", "payload_format": "auto",
                                                 "sample_payload": '{"venue": {"name": "Harbour", "seats": 120}}', "response_status": "202"})
    assert made.status_code == 303, made.text
    page = browser.get("/console/recipes/new-venue/steps/new?action=create_venue").text
    assert 'data-pill="{{trigger.payload.venue.name}}"' in page and 'name="body.venue.capacity" value="300"' in page

    wrong = browser.post("/console/recipes/new-venue/steps/new", {
        "action": "create_venue", "step_name": "create", "body.venue.name": "{{trigger.payload.venue.nmae}}", "body.venue.capacity": "300"})
    assert wrong.status_code == 400
    assert "Step &#39;create&#39;, body.venue.name" in wrong.text and "payload.venue.nmae" in wrong.text
    assert state.recipes.get("new-venue").steps == []

    saved = browser.post("/console/recipes/new-venue/steps/new", {
        "action": "create_venue", "step_name": "create", "body.venue.name": "{{trigger.payload.venue.name}}",
        "body.venue.capacity": "{{trigger.payload.venue.seats}}"})
    assert saved.status_code == 303
    step = state.recipes.get("new-venue").steps[0]
    assert step.body == {"venue": {"name": "{{trigger.payload.venue.name}}", "capacity": "{{trigger.payload.venue.seats}}"}}
    # A value typed as a number stays a number; an unchanged body is not stored on the step.
    browser.post("/console/recipes/new-venue/steps/0", {"step_name": "create", "body.venue.name": "Fixed", "body.venue.capacity": "250"})
    assert state.recipes.get("new-venue").steps[0].body == {"venue": {"name": "Fixed", "capacity": 250}}

    detail = browser.get("/console/recipes/new-venue").text
    token = state.recipes.get("new-venue").token
    assert re.search(rf'id="webhook-url" value="http://127\.0\.0\.1:\d+/hooks/{token}"', detail) and 'data-copy="#webhook-url"' in detail
    assert browser.post("/console/recipes/new-venue/start").status_code == 303
    assert state.recipes.get("new-venue").status == "started"
    assert browser.post("/console/recipes/new-venue/stop").status_code == 303
    assert state.recipes.get("new-venue").status == "stopped"


def test_trigger_secret_is_kept_when_left_empty(console):
    state, browser, api = console
    browser.post("/console/recipes/new", {"name": "signed", "trigger": "webhook", "signature_scheme": "hmac-sha256",
                                          "signature_secret": "whk-Secret-71", "signature_header": "X-Sig"})
    page = browser.get("/console/recipes/signed/trigger").text
    assert "whk-Secret-71" not in page and "(keep current)" in page
    browser.post("/console/recipes/signed/trigger", {"description": "now described", "signature_scheme": "hmac-sha256", "signature_secret": "",
                                                     "signature_header": "X-Sig"})
    recipe = state.recipes.get("signed")
    assert recipe.description == "now described" and recipe.trigger.config["signature"]["secret"] == "whk-Secret-71"
    assert "whk-Secret-71" not in browser.get("/console/recipes/signed").text


def test_json_lines_point_at_each_field():
    body = {"venue": {"name": "Hall", "address": {"country": "USA"}}, "tags": ["a", {"k": 1}], "empty": {}}
    text, where = json_lines(body)
    assert text == json.dumps(body, indent=2, ensure_ascii=False)
    lines = text.split("\n")
    assert '"country": "USA"' in lines[where["venue.address.country"] - 1]
    assert '"k": 1' in lines[where["tags[1].k"] - 1] and '"empty": {}' in lines[where["empty"] - 1]


def test_body_rows_keep_types_and_pills():
    base = {"n": 1, "ok": True, "name": "x", "none": None, "items": [{"sku": "a"}], "empty": []}
    rows = body_leaves(base)
    assert [r["path"] for r in rows] == ["n", "ok", "name", "none", "items[0].sku", "empty"]
    kinds = {r["path"]: r["kind"] for r in rows}
    texts = {"n": "5", "ok": "false", "name": "42", "none": "", "items[0].sku": "{{trigger.payload.sku}}", "empty": "[1]"}
    assert body_from_rows(base, texts, kinds) == {"n": 5, "ok": False, "name": "42", "none": None,
                                                  "items": [{"sku": "{{trigger.payload.sku}}"}], "empty": [1]}
    assert body_from_rows(base, {"n": "many"}, kinds)["n"] == "many"  # words where a number was stay words
    assert body_leaves("plain text") is None
