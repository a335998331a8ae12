"""In a real browser at a phone's width (390 x 844): every main page fits the screen
(nothing scrolls sideways but a table inside its own box), the navigation stays in
view and works; and the webhook form shows its signature fields only once a check is
chosen, with the script and without it (issue 14, items 18b and 18c)."""

from __future__ import annotations

import httpx2
import pytest
from api_server import make_api
from plugwire.core.testing.server import ServerThread

PHONE = {"width": 390, "height": 844}
LONG = "a-connection-with-a-rather-long-name-for-a-phone"
TOKEN = "phone-token-0c5e2d"  # the connection's credential: masked on every page
NAV = ("Connections", "Requests", "Recipes", "Jobs")


@pytest.fixture(scope="module")
def filled(console):
    """A connection, an action, a started webhook recipe and a failed job, with long
    names and texts, so that the pages have rows to overflow with."""
    made = console.api("POST", "/api/connections", json={
        "name": LONG, "auth_type": "header", "settings": {"headers": {"Authorization": f"Bearer {TOKEN}"}},
        "test_url": "http://127.0.0.1:9/an/endpoint/with/a/long/path/that/does/not/wrap/easily?and=a&query=string",
    })
    assert made.status_code == 201, made.text
    # Proven against a local API that then stops, so that the job below fails.
    api = ServerThread(make_api().app).start()
    try:
        made = console.api("POST", "/api/actions", params={"prove": "true"}, json={
            "name": "create_a_venue_with_a_long_action_name", "connection": LONG, "method": "POST",
            "url": f"{api.url}/open/v3/organizations/1234567/venues/with/a/long/path/", "body_format": "json",
            "body": {"venue": {"name": "Example Hall", "active": True}},
        })
    finally:
        api.stop()
    assert made.status_code == 201 and made.json()["proven"], made.text
    made = console.api("POST", "/api/actions", json={  # a draft too, with its badge
        "name": "a_draft_action_with_a_long_name_never_proven", "method": "GET",
        "url": "http://127.0.0.1:9/v3/organizations/1234567/venues/with/a/long/path/",
    })
    assert made.status_code == 201 and not made.json()["proven"], made.text
    made = console.api("POST", "/api/recipes", json={
        "name": "a-recipe-with-a-long-name-too", "trigger": {"type": "webhook", "config": {"sample_payload": {"name": "x"}}},
        "steps": [{"action": "create_a_venue_with_a_long_action_name"}],
    })
    assert made.status_code == 201, made.text
    started = console.api("POST", "/api/recipes/a-recipe-with-a-long-name-too/start")
    assert started.status_code == 201, started.text
    sent = httpx2.post(started.json()["webhook_url"], json={"name": "Harbour Room"})
    assert sent.status_code == 202, sent.text
    return sent.headers["x-plugwire-job"]


@pytest.fixture
def phone(console_tab):
    """A tab the size of a phone's screen."""
    with console_tab(viewport=PHONE, is_mobile=True, has_touch=True) as tab:
        yield tab


# The outermost elements that reach past the right edge, to name them in a failure.
_PAST_THE_EDGE = """w => [...document.querySelectorAll("body *")]
  .filter(e => e.getBoundingClientRect().right > w && !(e.parentElement && e.parentElement.getBoundingClientRect().right > w))
  .slice(0, 8).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className ? "." + String(e.className).split(" ").join(".") : "")
    + " " + Math.round(e.getBoundingClientRect().right))"""


def _fits(tab, path: str) -> None:
    width = tab.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{path} is {width} px wide at a 390 px screen: {tab.evaluate(_PAST_THE_EDGE, PHONE['width'])}"


def _nav_in_view(tab, path: str) -> None:
    for name in NAV:
        link = tab.locator("header nav a", has_text=name)
        assert link.is_visible(), f"{name} is not visible on {path}"
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], f"{name} is off the screen on {path}: {box}"
        link.click(trial=True)  # visible, enabled and not covered by anything


def test_main_pages_fit_a_phone_and_keep_their_navigation(phone, console, filled, shot):
    job = filled
    pages = [
        "/console/", "/console/connections", f"/console/connections/{LONG}", f"/console/connections/{LONG}/edit",
        "/console/actions", "/console/actions/create_a_venue_with_a_long_action_name",
        "/console/actions/a_draft_action_with_a_long_name_never_proven", "/console/wizard/new",
        "/console/recipes", "/console/recipes/a-recipe-with-a-long-name-too", "/console/recipes/new?trigger=webhook",
        "/console/jobs", f"/console/jobs/{job}",
    ]
    for path in pages:
        phone.goto(path)
        phone.wait_for_load_state("load")
        shot(phone, path.strip("/").replace("/", "-").replace("?", "-").replace("=", "-") or "overview")
        _fits(phone, path)
        _nav_in_view(phone, path)
        assert TOKEN not in phone.content()
    # And the links take you there.
    for name, landing in zip(NAV, ("**/console/connections", "**/console/actions", "**/console/recipes", "**/console/jobs")):
        phone.locator("header nav a", has_text=name).click()
        phone.wait_for_url(landing)
        _fits(phone, landing)


def test_a_wide_table_scrolls_inside_its_own_box(phone, console, filled):
    phone.goto("/console/jobs")
    table = phone.locator("table.list")
    inside = table.evaluate("t => [t.scrollWidth, t.clientWidth, getComputedStyle(t).overflowX]")
    assert inside[1] <= PHONE["width"] and inside[2] in ("auto", "scroll")
    _fits(phone, "/console/jobs")


def _signature_fields(tab) -> tuple[bool, bool]:
    """Whether the shared secret and the HMAC header fields are visible."""
    return tab.locator("input[name=signature_secret]").is_visible(), tab.locator("input[name=signature_header]").is_visible()


def test_signature_fields_appear_once_a_check_is_chosen(phone, console):
    phone.goto("/console/recipes/new?trigger=webhook")
    assert _signature_fields(phone) == (False, False)
    assert phone.locator("input[name=signature_secret]").is_disabled()  # hidden and not sent
    phone.select_option("select[name=signature_scheme]", "hmac-sha256")
    assert _signature_fields(phone) == (True, True)
    phone.select_option("select[name=signature_scheme]", "standard-webhooks")
    assert _signature_fields(phone) == (True, False)
    phone.select_option("select[name=signature_scheme]", "")
    assert _signature_fields(phone) == (False, False)


def test_signature_fields_follow_the_check_without_the_script(console_tab):
    with console_tab(viewport=PHONE, java_script_enabled=False) as tab:
        tab.goto("/console/recipes/new?trigger=webhook")
        assert _signature_fields(tab) == (False, False)
        tab.select_option("select[name=signature_scheme]", "hmac-sha256")
        assert _signature_fields(tab) == (True, True)
        tab.select_option("select[name=signature_scheme]", "standard-webhooks")
        assert _signature_fields(tab) == (True, False)
        # A secret typed, then the check set back to none: the server says so.
        tab.fill("input[name=name]", "no-check")
        tab.select_option("select[name=signature_scheme]", "hmac-sha256")
        tab.fill("input[name=signature_secret]", "whk-Secret-0a7c")
        tab.select_option("select[name=signature_scheme]", "")
        tab.click("#trigger-form button.primary")
        assert "the signature check is 'none'" in tab.locator(".error-box").inner_text()
