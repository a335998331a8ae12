"""In a real browser: a webhook recipe whose step creates a venue from datapills
picked out of the trigger's datatree; the webhook URL copied; the recipe started;
webhooks fired; the jobs' input and output tabs read (and a failed job's error, then
the failed job run again with its event)."""

from __future__ import annotations

import httpx2
import pytest

from plugwire.core.wizard.datatree import infer

TOKEN = "evb-recipe-token-0b7e55"
SAMPLE_VENUE = {"id": "52041000", "name": "Example Hall", "resource_uri": "https://www.eventbriteapi.com/v3/venues/52041000/",
                "address": {"city": "San Francisco", "country": "US", "localized_address_display": "San Francisco"}}


@pytest.fixture(scope="module")
def create_venue(console, venue_api):
    """A connection and a create-venue action, made through the JSON API and proven
    there against the venue API (?prove=true); the wizard has its own browser test."""
    made = console.api("POST", "/api/connections", json={
        "name": "eventbrite", "auth_type": "header", "settings": {"headers": {"Authorization": f"Bearer {TOKEN}"}},
    })
    assert made.status_code == 201, made.text
    made = console.api("POST", "/api/actions", params={"prove": "true"}, json={
        "name": "create_venue", "connection": "eventbrite", "method": "POST",
        "url": f"{venue_api.url}/v3/organizations/1234567/venues/", "body_format": "json",
        "body": {"venue": {"name": "Example Hall", "address": {"city": "San Francisco", "country": "US"}}},
    })
    assert made.status_code == 201 and made.json()["proven"], made.text
    assert set(infer(SAMPLE_VENUE).paths()) <= set(infer(made.json()["sample_response"]["body"]).paths())
    return "create_venue"


def _pick(page, field: str, pill_path: str) -> None:
    """Click the body field, then the trigger's pill: the pill takes the value's place."""
    page.click(f"input[data-path='{field}']")
    page.locator("#pills details").first.locator(f"button.pill:text-is('{pill_path}')").click()


def test_webhook_recipe_with_datapills_runs_and_its_job_shows_input_and_output(page, console, create_venue, shot):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/console/recipes")
    page.click("text=New recipe")
    page.fill("input[name=name]", "new-venue")
    page.fill("textarea[name=sample_payload]", '{"venue": {"name": "Harbour Room", "city": "Lisbon", "country": "PT"}}')
    shot(page, "new")
    page.click("#trigger-form button.primary")
    page.wait_for_url("**/console/recipes/new-venue")

    page.select_option("#add-step select[name=action]", "create_venue")
    page.click("#add-step button")
    page.wait_for_selector("#pills button.pill")
    _pick(page, "venue.name", "payload.venue.name")
    _pick(page, "venue.address.city", "payload.venue.city")
    _pick(page, "venue.address.country", "payload.venue.country")
    assert page.input_value("input[data-path='venue.name']") == "{{trigger.payload.venue.name}}"
    assert page.input_value("input[data-path='venue.address.country']") == "{{trigger.payload.venue.country}}"
    shot(page, "step-with-pills")
    page.click("#save-step")
    page.wait_for_url("**/console/recipes/new-venue")
    assert "{{trigger.payload.venue.name}}" in page.locator("#steps").inner_text()

    webhook_url = page.input_value("#webhook-url")
    assert webhook_url.startswith(f"{console.url}/hooks/")
    page.click("#copy-webhook")
    from playwright.sync_api import expect  # here: without playwright the e2e tests skip, not fail to import

    # the label changes once the clipboard write has resolved: wait for it, never read it at once
    expect(page.locator("#copy-webhook")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == webhook_url
    assert httpx2.post(webhook_url, json={}).status_code == 409  # stopped: refused
    page.click("#start")
    assert page.locator("h1 .badge").inner_text() == "started"
    shot(page, "recipe-started")

    sent = httpx2.post(webhook_url, json={"venue": {"name": "Harbour Room", "city": "Lisbon", "country": "PT"}})
    assert sent.status_code == 202
    job_id = sent.headers["x-plugwire-job"]
    bad = httpx2.post(webhook_url, json={"venue": {"name": "Dock 9", "city": "Oslo", "country": "NOR"}})
    bad_id = bad.headers["x-plugwire-job"]

    page.click("header nav >> text=Jobs")
    page.wait_for_selector(f"tr[data-job='{bad_id}'] .badge.failed", timeout=15_000)  # the list refreshes itself
    page.wait_for_selector(f"tr[data-job='{job_id}'] .badge.succeeded")
    shot(page, "jobs")

    page.click(f"a:text-is('{job_id}')")
    step = page.locator(".job-step[data-step='create_venue']")
    inputs = step.locator("[data-panel=input]")
    assert inputs.is_visible() and not step.locator("[data-panel=output]").is_visible()
    text = inputs.inner_text()
    assert '"name": "Harbour Room"' in text and '"country": "PT"' in text  # what the pills put in the request
    assert "Bearer ••••" in text and TOKEN not in page.content()  # the credential is masked
    shot(page, "job-input")
    step.locator("button[data-tab=output]").click()
    output = step.locator("[data-panel=output]").inner_text()
    assert "200 OK" in output and '"localized_address_display": "Lisbon"' in output
    shot(page, "job-output")

    page.goto(f"/console/jobs/{bad_id}")
    assert "failed" in page.locator("#job-error").inner_text()
    step = page.locator(".job-step[data-step='create_venue']")
    step.locator("button[data-tab=output]").click()
    error = step.locator("[data-panel=output]").inner_text()
    assert "400 Bad Request" in error and "country must be a two-letter ISO 3166-1 code" in error
    assert "content-type" in error.lower()  # the error's headers, with its status and body
    shot(page, "job-error")

    # Run again: the same event, as a new job that names the one it reruns (and fails the same way)
    page.click("#rerun")
    page.wait_for_selector("#rerun-of")
    assert page.locator("#rerun-of").inner_text() == bad_id
    rerun_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    assert rerun_id != bad_id and rerun_id.startswith("j_")
    page.wait_for_selector("#job-error", timeout=15_000)  # the page refreshes itself until the job ran
    assert '"country": "NOR"' in page.locator("details:has(summary:text-is('Trigger event'))").text_content()
    step = page.locator(".job-step[data-step='create_venue']")
    step.locator("button[data-tab=output]").click()
    assert "country must be a two-letter ISO 3166-1 code" in step.locator("[data-panel=output]").inner_text()
    shot(page, "job-rerun")
