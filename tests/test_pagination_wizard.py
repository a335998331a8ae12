"""Choosing pagination in the request wizard (``plugwire actions new --paginate``):
Send fetches the first page and says how many pages and items the action would
fetch (at most five pages, then "at least"); the choice is saved with the action;
a loop or a failing page refuses Apply; the catalogue's suggestion pre-fills it."""

from __future__ import annotations

import json

import pytest

from plugwire.core.plugincore.suggesters import SampleRequest, Suggestion
from plugwire.core.wizard.actions import Actions
from plugwire.core.wizard.steps import Wizard
from tests.pagination_api import TOKEN, PagingAPI


@pytest.fixture
def api(live_server, connections):
    paging = PagingAPI()
    paging.url = live_server(paging.app).url
    connections.create({"name": "pager", "auth_type": "header", "settings": {"headers": {"Authorization": f"Bearer {TOKEN}"}}})
    return paging


def _new(api, path: str, *flags: str) -> list[str]:
    return ["actions", "new", "--name", "list", "--connection", "pager", "--method", "GET", "--url", api.url + path,
            "--no-suggestion", *flags]


def test_the_cli_wizard_sends_every_page_and_saves_the_pagination(run_cli, api, home):
    code, out, err = run_cli(*_new(api, "/cursor", "--paginate", "cursor", "--records", "results",
                                   "--page-option", "next_path=meta.next_token", "--page-option", "cursor_param=cursor",
                                   "--max-pages", "4", "--yes"))
    assert code == 0, err
    assert "The action would fetch 3 page(s), 7 item(s) (stopped: no next cursor)." in out
    action = Actions(home).get("list")
    assert action.pagination.style == "cursor" and action.pagination.next_path == "meta.next_token"
    assert action.pagination.max_pages == 4
    assert [q.get("cursor") for q in api.paths("/cursor")] == [None, "c3", "c6"]
    code, out, err = run_cli("actions", "show", "list")
    assert "cursor: the cursor at meta.next_token sent as query cursor" in out


def test_the_wizard_fetches_at_most_five_pages_and_says_at_least(run_cli, api):
    code, out, err = run_cli(*_new(api, "/offset", "--paginate", "offset_limit", "--records", "results",
                                   "--page-option", "limit=1", "--json"))
    data = json.loads(out)
    pages = data["attempts"][0]["pages"]
    assert pages["pages"] == 5 and pages["items"] == 5 and pages["more"] is True
    assert len(api.paths("/offset")) == 5


def test_a_looping_cursor_refuses_apply_with_the_page(run_cli, api, home):
    code, out, err = run_cli(*_new(api, "/loop", "--paginate", "cursor", "--records", "results",
                                   "--page-option", "next_path=next", "--page-option", "cursor_param=cursor", "--yes"))
    assert code == 1
    assert "Page 3 would repeat page 2" in out + err and "paging did not complete" in err
    assert Actions(home).list() == []


def test_pagination_options_without_a_style_are_refused_before_anything_is_sent(run_cli, api):
    code, out, err = run_cli(*_new(api, "/cursor", "--records", "results", "--yes", "--json"))
    assert code == 2 and json.loads(out)["field"] == "paginate"
    code, out, err = run_cli(*_new(api, "/cursor", "--paginate", "cursor", "--yes", "--json"))
    assert code == 2 and "next_path" in json.loads(out)["error"]
    assert api.seen == []


def test_the_catalogues_pagination_is_pre_filled_and_can_be_dropped(home, api, register_plugin):
    from plugwire import Suggester, hookimpl

    class Paged(Suggester):
        name = "paged-test"

        def suggest(self, method, url, connection=None, *, limit=5):
            return [Suggestion(suggester=self.name, score=0.9, reason="test", request=SampleRequest(method="GET", url=url),
                               pagination={"style": "next_url", "records": "data", "next_path": "paging.next"})]

    class Plugin:
        @hookimpl
        def register_suggesters(self, register):
            register(Paged())

    register_plugin(Plugin(), "paged-test")
    wiz = Wizard(home)
    wiz.start("GET", api.url + "/next", "pager")
    assert wiz.pagination is not None and wiz.pagination.next_path == "paging.next"
    assert any("The catalogue says how this list is paged" in n for n in wiz.notes)
    attempt = wiz.send()
    assert attempt.pages["items"] == 7 and attempt.pages["pages"] == 3
    wiz.set_pagination(None)
    assert "changed after attempt #1" in wiz.refusal()
    wiz.use_suggestion(0)
    assert wiz.pagination is None  # the user's choice wins over the suggestion


@pytest.mark.parametrize(("url", "style", "records"), [
    ("https://api.github.com/user/repos", "link_header", None),
    ("https://api.stripe.com/v1/customers", "cursor", "data"),
    ("https://slack.com/api/users.list", "cursor", "members"),
])
def test_the_built_in_catalogue_suggests_each_known_providers_style(home, url, style, records):
    wiz = Wizard(home)
    wiz.start("GET", url)
    assert wiz.suggestion.pagination is not None
    assert (wiz.pagination.style, wiz.pagination.records) == (style, records)


def test_a_catalogue_pagination_block_missing_an_option_is_refused_naming_it():
    from pydantic import ValidationError

    from plugwire.knowledge.models import Endpoint

    with pytest.raises(ValidationError, match="cursor_param"):
        Endpoint(method="GET", path="/items", summary="List", pagination={"style": "cursor", "next_path": "next"})
    with pytest.raises(ValidationError, match="extra"):
        Endpoint(method="GET", path="/items", summary="List", pagination={"style": "link_header", "nxt": "x"})
