"""The request wizard end to end against a real local API: the seed's venue scenario,
Apply refusals, a basic-auth array endpoint, and secrets kept out of the store."""

from __future__ import annotations

import pytest

from plugwire import hookimpl
from plugwire.core.base.errors import UserInputError
from plugwire.core.base.secrets import MASK
from plugwire.core.plugincore.suggesters import FieldConstraint, SampleRequest, Suggester, Suggestion
from plugwire.core.wizard.actions import Actions
from plugwire.core.wizard.steps import ApplyRefused, Wizard, WizardStateError
from venue_api import serve

TOKEN = "evb-token-7f3a91c2d4"
ENDPOINT = "POST /v3/organizations/{organization_id}/venues/"


class EventbriteVenues(Suggester):
    """An in-test suggester carrying Eventbrite's create-venue constraints."""

    name = "test_eventbrite_venues"

    def suggest(self, method, url, connection=None, *, limit=5):
        if method != "POST" or "/venues/" not in url:
            return []
        body = {"venue": {"name": "Example Hall", "address": {"address_1": "1 Main Street", "city": "San Francisco", "region": "CA", "postal_code": "94105", "country": "US"}}}
        return [
            Suggestion(
                suggester=self.name,
                score=0.93,
                reason="Matches Eventbrite 'Create a venue' (POST /v3/organizations/{organization_id}/venues/)",
                request=SampleRequest(method=method, url=url, headers={"Accept": "application/json"}, body=body, body_format="json"),
                provider="eventbrite",
                endpoint=ENDPOINT,
                constraints=[
                    FieldConstraint(path="venue.name", type="string", required=True),
                    FieldConstraint(
                        path="venue.address.country", type="string", required=True, pattern="^[A-Z]{2}$", min_length=2, max_length=2,
                        description="ISO 3166-1 alpha-2 country code, e.g. US",
                    ),
                ],
            ),
            Suggestion(
                suggester=self.name,
                score=0.4,
                reason="Eventbrite 'List venues by organization' on the same path",
                request=SampleRequest(method="GET", url=url),
                provider="eventbrite",
                endpoint="GET /v3/organizations/{organization_id}/venues/",
            ),
        ]


class _Plugin:
    @hookimpl
    def register_suggesters(self, register):
        register(EventbriteVenues())


@pytest.fixture
def venue_api(live_server):
    return serve(live_server, token=TOKEN, jira_token="jira-api-token-55")


@pytest.fixture
def eventbrite(connections):
    return connections.create({"name": "eventbrite", "auth_type": "header", "settings": {"headers": {"Authorization": f"Bearer {TOKEN}"}}})


