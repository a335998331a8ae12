"""In a real browser: link a basic-auth account and test it; link an OAuth2 account
(pre-filled from the catalogue) and connect it through the provider's authorize page."""

from __future__ import annotations

import pytest

from api_server import make_api
from oauth_provider import OAuthProvider
from plugwire.core.testing.server import ServerThread

USER, PASSWORD = "alice", "basic-Pass-8d2k1q"
CLIENT_SECRET = "console-client-Secret-72hd"


@pytest.fixture(scope="module")
def api():
    server = ServerThread(make_api(basic=(USER, PASSWORD)).app).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def provider():
    # authlib's server refuses plain http unless told otherwise; this is loopback only.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
        p = OAuthProvider()
        server = ServerThread(p.app).start()
        p.url = server.url
        yield p
        server.stop()


def test_basic_auth_connection_is_created_tested_and_keeps_its_secret(page, console, api, shot):
    page.goto("/console/connections")
    shot(page, "list-empty")
    page.click("text=Link an account")
    page.select_option("select[name=auth_type]", "basic")  # the form reloads with basic's fields
    page.wait_for_selector("#auth-fields input[name='settings.password']")
    assert page.get_attribute("input[name='settings.password']", "type") == "password"
    page.fill(".connection-form input[name=name]", "jira")
    page.fill("input[name='settings.username']", USER)
    page.fill("input[name='settings.password']", PASSWORD)
    page.fill("input[name=test_url]", f"{api.url}/basic/me")
    shot(page, "link-basic")
    page.click("text=Save connection")
    page.wait_for_url("**/console/connections/jira")
    assert PASSWORD not in page.content()
    page.click("#test button.primary")
    result = page.locator("#test-result")
    assert "Success" in result.inner_text() and "200" in result.inner_text()
    shot(page, "tested-ok")

    # The edit form never echoes the secret: it says it keeps the current one.
    page.click("a:has-text('Edit')")
    password = page.locator("input[name='settings.password']")
    assert password.input_value() == "" and password.get_attribute("placeholder") == "(keep current)"
    assert PASSWORD not in page.content()
    shot(page, "edit-keep-current")
    page.fill("input[name=description]", "Jira Cloud")
    page.click("text=Save changes")
    page.wait_for_url("**/console/connections/jira")
    page.click("#test button.primary")
    assert "Success" in page.locator("#test-result").inner_text()  # the kept password still works

    # A wrong password is reported plainly, with the API's own message.
    page.click("a:has-text('Edit')")
    page.fill("input[name='settings.password']", "wrong-password")
    page.click("text=Save changes")
    page.click("#test button.primary")
    text = page.locator("#test-result").inner_text()
    assert "Credentials rejected" in text and "401" in text and "Bad credentials" in text
    shot(page, "tested-rejected")

    page.goto("/console/connections")
    assert page.locator("tr[data-connection=jira]").count() == 1
    shot(page, "list")


def test_oauth2_connection_prefilled_from_the_catalogue_connects_through_the_provider(page, console, provider, shot):
    provider.add_client("console-app", CLIENT_SECRET, [f"{console.url}/oauth/callback"])
    page.goto("/console/connections/new")
    page.select_option("select[name=provider]", "eventbrite")  # a known API: its auth hints pre-fill the form
    page.wait_for_selector("#catalogue-hint")
    assert page.locator("select[name=auth_type]").input_value() == "oauth2"
    assert page.input_value("input[name='settings.authorize_url']").startswith("https://www.eventbrite.com/oauth/authorize")
    assert page.input_value("input[name='settings.token_url']") == "https://www.eventbrite.com/oauth/token"
    assert page.input_value("input[name='settings.redirect_uri']") == f"{console.url}/oauth/callback"
    shot(page, "link-oauth2-prefilled")

    # This test's provider stands in for Eventbrite's.
    page.fill(".connection-form input[name=name]", "acme")
    page.fill("input[name='settings.authorize_url']", f"{provider.url}/authorize")
    page.fill("input[name='settings.token_url']", f"{provider.url}/token")
    page.fill("input[name='settings.client_id']", "console-app")
    page.fill("input[name='settings.client_secret']", CLIENT_SECRET)
    page.check("input[name='settings.use_pkce']")
    page.fill("input[name=test_url]", f"{provider.url}/api/me")
    page.click("text=Save connection")
    page.wait_for_url("**/console/connections/acme")
    assert "not connected" in page.locator("#auth-status").inner_text()
    shot(page, "oauth2-not-connected")

    visited: list[str] = []
    page.context.on("request", lambda r: visited.append(r.url.split("?")[0]))
    with page.expect_popup():
        page.click("#connect")
    page.wait_for_selector("#auth-status .badge.succeeded")  # the console saw the token arrive
    # The browser went through the provider's authorize page and back to the server's callback.
    assert f"{provider.url}/authorize" in visited and f"{console.url}/oauth/callback" in visited
    assert "connected" in page.locator("#auth-status").inner_text()
    shot(page, "oauth2-connected")
    asked = provider.authorize_requests[-1]
    assert asked["redirect_uri"] == [f"{console.url}/oauth/callback"] and asked["code_challenge_method"] == ["S256"]

    page.click("#test button.primary")
    assert "Success" in page.locator("#test-result").inner_text()
    assert CLIENT_SECRET not in page.content()
