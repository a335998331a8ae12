"""In a real browser: a server listening beyond loopback (``--host 0.0.0.0``) asks
for the API token before any page, and forgets the login on Log out."""

from __future__ import annotations

import httpx2
import pytest

from e2e.conftest import start_console, stop_console


@pytest.fixture(scope="module")
def console(tmp_path_factory, browser):
    server = start_console(tmp_path_factory.mktemp("console") / "home", "--host", "0.0.0.0")
    yield server
    stop_console(server)


def test_login_with_the_api_token_then_logout(page, console, shot):
    page.goto("/console/connections")
    assert "/console/login" in page.url
    shot(page, "login")
    page.fill("input[name=token]", "not-the-token")
    page.click("form button.primary")
    assert "not this server's API token" in page.locator(".error-box").inner_text()

    page.fill("input[name=token]", console.token)
    page.click("form button.primary")
    page.wait_for_url("**/console/connections")
    assert page.locator("h1").inner_text().startswith("Connections")
    page.click("header .logout button")
    page.wait_for_url("**/console/login")
    page.goto("/console/jobs")
    assert "/console/login" in page.url

    # The JSON API takes the token, never the console's cookie.
    assert httpx2.get(f"{console.url}/api/connections").status_code == 401
    assert console.api("GET", "/api/connections").status_code == 200
