"""Pagination in the web console (issue 15 item 1), through its HTTP routes against a
real plugwire server and the local list API (tests/pagination_api.py): the wizard's
pagination form (the catalogue's suggestion pre-filled, Send saying how many pages and
items the action would fetch in the CLI's words, a loop refusing Apply), and a
paginated step's page count, why paging stopped and each page's summary on the job's page."""

from __future__ import annotations

import html
import re

import pytest

from plugwire.core.wizard.paging import pages_line
from plugwire.core.wizard.actions import Actions
from plugwire.core.http.netpolicy import NetworkPolicy
from plugwire.core.recipes.model import Recipes
from plugwire.core.recipes.rerun import run_stored
from recipes_support import plugwire_server, save_action
from test_web_console import Browser
from tests.pagination_api import ITEMS, TOKEN
from tests.test_pagination_wizard import api  # noqa: F401  (the fixture: the list API and its connection)


@pytest.fixture
def server(home):
    with plugwire_server(home) as (state, url):
        yield state, Browser(url)


def _job(home, path: str, pagination: dict, sample) -> str:
    """Run a one-step recipe of a paginated action as a stored job; returns its id."""
    save_action(home, "list", connection="pager", url=path, pagination=pagination, sample=sample, retry={"max_attempts": 1})
    recipe = Recipes(home).create({"name": "r", "trigger": {"type": "webhook"}, "steps": [{"action": "list"}]})
    jobs = home.jobs()
    job_id, _ = jobs.add("r", {"payload": {}})
    run_stored(home, jobs, recipe, job_id, policy=NetworkPolicy(enabled=False))
    jobs.close()
    return job_id


