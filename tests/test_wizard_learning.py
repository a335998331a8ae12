"""The seed scenario with the real knowledge suggester, and learning: a configuration
proven by one wizard is suggested to the next, marked learned and proven, with no
secret and no user value in the user's catalogue."""

from __future__ import annotations

import pytest
import yaml

from plugwire.core.base.secrets import MASK
from plugwire.core.wizard.learning import path_template, strip_values
from plugwire.core.wizard.steps import ApplyRefused, Wizard
from venue_api import bearer_connection, serve

TOKEN = "evb-learn-token-0042"


@pytest.fixture
def api(live_server):
    return serve(live_server, token=TOKEN)


@pytest.fixture
def evb(connections):
    return bearer_connection(connections, TOKEN)


def _learned_file(home):
    return home.path / "catalogue" / "learned.yaml"


def test_seed_scenario_with_the_knowledge_base_then_learned(home, connections, api, evb):
    url = f"{api.url}/v3/organizations/1234567/venues/"
    wiz = Wizard(home, connections=connections)
    wiz.start("POST", url, "evb")
    best = wiz.suggestion
    assert best is not None and best.suggester == "knowledge" and best.provider == "eventbrite"
    assert best.endpoint == "POST /v3/organizations/{organization_id}/venues/"
    assert "Eventbrite" in best.reason and not best.learned
    assert any(c.path == "venue.address.country" and c.pattern for c in best.constraints)

    wiz.set("venue.address.country", "USA")
    failed = wiz.send()
    assert failed.exchange.response.status == 400
    assert "two-letter ISO 3166-1 code" in failed.exchange.api_message
    assert "venue.address.country" in {v.path for v in failed.violations}
    with pytest.raises(ApplyRefused):
        wiz.apply("Create venue")

    wiz.set("venue.address.country", "US")
    wiz.set("venue.name", "Harbour Room")
    assert wiz.send().exchange.response.status == 200
    result = wiz.apply("Create venue")
    assert result.action.sample_response.body["name"] == "Harbour Room"
    assert result.learned["learned"] is True
    assert result.learned["path_template"] == "/v3/organizations/{organization_id}/venues/"
    assert result.learned["provider"] == "eventbrite"

    text = _learned_file(home).read_text()
    # The user's own values are gone; the catalogue's public example values stand in for them.
    assert TOKEN not in text and "Harbour Room" not in text and "1234567" not in text

    again = Wizard(home, connections=connections)
    again.start("POST", f"{api.url}/v3/organizations/7654321/venues/", "evb")
    top = again.suggestion
    assert top.learned and top.proven
    assert top.endpoint == "POST /v3/organizations/{organization_id}/venues/"
    assert again.request.body_format == "json"
    assert again.request.body == {
        "venue": {
            "name": "Example Hall",
            "address": {"address_1": "1 Main Street", "city": "San Francisco", "region": "CA", "postal_code": "94105", "country": "US"},
        }
    }


