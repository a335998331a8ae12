"""Paginated make-request actions run as recipe steps against a local API of each
style (tests/pagination_api.py): every page a real request through the connection,
the items gathered, the first page recorded whole and the others summarised; a
repeating cursor and a failing page fail the step naming the page."""

from __future__ import annotations

import json

import pytest

from plugwire.core.base.errors import UserInputError
from plugwire.core.http.pagination import Pagination, next_link
from plugwire.core.recipes.model import Recipe, Step
from plugwire.core.wizard.actions import Actions, build_action
from recipes_support import run_recipe, save_action
from tests.pagination_api import ITEMS, TOKEN, PagingAPI

ALL_IDS = [it["id"] for it in ITEMS]


@pytest.fixture
def api(live_server, connections):
    paging = PagingAPI()
    server = live_server(paging.app)
    connections.create({"name": "pager", "auth_type": "header", "settings": {"headers": {"Authorization": f"Bearer {TOKEN}"}}})
    paging.url = server.url
    return paging


def _run(home, api, path: str, pagination: dict, *, method: str = "GET", steps: list[Step] | None = None, **fields):
    data = {"name": "list", "connection": "pager", "method": method, "url": api.url + path, "pagination": pagination,
            "retry": {"max_attempts": 2, "backoff": 0}, **fields}
    save_action(home, **data)  # proven as Apply saves it: some of these APIs fail on purpose
    return run_recipe(home, Recipe(name="r", trigger={"type": "webhook"}, steps=steps or [Step(name="list", action="list")]))


STYLES = [
    ("/link", {"style": "link_header"}, 3),
    ("/next", {"style": "next_url", "records": "data", "next_path": "paging.next"}, 3),
    ("/cursor", {"style": "cursor", "records": "results", "next_path": "meta.next_token", "cursor_param": "cursor"}, 3),
    ("/stripe", {"style": "cursor", "records": "data", "cursor_last_item": "id", "cursor_param": "starting_after",
                 "has_more_path": "has_more"}, 3),
    ("/pages", {"style": "page_number", "records": "items", "limit_param": "per_page", "limit": 3, "stop": "total",
                "total_path": "total"}, 3),
    ("/offset", {"style": "offset_limit", "records": "results", "limit": 3, "stop": "short"}, 3),
    ("/offset", {"style": "offset_limit", "records": "results", "limit": 4}, 3),  # stops at the empty page
]


@pytest.mark.parametrize(("path", "pagination", "pages"), STYLES, ids=[f"{p}-{c.get('stop') or c['style']}" for p, c, _ in STYLES])
def test_each_style_gathers_every_item_with_the_connections_auth_on_each_page(home, api, path, pagination, pages):
    result = _run(home, api, path, pagination)
    assert result["status"] == "succeeded", result["error"]
    step = result["steps"][0]
    assert [it["id"] for it in step["output"]["items"]] == ALL_IDS
    sent = api.paths(path)
    assert step["output"]["pages"] == len(sent) == step["pages"]["count"]
    # Every page carried the connection's token (the API answers 401 without it) and it is masked in the record.
    assert all(s["status"] == 200 for s in step["pages"]["summaries"])
    assert TOKEN not in json.dumps(result)
    # The first page is recorded whole; every page is summarised by URL, status and item count.
    assert step["input"]["method"] == "GET" and step["output"]["status"] == 200
    assert [s["page"] for s in step["pages"]["summaries"]] == list(range(1, len(sent) + 1))
    assert sum(s["items"] for s in step["pages"]["summaries"]) == len(ITEMS)
    assert step["pages"]["stopped"]


def test_counted_styles_send_their_parameters(home, api):
    _run(home, api, "/pages", {"style": "page_number", "records": "items", "limit_param": "per_page", "limit": 3})
    assert [(q["page"], q["per_page"]) for q in api.paths("/pages")] == [("1", "3"), ("2", "3"), ("3", "3"), ("4", "3")]
    api.seen.clear()
    Actions(home).remove("list")
    _run(home, api, "/offset", {"style": "offset_limit", "records": "results", "limit": 3, "stop": "short"})
    assert [(q["offset"], q["limit"]) for q in api.paths("/offset")] == [("0", "3"), ("3", "3"), ("6", "3")]


def test_a_cursor_goes_back_in_a_body_field(home, api):
    result = _run(home, api, "/search", {"style": "cursor", "records": "results", "next_path": "next_cursor",
                                         "cursor_param": "cursor", "cursor_in": "body"},
                  method="POST", body={"query": "all"}, body_format="json", retry={"max_attempts": 1})
    assert result["status"] == "succeeded", result["error"]
    assert [b for p, _, b in api.seen if p == "/search"] == [{"query": "all"}, {"query": "all", "cursor": "c3"}, {"query": "all", "cursor": "c6"}]
    assert len(result["steps"][0]["output"]["items"]) == 7


