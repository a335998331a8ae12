"""Apply in the console's wizard says when plugwire serve's network policy would refuse
the action's host (issue 14, item 10): proven against an API on 127.0.0.1, the action
is saved, and the page after the save carries the warning with its fix."""

from __future__ import annotations

import re

import pytest

from plugwire.core.storage.served import record_served
from plugwire.core.wizard.actions import Actions
from test_web_flows import _form, _start, console  # noqa: F401 (console is a fixture)


def _apply(browser, api) -> str:
    """Send the wizard's create-venue request, apply it, and return the page after the save."""
    where = _start(browser, api)
    sent = browser.post(where, {**_form(browser.get(where).text), "do": "send"})
    assert "200 OK" in sent.text
    applied = browser.post(where, {"do": "apply"})
    assert applied.status_code == 303
    return browser.get(applied.headers["location"]).text


def _flashes(page: str) -> dict[str, str]:
    return {kind: " ".join(re.sub(r"<[^>]+>", " ", text).split())
            for kind, text in re.findall(r'<div class="flash (\w+)" role="status">(.*?)</div>', page, re.S)}


def test_a_host_the_recorded_policy_refuses_is_saved_with_a_warning(console, home):  # noqa: F811
    state, browser, api = console
    record_served(home, base_url="http://127.0.0.1:8700", network_policy=True, allow=[])
    flashes = _flashes(_apply(browser, api))
    assert "Action create_venue saved" in flashes["ok"]
    warning = flashes["warn"]
    assert "network policy would refuse this action: 127.0.0.1" in warning
    assert "plugwire serve --allow-host 127.0.0.1" in warning
    assert Actions(home).get("create_venue").sample_response.status == 200


@pytest.mark.parametrize("policy", [{"network_policy": False}, {"network_policy": True, "allow": ["127.0.0.1"]}],
                         ids=["policy-off", "host-allowed"])
def test_no_warning_when_the_server_would_send_it(console, home, policy):  # noqa: F811
    state, browser, api = console
    record_served(home, base_url="http://127.0.0.1:8700", **policy)
    flashes = _flashes(_apply(browser, api))
    assert "Action create_venue saved" in flashes["ok"] and "warn" not in flashes
