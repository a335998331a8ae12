"""In a real browser: the seed's venue request through the wizard. The knowledge
base suggests Eventbrite's create-venue body (its reason shown); USA gets a 400
with the country field highlighted in the JSON editor; Apply is refused; US gets
a 200; Apply saves the action with its datatree."""

from __future__ import annotations

import pytest

TOKEN = "evb-console-token-61d0c2"


@pytest.fixture(scope="module")
def eventbrite(console):
    # The connection is made through the JSON API: its browser form has its own test.
    created = console.api("POST", "/api/connections", json={
        "name": "eventbrite", "auth_type": "header", "provider": "eventbrite",
        "settings": {"headers": {"Authorization": f"Bearer {TOKEN}"}},
    })
    assert created.status_code == 201, created.text
    return "eventbrite"


def _body(page) -> str:
    return page.input_value("#body")


def test_seed_venue_request_suggest_fail_point_fix_apply(page, console, venue_api, eventbrite, shot):
    url = f"{venue_api.url}/v3/organizations/1234567/venues/"
    page.goto("/console/actions")
    page.click("text=New request")
    page.fill("input[name=name]", "create_venue")
    page.select_option("select[name=connection]", "eventbrite")
    page.select_option("select[name=method]", "POST")
    page.fill("input[name=url]", url)
    shot(page, "step1")
    page.click("#step1 button.primary")

    # Step 2: the suggestion with its reason pre-fills the body.
    reason = page.locator("#suggestion .reason").inner_text()
    assert "Eventbrite" in reason and "/v3/organizations/{organization_id}/venues/" in reason
    assert '"country": "US"' in _body(page)
    shot(page, "step2-suggested")

    # The JSON editor says where a broken body breaks, with line and column.
    good = _body(page)
    page.fill("#body", good.replace('"city": "San Francisco",', '"city": "San Francisco"'))
    status = page.locator("#json-status")
    assert "line" in status.inner_text() and "column" in status.inner_text()
    assert page.locator(".editor.invalid").count() == 1
    shot(page, "step2-json-error")

    page.fill("#body", good.replace('"country": "US"', '"country": "USA"'))
    assert status.inner_text() == "Valid JSON."
    page.click("#send")
    response = page.locator("#response")
    assert "400" in response.locator(".http").first.inner_text()
    assert "country must be a two-letter ISO 3166-1 code" in response.inner_text()  # the API's own message, whole
    assert "content-type" in response.inner_text().lower()  # and its headers
    violation = page.locator("#violations li[data-path='venue.address.country']", has_text="does not match")
    assert 'venue.address.country: "USA" does not match ^[A-Z]{2}$' in violation.inner_text()
    # The offending field is highlighted on its line of the body.
    lines = _body(page).split("\n")
    country_line = next(n for n, line in enumerate(lines, 1) if '"country"' in line)
    assert page.locator(f".editor .bar[data-line='{country_line}']").count() == 1
    assert page.locator(".editor .gutter .hl").inner_text().strip() == str(country_line)
    shot(page, "step2-400-highlighted")

    # Apply is refused after a 4xx.
    page.click("#review")
    assert page.locator("#apply").is_disabled()
    assert "400" in page.locator("#apply-refused").inner_text()
    shot(page, "step3-refused")
    page.click("button[value=back]")

    page.fill("#body", _body(page).replace('"country": "USA"', '"country": "US"'))
    page.click("#send")
    assert "200" in page.locator("#response .http").first.inner_text()
    assert page.locator("#violations").count() == 0 and page.locator(".editor .bar").count() == 0
    assert '"localized_address_display"' in page.locator("#response").inner_text()  # the pretty body
    shot(page, "step2-200")

    page.click("#review")
    assert page.locator("#apply-ready").count() == 1
    assert "localized_address_display" in page.locator("ul.tree").inner_text()
    shot(page, "step3-ready")
    page.click("#apply")
    page.wait_for_url("**/console/actions/create_venue")
    assert "saved with its proven request and response" in page.locator(".flash").inner_text()
    assert TOKEN not in page.content()  # the connection's credential is masked in the saved sample
    shot(page, "action")

    saved = console.api("GET", "/api/actions/create_venue").json()
    assert saved["body"]["venue"]["address"]["country"] == "US" and saved["sample_response"]["status"] == 200
    assert "id" in [f["name"] for f in saved["datatree"]["root"]["children"]]