def test_bounds_stop_paging_and_say_so(home, api):
    result = _run(home, api, "/link", {"style": "link_header", "max_pages": 2})
    step = result["steps"][0]
    assert result["status"] == "succeeded" and len(api.paths("/link")) == 2 and len(step["output"]["items"]) == 6
    assert step["pages"]["stopped"] == "max_pages (2) reached"
    Actions(home).remove("list")
    result = _run(home, api, "/link", {"style": "link_header", "max_items": 4})
    step = result["steps"][0]
    assert [it["id"] for it in step["output"]["items"]] == ALL_IDS[:4] and step["pages"]["stopped"] == "max_items (4) reached"


def test_a_repeating_cursor_is_a_loop_that_fails_the_step_clearly(home, api):
    result = _run(home, api, "/loop", {"style": "cursor", "records": "results", "next_path": "next", "cursor_param": "cursor"})
    assert result["status"] == "failed"
    assert "Page 3 would repeat page 2" in result["error"] and "same cursor" in result["error"]
    assert len(api.paths("/loop")) == 2  # stopped before asking again
    step = result["steps"][0]
    assert step["status"] == "failed" and step["pages"]["count"] == 2


def test_a_page_failing_midway_fails_the_job_naming_the_page(home, api):
    result = _run(home, api, "/failing", {"style": "page_number", "records": "data"}, retry={"max_attempts": 1})
    assert result["status"] == "failed"
    assert result["error"].startswith("Step 'list' failed: Page 2 (") and "500" in result["error"]
    step = result["steps"][0]
    assert step["status"] == "failed"
    assert [(s["page"], s["status"]) for s in step["pages"]["summaries"]] == [(1, 200), (2, 500)]


def test_a_throttled_page_is_retried_after_its_retry_after(home, api):
    result = _run(home, api, "/throttled", {"style": "page_number", "records": "data"})
    assert result["status"] == "succeeded", result["error"]
    assert [q["page"] for q in api.paths("/throttled")] == ["1", "2", "2", "3", "4"]
    assert len(result["steps"][0]["output"]["items"]) == 7


def test_a_next_link_to_another_host_is_not_followed(home, api):
    result = _run(home, api, "/away", {"style": "link_header"})
    assert result["status"] == "failed" and "another host" in result["error"]
    assert api.paths("/away") == [{}]


def test_a_later_step_reads_the_gathered_items_through_datapills(home, api):
    save_action(home, "show", connection="pager", method="GET", url=api.url + "/offset", prove=True)
    steps = [Step(name="list", action="list"),
             Step(name="show", action="show", query={"offset": "{{steps.list.pages}}", "note": "{{steps.list.items[6].id}}"})]
    result = _run(home, api, "/next", {"style": "next_url", "records": "data", "next_path": "paging.next"}, steps=steps)
    assert result["status"] == "succeeded", result["error"]
    assert result["steps"][1]["input"]["query"] == {"offset": 3, "note": "it_7"}


def test_a_pagination_missing_its_options_is_refused_naming_them():
    with pytest.raises(UserInputError) as info:
        build_action({"name": "x", "method": "GET", "url": "https://api.example.com/x", "pagination": {"style": "cursor"}})
    assert "next_path" in str(info.value)
    with pytest.raises(ValueError, match="has_more_path"):
        Pagination(style="page_number", stop="has_more")


def test_link_headers_are_read_as_rfc_8288_says():
    assert next_link('<https://a.example/x?page=2>; rel="next", <https://a.example/x?page=9>; rel="last"') == "https://a.example/x?page=2"
    assert next_link('<https://a.example/1>; rel="prev", <https://a.example/3>; title="x"; rel="next start"') == "https://a.example/3"
    assert next_link('<https://a.example/1>; rel="prev"') is None and next_link(None) is None


def test_a_retry_after_on_a_page_is_waited_before_the_next_capped_by_the_policy():
    from plugwire.core.http.exchange import Exchange, ReceivedResponse, SentRequest
    from plugwire.core.http.pages import pause_before_next
    from plugwire.core.http.retry import RetryPolicy

    def page(headers):
        return Exchange(request=SentRequest(method="GET", url="https://a.example/x"), ok=True, outcome="ok", message="",
                        response=ReceivedResponse(status=200, headers=headers))

    assert pause_before_next(page({"retry-after": "7"}), RetryPolicy()) == 7
    assert pause_before_next(page({"Retry-After": "7"}), RetryPolicy(max_retry_after=5)) == 5
    assert pause_before_next(page({}), RetryPolicy()) == 0
