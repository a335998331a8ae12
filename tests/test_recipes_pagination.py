"""Datapills into a paginated step's gathered items and page count (issue 15 item 1):
checked when a recipe is saved (``items[N].FIELD`` against the item of the action's
records list, ``pages`` with nothing under it), offered to ``plugwire recipes new`` and
the console's step editor, and filled from every page when a webhook's job runs
against the local list API (tests/pagination_api.py)."""

from __future__ import annotations

import httpx2
import pytest

from plugwire.core.base.errors import UserInputError
from plugwire.core.plugincore.manager import triggers
from plugwire.core.recipes.model import Recipes
from plugwire.core.recipes.pills import offered_pills
from plugwire.core.web.pills import pill_groups
from plugwire.core.wizard.actions import Actions
from recipes_support import finished_job, plugwire_server, save_action
from tests.pagination_api import ITEMS
from tests.test_pagination_wizard import api  # noqa: F401  (the fixture: the list API and its connection)

NEXT = {"style": "next_url", "records": "data", "next_path": "paging.next"}
FIRST_PAGE = {"data": ITEMS[:3], "paging": {"next": "/next?after=3"}}


@pytest.fixture
def actions(home, api):  # noqa: F811
    """A paginated list action (items under ``data``) and a plain one a later step runs."""
    save_action(home, "list", connection="pager", url=f"{api.url}/next", pagination=NEXT, sample=FIRST_PAGE)
    save_action(home, "one", connection="pager", url=f"{api.url}/offset", query={"limit": "1"}, sample={"results": ITEMS[:1]})
    return Actions(home)


def _recipe(query: dict) -> dict:
    return {"name": "r", "trigger": {"type": "webhook", "config": {"sample_payload": {"x": 1}}},
            "steps": [{"action": "list"}, {"action": "one", "query": query}]}


def test_a_later_step_uses_the_gathered_items_and_page_count_in_a_webhooks_job(home, api, actions):  # noqa: F811
    recipes = Recipes(home)
    recipes.create(_recipe({"offset": "{{steps.list.pages}}", "id": "{{steps.list.items[6].id}}",
                            "n": "{{steps.list.items[5].n}}"}))
    token = recipes.start("r").token
    with plugwire_server(home) as (state, url):
        answer = httpx2.post(f"{url}/hooks/{token}", json={"x": 1})
        assert answer.status_code == 202
        job = finished_job(state, answer.headers["X-Plugwire-Job"])
    assert job["status"] == "succeeded", job["error"]
    # Page 3 of /next held the seventh item: the second step got values from every page.
    sent = api.paths("/offset")[-1]
    assert sent["offset"] == "3" and sent["id"] == "it_7" and sent["n"] == "6"
    assert job["steps"][0]["pages"]["count"] == 3 and job["steps"][1]["status"] == "succeeded"


@pytest.mark.parametrize(("pill", "said"), [
    ("steps.list.items[0].nope", "'nope', which is not in the items step 'list' gathers (at data)"),
    ("steps.list.items.id", "items is a list; pick one item with [N]"),
    ("steps.list.pages.count", "pages is a count and has no fields"),
])
def test_a_wrong_items_or_pages_pill_is_refused_naming_step_and_field(home, actions, pill, said):
    with pytest.raises(UserInputError) as refused:
        Recipes(home).create(_recipe({"id": "{{" + pill + "}}"}))
    assert "Step 'one', query.id" in str(refused.value) and said in str(refused.value)
    assert refused.value.field == "steps.one.query.id"
    assert Recipes(home).list() == []


def test_items_and_pages_belong_to_paginated_steps_only(home, actions):
    recipe = {"name": "r", "trigger": {"type": "webhook"}, "steps": [{"action": "one"}, {"action": "list", "query": {"id": "{{steps.one.items[0].id}}"}}]}
    with pytest.raises(UserInputError, match="does not point into a step's response"):
        Recipes(home).create(recipe)


def test_a_body_that_is_the_list_checks_items_against_its_element(home, api):  # noqa: F811
    save_action(home, "list", connection="pager", url=f"{api.url}/link", pagination={"style": "link_header"}, sample=ITEMS[:3])
    save_action(home, "one", connection="pager", url=f"{api.url}/offset")
    assert Recipes(home).create(_recipe({"id": "{{steps.list.items[0].id}}"})).steps[1].query["id"]
    with pytest.raises(UserInputError, match="'name', which is not in the items"):
        Recipes(home).create(_recipe({"id": "{{steps.list.items[0].name}}"}))


def test_recipes_new_takes_an_items_pill_by_flag_and_refuses_a_wrong_one(home, actions, run_cli):
    base = ("recipes", "new", "r", "--trigger", "webhook", "--step", "list", "--step", "one", "--yes")
    code, _, err = run_cli(*base, "--map", "one.query.id=steps.list.items[0].idd")
    assert code == 2 and "Step 'one', query.id" in err and "'idd'" in err and "Fix:" in err
    code, _, err = run_cli(*base, "--map", "one.query.id=steps.list.items[0].id", "--map", "one.query.p=steps.list.pages")
    assert code == 0, err
    assert Recipes(home).get("r").steps[1].query == {"id": "{{steps.list.items[0].id}}", "p": "{{steps.list.pages}}"}


def test_the_items_and_pages_pills_are_offered_after_a_paginated_step(home, actions):
    kind = triggers.get("webhook")
    listed = actions.get("list")
    offered = [p["pill"] for p in offered_pills(kind, kind.Config(), [("list", listed.datatree, listed.pagination)])]
    assert "steps.list.items[0].id" in offered and "steps.list.items[0].n" in offered and "steps.list.pages" in offered
    assert "steps.list.response.body.data[0].id" in offered  # the first page, as before
    plain = [p["pill"] for p in offered_pills(kind, kind.Config(), [("one", actions.get("one").datatree)])]
    assert not any(".items" in p or p.endswith(".pages") for p in plain)
    recipe = Recipes(home).create(_recipe({}))
    groups = pill_groups(recipe, {"list": listed, "one": actions.get("one")}, 1)
    console = [p["pill"] for p in groups[1]["pills"]]
    assert "{{steps.list.items[0].id}}" in console and "{{steps.list.pages}}" in console