def test_a_configuration_learned_on_an_unknown_api_is_suggested_next_time(home, connections, api, evb):
    wiz = Wizard(home, connections=connections)
    wiz.start("POST", f"{api.url}/api/v2/rooms/8812/bookings?notify=yes", "evb")
    wiz.blank()
    wiz.edit(
        headers={"X-Client": "plugwire-tests", "X-Api-Key": "typed-in-key-123"},
        body={"guest": {"email": "ana@example.com", "name": "Ana", "party": 3}, "nights": [{"date": "2025-05-01", "rate": 120.5}], "vip": True},
        body_format="json",
    )
    attempt = wiz.send()
    assert attempt.exchange.response.status == 201
    assert attempt.exchange.request.headers["X-Api-Key"] == MASK
    result = wiz.apply("Book room")
    assert result.learned["path_template"] == "/api/v2/rooms/{room_id}/bookings"
    assert result.learned["provider"] is None  # no catalogue provider: named after the host
    learned = yaml.safe_load(_learned_file(home).read_text().split("---", 1)[1])
    endpoint = learned["endpoints"][0]
    assert endpoint["request"]["headers"] == {"X-Client": "plugwire-tests"}
    # the user's value is stripped, and an empty `notify=` is not learned (it would be sent empty)
    assert endpoint["request"]["query"] == {}
    assert endpoint["request"]["body"] == {"guest": {"email": "", "name": "", "party": 0}, "nights": [{"date": "", "rate": 0.0}], "vip": False}
    assert "typed-in-key-123" not in _learned_file(home).read_text() and TOKEN not in _learned_file(home).read_text()
    assert "typed-in-key-123" not in home.store.path.read_text()  # sealed in the saved action

    nxt = Wizard(home, connections=connections)
    nxt.start("POST", f"{api.url}/api/v2/rooms/9001/bookings", "evb")
    top = nxt.suggestion
    assert top is not None and top.learned and top.proven
    assert top.endpoint == "POST /api/v2/rooms/{room_id}/bookings"
    assert nxt.request.headers == {"X-Client": "plugwire-tests"}
    assert nxt.request.body["guest"] == {"email": "", "name": "", "party": 0}
    assert nxt.request.query == {}
    # an unnamed host is named plainly, not "Host 127.0.0.1 is listed for 127.0.0.1"
    netloc = api.url.split("://", 1)[1].rstrip("/")
    assert top.reason.startswith(f"Learned from your earlier request to {netloc}; the path fits the learned template")
    assert "is listed for" not in top.reason


def test_curl_import_in_the_wizard(home, connections, api, evb):
    wiz = Wizard(home, connections=connections)
    command = f"""curl -X POST '{api.url}/api/v2/rooms/12/bookings' -H 'X-Client: docs' -u 'someone:pw-123456' --json '{{"guest": {{"email": "b@example.com"}}}}'"""
    wiz.import_curl(command, "evb")
    assert wiz.step == 2 and wiz.request.body == {"guest": {"email": "b@example.com"}}
    assert "Authorization" not in wiz.request.headers  # the connection authenticates
    assert any("credentials were dropped" in n for n in wiz.notes)
    assert wiz.send().exchange.response.status == 201
    public = Wizard(home, connections=connections)
    public.import_curl(command)
    assert public.request.headers["Authorization"].startswith("Basic ")


def test_path_templates_and_value_stripping():
    assert path_template("https://x.example.com/v3/organizations/123/venues/", "POST /v3/organizations/{organization_id}/venues/") == "/v3/organizations/{organization_id}/venues/"
    assert path_template("https://x.example.com/rest/api/2/project/10001/versions") == "/rest/api/2/project/{project_id}/versions"
    assert path_template("https://x.example.com/v1/customers/cus_NffrFeUfNV2Hib") == "/v1/customers/{customer_id}"
    assert path_template("https://x.example.com/categories/550e8400-e29b-41d4-a716-446655440000/items/77") == "/categories/{category_id}/items/{item_id}"
    # a suggestion template that does not fit the URL is not used
    assert path_template("https://x.example.com/things/1", "GET /b/{id}") == "/things/{thing_id}"
    assert path_template("https://x.example.com/rest/api/2/project") == "/rest/api/2/project"
    assert strip_values({"a": [1, {"b": "x"}], "c": None, "d": [{"e": 1}, {"f": True}]}) == {"a": [0], "c": None, "d": [{"e": 0, "f": False}]}
    # A catalogue example of the same type stands in for the user's value; another type does not.
    example = {"name": "Example Hall", "size": "big", "tags": [{"t": "demo"}]}
    assert strip_values({"name": "Mine", "size": 3, "tags": [{"t": "x"}, {"t": "y"}], "extra": "z"}, example=example) == {
        "name": "Example Hall", "size": 0, "tags": [{"t": "demo"}], "extra": ""
    }