def test_seed_scenario_suggest_fail_fix_apply(home, connections, register_plugin, venue_api, eventbrite):
    register_plugin(_Plugin(), name="test-eventbrite-suggester")
    url = f"{venue_api.url}/v3/organizations/1234567/venues/"
    wiz = Wizard(home, connections=connections)

    result = wiz.start("post", url, "eventbrite")
    assert wiz.step == 2
    assert result.best.reason.startswith("Matches Eventbrite 'Create a venue'")
    assert wiz.request.body["venue"]["address"]["country"] == "US"  # pre-filled from the best suggestion
    assert wiz.request.body_format == "json"

    wiz.set("venue.address.country", "USA")
    first = wiz.send()
    ex = first.exchange
    assert not ex.ok and ex.outcome == "http_error"
    assert ex.response.status == 400
    assert ex.response.body == {"error": "INVALID", "error_description": "venue.address.country: country must be a two-letter ISO 3166-1 code", "status_code": 400}
    assert '"error": "INVALID"' in ex.response.pretty and "\n  " in ex.response.pretty  # pretty-printed in full
    assert ex.api_message == "venue.address.country: country must be a two-letter ISO 3166-1 code"
    assert ex.response.headers["Content-Type"] == "application/json"
    assert ex.response.size > 0 and ex.response.elapsed_ms >= 0
    pointed = {v.path: v for v in first.violations}
    assert set(pointed) == {"venue.address.country"}
    assert {v.rule for v in first.violations} == {"pattern", "max_length"}
    assert any('"USA" does not match ^[A-Z]{2}$' in v.message for v in first.violations)
    # the connection's token went out but is not in what the wizard kept
    assert venue_api.received[-1]["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert ex.request.headers["Authorization"] == f"Bearer {MASK}"

    with pytest.raises(ApplyRefused) as refused:
        wiz.apply("Create venue")
    assert "answered 400" in str(refused.value) and "two-letter ISO 3166-1 code" in str(refused.value)

    wiz.set("venue.address.country", "US")
    second = wiz.send()
    assert second.exchange.ok and second.exchange.response.status == 200
    assert second.violations == []
    assert [a.number for a in wiz.history] == [1, 2]
    assert wiz.history[0].request.body["venue"]["address"]["country"] == "USA"

    review = wiz.review()
    assert review.can_apply and review.reason is None and wiz.step == 3
    assert review.suggestion["endpoint"] == ENDPOINT
    assert {"id", "name", "address.country", "address.localized_address_display"} <= set(review.datatree.paths())

    applied = wiz.apply("Create venue", learn=False)
    saved = Actions(home).get("Create venue")
    assert saved == applied.action
    assert saved.connection == "eventbrite" and saved.method == "POST" and saved.url == url
    assert saved.body["venue"]["address"]["country"] == "US"
    assert saved.sample_request.body["venue"]["address"]["country"] == "US"
    assert saved.sample_request.headers["Authorization"] == f"Bearer {MASK}"
    assert saved.sample_response.status == 200 and saved.sample_response.body["name"] == "Example Hall"
    assert saved.endpoint == ENDPOINT and saved.provider == "eventbrite"
    tree = saved.datatree
    assert tree.find("address").type == "object"
    assert tree.find("address.latitude").type == "string"
    assert tree.find("capacity").type == "null"
    assert TOKEN not in home.store.path.read_text()


def test_apply_refused_before_any_send(home, connections, venue_api):
    wiz = Wizard(home, connections=connections)
    wiz.start("GET", f"{venue_api.url}/rest/api/2/project")
    with pytest.raises(ApplyRefused) as refused:
        wiz.apply("Projects")
    assert "never sent" in str(refused.value)
    review = wiz.review()
    assert not review.can_apply and "never sent" in review.reason
    assert Actions(home).list() == []


def test_apply_refused_after_failed_send_and_after_an_edit(home, connections, venue_api):
    wiz = Wizard(home, connections=connections)
    wiz.start("GET", f"{venue_api.url}/status/503")
    attempt = wiz.send()
    assert attempt.exchange.response.status == 503 and attempt.exchange.outcome == "http_error"
    with pytest.raises(ApplyRefused, match=r"answered 503 Service Unavailable with the message: You asked for 503"):
        wiz.apply("Broken")
    # a request that worked but was edited since is not the request that was proven
    wiz.edit(url=f"{venue_api.url}/xml/venues")
    assert wiz.send().exchange.ok
    wiz.set("headers.Accept", "application/xml")
    with pytest.raises(ApplyRefused, match="changed after attempt #2"):
        wiz.apply("Broken")
    assert Actions(home).list() == []


def test_network_failures_are_outcomes(home, connections):
    from conftest import free_port

    wiz = Wizard(home, connections=connections)
    wiz.start("GET", f"http://127.0.0.1:{free_port()}/nothing")
    attempt = wiz.send()
    assert attempt.exchange.outcome == "connection_refused" and attempt.exchange.response is None
    assert "refused" in attempt.exchange.message
    with pytest.raises(ApplyRefused, match="failed before an answer came back"):
        wiz.apply("Nothing")


def test_timeouts_and_dns_failures_are_outcomes(home, connections, venue_api):
    wiz = Wizard(home, connections=connections)
    wiz.start("GET", f"{venue_api.url}/slow?seconds=1")
    wiz.timeout = 0.2
    attempt = wiz.send()
    assert attempt.exchange.outcome == "timeout" and attempt.exchange.response is None
    assert "timeout" in attempt.exchange.message
    dns = Wizard(home, connections=connections)
    dns.start("GET", "http://venues.plugwire-test.invalid/v3/")
    assert dns.send().exchange.outcome == "dns_error"
    assert [a.exchange.outcome for a in wiz.history + dns.history] == ["timeout", "dns_error"]


def test_jira_projects_through_basic_auth_give_a_datatree(home, connections, venue_api):
    connections.create({"name": "jira", "auth_type": "basic", "settings": {"username": "jira@example.com", "password": "jira-api-token-55"}})
    wiz = Wizard(home, connections=connections)
    wiz.start("GET", f"{venue_api.url}/rest/api/2/project", "jira")
    attempt = wiz.send()
    assert attempt.exchange.ok, attempt.exchange.message
    assert attempt.exchange.request.headers["Authorization"] == f"Basic {MASK}"
    action = wiz.apply("List projects", learn=False).action
    tree = action.datatree
    assert tree.root.type == "array" and tree.root.item.type == "object"
    assert tree.find("[].key").type == "string"
    assert tree.find("[].simplified").type == "boolean"
    assert tree.find("[].avatarUrls.48x48").type == "string"
    category = tree.find("[].projectCategory")
    assert category.type == "object" and category.optional  # only one project has it
    assert tree.find("[].projectCategory.name").type == "string"
    assert "jira-api-token-55" not in home.store.path.read_text()


def test_wrong_credentials_show_the_api_answer(home, connections, venue_api):
    connections.create({"name": "jira-bad", "auth_type": "basic", "settings": {"username": "jira@example.com", "password": "not-the-token"}})
    wiz = Wizard(home, connections=connections)
    wiz.start("GET", f"{venue_api.url}/rest/api/2/project", "jira-bad")
    ex = wiz.send().exchange
    assert ex.outcome == "credentials_rejected" and ex.response.status == 401
    assert ex.api_message == "You are not authorized to perform this operation. Please log in."


def test_step_one_validates_method_and_url(home, connections):
    wiz = Wizard(home, connections=connections)
    with pytest.raises(UserInputError) as relative:
        wiz.start("GET", "/v3/users/me/")
    assert relative.value.field == "url" and "relative" in str(relative.value)
    with pytest.raises(UserInputError, match="spaces"):
        wiz.start("GET", "https://api.example.com/a b")
    with pytest.raises(UserInputError, match="scheme 'ftp'"):
        wiz.start("GET", "ftp://files.example.com/x")
    with pytest.raises(UserInputError) as method:
        wiz.start("FETCH", "https://api.example.com/x")
    assert method.value.field == "method"
    with pytest.raises(WizardStateError):
        wiz.send()
    assert wiz.step == 1


def test_pick_another_suggestion_drop_it_and_go_back(home, connections, register_plugin, venue_api):
    register_plugin(_Plugin(), name="test-eventbrite-suggester")
    wiz = Wizard(home, connections=connections)
    wiz.start("POST", f"{venue_api.url}/v3/organizations/42/venues/?expand=venue")
    ours = [i for i, s in enumerate(wiz.suggestions) if s.suggester == EventbriteVenues.name]
    assert len(ours) == 2 and wiz.chosen == 0 == ours[0]
    assert wiz.request.query == {"expand": "venue"}
    wiz.use_suggestion(ours[1])
    assert wiz.request.body is None and wiz.request.body_format == "none" and wiz.chosen == ours[1]
    wiz.blank()
    assert wiz.suggestion is None and wiz.request.headers == {} and wiz.request.query == {"expand": "venue"}
    count = len(wiz.suggestions)
    with pytest.raises(UserInputError, match=f"no suggestion {count + 1}"):
        wiz.use_suggestion(count)
    assert wiz.back() == 1
    wiz.start("POST", f"{venue_api.url}/v3/organizations/42/venues/")
    assert wiz.chosen == 0


def test_query_auth_and_typed_in_keys_are_masked_everywhere(home, connections, venue_api):
    connections.create({"name": "keyed", "auth_type": "query", "settings": {"params": {"api_key": "qk-5551234567"}}})
    wiz = Wizard(home, connections=connections)
    wiz.start("GET", f"{venue_api.url}/xml/venues?page=1", "keyed")
    wiz.set("query.access_token", "typed-token-99887766")
    attempt = wiz.send()
    assert attempt.exchange.ok
    assert ("api_key", "qk-5551234567") in venue_api.received[-1]["query"]  # it did go out
    url = attempt.exchange.request.url
    assert "page=1" in url and f"api_key={MASK}" in url and f"access_token={MASK}" in url
    public = str(attempt.public())
    assert "qk-5551234567" not in public and "typed-token-99887766" not in public
    action = wiz.apply("Keyed", learn=False).action
    assert action.query["access_token"] == "typed-token-99887766"  # kept to run the action...
    stored = home.store.path.read_text()
    assert "qk-5551234567" not in stored and "typed-token-99887766" not in stored  # ...sealed at rest
    assert "typed-token-99887766" not in str(action.public())
    assert Actions(home).get("Keyed").query == {"page": "1", "access_token": "typed-token-99887766"}


def test_policy_warning_names_a_host_serve_would_refuse_and_the_fix(home, connections, venue_api):
    from plugwire.core.storage.served import record_served
    from plugwire.core.wizard.apply import policy_warning

    url = f"{venue_api.url}/rest/api/2/project"
    wiz = Wizard(home, connections=connections)
    wiz.start("GET", url, None)
    assert wiz.send().exchange.response is not None  # proven from the CLI: no policy there
    # No server ever ran: serve starts with the policy on and nothing allowed.
    warning = policy_warning(home, url)
    assert warning is not None and "127.0.0.1 is a loopback address" in warning
    assert "plugwire serve --allow-host 127.0.0.1" in warning and "--no-network-policy" in warning
    for allow in (["127.0.0.1"], [f"127.0.0.1:{venue_api.url.rsplit(':', 1)[1]}"], ["127.0.0.0/8"]):
        record_served(home, base_url="http://127.0.0.1:8700", network_policy=True, allow=allow)
        assert policy_warning(home, url) is None, allow
    record_served(home, base_url="http://127.0.0.1:8700", network_policy=True, allow=["10.0.0.0/8"])
    assert policy_warning(home, url) is not None
    agent = connections.create({"name": "on-prem", "auth_type": "none", "private_network": True, "agent_url": "http://127.0.0.1:3128"})
    assert policy_warning(home, url, agent) is None  # exempt under serve too: it goes through the agent
    record_served(home, base_url="http://127.0.0.1:8700", network_policy=False)
    assert policy_warning(home, url) is None
    record_served(home, base_url="http://127.0.0.1:8700", network_policy=True)
    assert policy_warning(home, "https://93.184.216.34/v1/items") is None  # a public address
    assert policy_warning(home, "not a url") is None


def test_a_field_typed_as_text_keeps_its_type_and_connections_fit_by_host(home, connections, venue_api):
    from plugwire.core.base.errors import AlreadyExistsError

    connections.create({"name": "here", "auth_type": "none", "base_url": f"{venue_api.url}/v1"})
    connections.create({"name": "tested-here", "auth_type": "none", "test_url": f"{venue_api.url}/ping"})
    connections.create({"name": "elsewhere", "auth_type": "none", "base_url": "https://api.example.com"})
    wiz = Wizard(home, connections=connections)
    wiz.start("POST", f"{venue_api.url}/echo", None)
    assert [c.name for c in wiz.fitting_connections()] == ["here", "tested-here"]
    assert wiz.fitting_connections("https://API.example.com/x")[0].name == "elsewhere"
    wiz.edit(body={"owner": {"id": 1, "vip": False, "name": "Ana", "nick": None}, "items": [{"qty": 2.5}]}, body_format="json")
    for path, text in (("owner.id", "9"), ("owner.vip", "TRUE"), ("owner.name", "42"), ("owner.nick", "7"), ("items[0].qty", "3"), ("new", "1")):
        wiz.set_text(path, text)
    assert wiz.request.body == {"owner": {"id": 9, "vip": True, "name": "42", "nick": "7"}, "items": [{"qty": 3}], "new": "1"}
    wiz.set_text("query.page", "2")
    assert wiz.request.query == {"page": "2"}
    for path, text in (("owner.id", "nine"), ("owner.vip", "yes"), ("owner", "x"), ("items", "x")):
        with pytest.raises(UserInputError) as info:
            wiz.set_text(path, text)
        assert info.value.field == path and f"{path}:=" in info.value.fix
    assert wiz.send().exchange.ok
    actions = Actions(home)
    assert actions.check_free(" Echo ") == "Echo"
    wiz.apply("Echo", learn=False)
    for attempt in (lambda: actions.check_free("Echo"), lambda: actions.create(actions.get("Echo"))):
        with pytest.raises(AlreadyExistsError, match="^An action named 'Echo' already exists") as info:
            attempt()
        assert info.value.field == "name"
    with pytest.raises(UserInputError):
        actions.check_free("no/slash")
