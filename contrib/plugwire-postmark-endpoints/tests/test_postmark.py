"""The Postmark endpoint plugin: its catalogue alone, and `plugwire suggest` with the
plugin registered, where its suggester's answers merge with the knowledge base's."""

from __future__ import annotations

import json

import httpx2
import pytest

import plugwire_postmark_endpoints
from plugwire import testing

FILE = plugwire_postmark_endpoints.CATALOGUE / "postmark.yaml"
MESSAGE_ID = "0ac29aee-e1cd-480d-b08d-4f48548ff48d"


@pytest.fixture
def postmark(plugwire_plugin):
    return plugwire_plugin(plugwire_postmark_endpoints)


def suggest(plugwire_cli, method: str, url: str) -> list[dict]:
    code, out, err = plugwire_cli("suggest", method, url, "--json", "--limit", "10")
    assert code == 0, err
    return json.loads(out)["suggestions"]


def test_the_catalogue_file_is_valid_and_complete(plugwire_catalogue):
    assert plugwire_catalogue.problems(FILE) == []
    (provider,) = plugwire_catalogue.load(FILE)
    assert provider.provider == "postmark" and provider.hosts == ["api.postmarkapp.com"]
    assert provider.auth[0].headers == ["X-Postmark-Server-Token"]
    assert len(provider.endpoints) >= 30


def test_the_catalogue_alone_recommends_the_send_email_body(plugwire_catalogue):
    best = plugwire_catalogue.best(FILE, "POST", "https://api.postmarkapp.com/email")
    assert best.endpoint == "POST /email" and best.score >= 0.9
    assert {"From", "To", "Subject", "MessageStream"} <= set(best.request.body)
    typo = plugwire_catalogue.best(FILE, "GET", f"https://api.postmarkapp.com/messages/outbound/{MESSAGE_ID}/detail")
    assert typo.endpoint == "GET /messages/outbound/{message_id}/details"


def test_suggest_uses_the_plugin_catalogue_through_the_hook(postmark, plugwire_cli):
    (best, *_) = suggest(plugwire_cli, "POST", "https://api.postmarkapp.com/email/withTemplate")
    assert best["suggester"] == "knowledge" and best["provider"] == "postmark"
    assert best["request"]["body"]["TemplateAlias"] == "welcome"
    code, out, _ = plugwire_cli("knowledge", "list", "--json")
    (row,) = [p for p in json.loads(out)["providers"] if p["provider"] == "postmark"]
    assert row["sources"] == ["plugin"] and row["endpoints"] >= 30


def test_without_the_plugin_postmark_is_unknown(plugwire_cli):
    assert not [s for s in suggest(plugwire_cli, "POST", "https://api.postmarkapp.com/email") if s["provider"] == "postmark"]


def test_message_id_lookups_merge_with_the_knowledge_base(postmark, plugwire_cli):
    found = suggest(plugwire_cli, "GET", f"https://api.postmarkapp.com/messages/outbound/{MESSAGE_ID}/details")
    assert found[0]["suggester"] == "knowledge"
    assert found[0]["endpoint"] == "GET /messages/outbound/{message_id}/details"
    ours = {s["request"]["url"] for s in found if s["suggester"] == "postmark"}
    assert f"https://api.postmarkapp.com/messages/outbound/opens/{MESSAGE_ID}" in ours
    assert f"https://api.postmarkapp.com/messages/outbound/clicks/{MESSAGE_ID}" in ours
    assert f"https://api.postmarkapp.com/messages/outbound/{MESSAGE_ID}/details" not in ours  # the URL itself
    scores = [s["score"] for s in found]
    assert scores == sorted(scores, reverse=True)


def test_bounce_id_lookups(postmark, plugwire_cli):
    found = suggest(plugwire_cli, "GET", "https://api.postmarkapp.com/bounces/692560173")
    ours = {(s["request"]["method"], s["request"]["url"]) for s in found if s["suggester"] == "postmark"}
    assert ours == {("GET", "https://api.postmarkapp.com/bounces/692560173/dump"),
                    ("PUT", "https://api.postmarkapp.com/bounces/692560173/activate")}


def test_a_webhook_receiver_gets_the_payload_postmark_sends(postmark, plugwire_cli, plugwire_api):
    plugwire_api.route("POST", "/hooks/postmark/bounce", json={"received": True})
    url = f"{plugwire_api.url}/hooks/postmark/bounce"
    (best, *rest) = suggest(plugwire_cli, "POST", url)
    assert best["suggester"] == "postmark" and best["endpoint"] == "webhook Bounce" and best["score"] == 0.8
    assert best["request"]["body"]["RecordType"] == "Bounce" and "Bounce" in best["reason"]
    # The sample is a request one can send as it is: the receiver gets Postmark's shape.
    request = best["request"]
    with httpx2.Client() as client:
        client.post(request["url"], json=request["body"], headers=request["headers"])
    assert plugwire_api.requests[0].json()["Email"] == "john@example.com"
    generic = suggest(plugwire_cli, "POST", "https://example.com/webhooks/postmark")
    assert {s["endpoint"] for s in generic} >= {"webhook Delivery", "webhook Bounce", "webhook Open"}
    assert all(s["score"] < 0.5 for s in generic)


def test_unrelated_urls_get_nothing_from_the_plugin(postmark, plugwire_cli):
    assert not [s for s in suggest(plugwire_cli, "POST", "https://example.com/hooks/stripe") if s["suggester"] == "postmark"]
    (best, *_) = suggest(plugwire_cli, "POST", "https://www.eventbriteapi.com/v3/organizations/123/venues/")
    assert best["provider"] == "eventbrite"


def test_the_installed_entry_point_registers_both(plugwire_plugin):
    plugwire_plugin.from_distribution("plugwire-postmark-endpoints")
    assert testing.suggesters.owners()["postmark"] == "postmark"
    assert [path for path, owner in testing.catalogue_sources.owners().items() if owner == "postmark"]