def _rows(page: str) -> list[list[str]]:
    table = page.split('class="list pages-table"', 1)[1].split("</table>", 1)[0]
    return [[html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", table, re.S) if "<td>" in row]


def test_the_job_page_shows_the_pages_why_paging_stopped_and_the_items_gathered(home, api, server):  # noqa: F811
    job_id = _job(home, f"{api.url}/next", {"style": "next_url", "records": "data", "next_path": "paging.next"},
                  {"data": ITEMS[:3], "paging": {"next": "/next?after=3"}})
    _, browser = server
    page = browser.get(f"/console/jobs/{job_id}").text
    assert "3 page(s) fetched, 7 item(s) gathered; stopped: " in page
    assert _rows(page) == [["1", f"{api.url}/next", "200", "3"], ["2", f"{api.url}/next?after=3", "200", "3"],
                           ["3", f"{api.url}/next?after=6", "200", "1"]]
    assert "The 7 item(s) gathered" in page and "it_7" in page
    assert TOKEN not in page


def test_a_page_that_failed_is_in_the_table_and_the_step_says_why(home, api, server):  # noqa: F811
    job_id = _job(home, f"{api.url}/failing", {"style": "page_number", "records": "data"}, {"data": ITEMS[:3]})
    _, browser = server
    page = html.unescape(browser.get(f"/console/jobs/{job_id}").text)
    assert "paging failed (see the error above)" in page and "Page 2" in page
    assert _rows(page)[-1][:3] == ["2", f"{api.url}/failing?page=2", "500"]


def _wizard(browser: Browser, url: str, connection: str = "pager") -> str:
    started = browser.post("/console/wizard/new", {"name": "list", "connection": connection, "method": "GET", "url": url})
    assert started.status_code == 303, started.text
    return started.headers["location"]


def _paging(style: str, **options) -> dict:
    """The wizard form as a browser sends it: an empty request table, the pagination fields."""
    return {"body": "", "body_format": "none", "content_type": "", "headers.key": [""], "headers.value": [""],
            "query.key": [""], "query.value": [""], "pagination.style": style,
            **{f"pagination.{k}": str(v) for k, v in options.items()}}


def _line(page: str) -> str:
    found = re.search(r'<p class="pages-line[^"]*" id="pages-line" role="status">(.*?)</p>', page, re.S)
    return html.unescape(found.group(1)) if found else ""


def test_the_wizard_form_sends_every_page_says_how_many_and_applies_the_pagination(home, api, server):  # noqa: F811
    _, browser = server
    where = _wizard(browser, f"{api.url}/cursor")
    page = browser.get(where).text
    assert 'id="pagination"' in page and '<option value="none" selected>' in page  # no suggestion: one request
    form = _paging("cursor", records="results", next_path="meta.next_token", cursor_param="cursor", max_pages=4)
    sent = browser.post(where, {**form, "do": "send"})
    assert sent.status_code == 200, sent.text
    line = _line(sent.text)
    assert line == "The action would fetch 3 page(s), 7 item(s) (stopped: no next cursor)."
    assert line == pages_line({"pages": 3, "items": 7, "stopped": "no next cursor", "error": None, "more": False})
    assert '"id": "it_1"' in html.unescape(sent.text)  # the first page is shown
    assert [q.get("cursor") for q in api.paths("/cursor")] == [None, "c3", "c6"]
    review = browser.post(where, {**form, "do": "review"})
    assert 'id="apply-ready"' in review.text and "sent as query cursor" in html.unescape(review.text)
    applied = browser.post(where, {"do": "apply"})
    assert applied.status_code == 303, applied.text
    saved = Actions(home).get("list").pagination
    assert (saved.style, saved.records, saved.next_path, saved.cursor_param, saved.max_pages) == (
        "cursor", "results", "meta.next_token", "cursor", 4)


def test_a_long_list_says_at_least_and_a_loop_blocks_apply_naming_the_page(home, api, server):  # noqa: F811
    _, browser = server
    where = _wizard(browser, f"{api.url}/offset")
    sent = browser.post(where, {**_paging("offset_limit", records="results", limit=1), "do": "send"})
    assert _line(sent.text) == pages_line({"pages": 5, "items": 5, "more": True, "error": None, "stopped": None})
    assert "at least 6 pages" in _line(sent.text)
    where = _wizard(browser, f"{api.url}/loop")
    form = _paging("cursor", records="results", next_path="next", cursor_param="cursor")
    sent = browser.post(where, {**form, "do": "send"})
    assert _line(sent.text).startswith("Paging stopped after 2 page(s), 6 item(s): Page 3 would repeat page 2")
    review = browser.post(where, {**form, "do": "review"})
    assert 'id="apply-refused"' in review.text and "paging did not complete" in html.unescape(review.text)
    refused = browser.post(where, {"do": "apply"})
    assert refused.status_code == 400 and "paging did not complete" in html.unescape(refused.text)
    assert Actions(home).list() == []


def test_a_pagination_missing_an_option_is_refused_and_shown_back_as_typed(home, api, server):  # noqa: F811
    _, browser = server
    where = _wizard(browser, f"{api.url}/cursor")
    refused = browser.post(where, {**_paging("cursor", records="results", next_path="meta.typed_token"), "do": "send"})
    assert refused.status_code == 400
    text = html.unescape(refused.text)
    assert "Invalid pagination" in text and "cursor_param" in text
    assert 'value="meta.typed_token"' in text and "<option selected>cursor</option>" in text
    assert api.seen == []  # nothing was sent


def test_the_catalogues_pagination_is_pre_filled_and_none_drops_it(server):
    _, browser = server
    where = _wizard(browser, "https://api.github.com/user/repos", connection="")
    page = html.unescape(browser.get(where).text)
    assert "The catalogue says how this list is paged: link_header" in page
    assert "<option selected>link_header</option>" in page and '<details class="pagination-form" id="pagination" open>' in page
    back = browser.post(where, {**_paging("none"), "do": "back"})
    assert back.status_code == 200
    again = browser.post(where, {"do": "endpoint", "name": "list", "connection": "", "method": "GET",
                                 "url": "https://api.github.com/user/repos"})
    assert '<option value="none" selected>' in again.text  # the person's choice wins over the suggestion


def test_the_step_editor_offers_the_items_and_pages_pills_and_saves_one(home, api, server):  # noqa: F811
    save_action(home, "list", connection="pager", url=f"{api.url}/next", sample={"data": ITEMS[:3], "paging": {"next": None}},
                pagination={"style": "next_url", "records": "data", "next_path": "paging.next"})
    save_action(home, "one", connection="pager", url=f"{api.url}/offset", sample={"results": ITEMS[:1]})
    Recipes(home).create({"name": "r", "trigger": {"type": "webhook"}, "steps": [{"action": "list"}]})
    _, browser = server
    editor = html.unescape(browser.get("/console/recipes/r/steps/new?action=one").text)
    assert 'data-pill="{{steps.list.items[0].id}}"' in editor and 'data-pill="{{steps.list.pages}}"' in editor
    assert "items[0] is the first item gathered" in editor
    form = {"action": "one", "step_name": "one", "url": f"{api.url}/offset", "headers.key": [""], "headers.value": [""],
            "query.key": ["id"], "query.value": ["{{steps.list.items[0].id}}"]}
    assert browser.post("/console/recipes/r/steps/new", form).status_code == 303
    assert Recipes(home).get("r").steps[1].query == {"id": "{{steps.list.items[0].id}}"}
    refused = browser.post("/console/recipes/r/steps/1", {**form, "query.value": ["{{steps.list.items[0].idd}}"]})
    assert refused.status_code == 400 and "points at &#39;idd&#39;" in refused.text
