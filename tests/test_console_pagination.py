"""Pagination in the web console (issue 15 item 1), through its HTTP routes against a
real plugwire server and the local list API (tests/pagination_api.py): a paginated
step's page count, why paging stopped and each page's summary on the job's page."""

from __future__ import annotations

import html

import pytest

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
    import re

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
