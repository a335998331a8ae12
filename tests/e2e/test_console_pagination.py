"""In a real browser: a list endpoint's pagination chosen in the wizard (issue 15 item 1).
Choosing the cursor style shows its options only; Send fetches every page of the local
list API (tests/pagination_api.py) and says how many pages and items the action would
fetch; Apply saves the action with its pagination."""

from __future__ import annotations

import pytest

from tests.pagination_api import TOKEN, PagingAPI


@pytest.fixture(scope="module")
def paging_api():
    from plugwire.core.testing.server import ServerThread

    api = PagingAPI()
    server = ServerThread(api.app).start()
    server.api = api
    yield server
    server.stop()


@pytest.fixture(scope="module")
def pager(console):
    created = console.api("POST", "/api/connections", json={
        "name": "pager", "auth_type": "header", "settings": {"headers": {"Authorization": f"Bearer {TOKEN}"}}})
    assert created.status_code == 201, created.text
    return "pager"


def test_the_wizard_chooses_a_cursor_and_says_how_many_pages_it_would_fetch(page, console, paging_api, pager, shot):
    page.goto("/console/wizard/new")
    page.fill("input[name=name]", "list_things")
    page.select_option("select[name=connection]", pager)
    page.fill("input[name=url]", f"{paging_api.url}/cursor")
    page.click("#step1 button.primary")

    page.click("#pagination summary")
    page.select_option("#pagination-style", "cursor")
    # Only the chosen style's options show: a page number belongs to another style.
    assert page.locator("input[name='pagination.page_param']").is_hidden()
    page.fill("input[name='pagination.records']", "results")
    page.fill("input[name='pagination.next_path']", "meta.next_token")
    page.fill("input[name='pagination.cursor_param']", "cursor")
    page.click("#send")
    assert page.locator("#pages-line").inner_text() == "The action would fetch 3 page(s), 7 item(s) (stopped: no next cursor)."
    assert '"it_1"' in page.locator("#response").inner_text()  # the first page
    shot(page, "step2-paged")

    page.click("#review")
    assert "sent as query cursor" in page.locator("#review-pagination").inner_text()
    page.click("#apply")
    page.wait_for_url("**/console/actions/list_things")
    saved = console.api("GET", "/api/actions/list_things").json()
    assert saved["pagination"]["style"] == "cursor" and saved["pagination"]["cursor_param"] == "cursor"
    assert [q.get("cursor") for q in paging_api.api.paths("/cursor")] == [None, "c3", "c6"]
