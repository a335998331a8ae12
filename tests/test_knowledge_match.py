"""Matching URLs to catalogue endpoints: normalisation, exact and fuzzy templates,
hosts (exact, wildcard, alias, fuzzy, unknown) and the cutoff."""

from __future__ import annotations

import pytest

from knowledge_helpers import TOY, kb_over, write_docs
from plugwire.core.base.errors import UserInputError
from plugwire.knowledge.base import KnowledgeBase
from plugwire.knowledge.normalize import ID, LIT, NUM, VER, normalize_url
from plugwire.knowledge.sources import Source
from plugwire.knowledge.suggestions import suggest_from_index


@pytest.fixture
def toy(tmp_path):
    folder = write_docs(tmp_path / "cat", toy=TOY)
    return kb_over(Source("contrib", folder)).catalogue().index


@pytest.fixture(scope="module")
def builtin():
    """The real built-in catalogue (the data files shipped in knowledge/catalogue/)."""
    return KnowledgeBase(sources=lambda: [Source("builtin", __import__("plugwire.knowledge.sources", fromlist=["x"]).BUILTIN_DIR)], use_cache=False).catalogue().index


def best(index, method, url):
    found = suggest_from_index(index, method, url, limit=5)
    return found[0] if found else None


def test_normalize_url_reduces_what_does_not_identify_an_endpoint():
    n = normalize_url("HTTPS://API.Example.COM:443/v3/Users/12345/orders/3f2b8c1e-9a4d-4c5e-8f00-1234567890ab/?x=1&y=a+b")
    assert (n.scheme, n.host, n.port) == ("https", "api.example.com", None)
    assert [s.kind for s in n.segments] == [VER, LIT, NUM, LIT, ID]
    assert n.trailing_slash and n.query == (("x", "1"), ("y", "a b"))
    assert n.normalized == "https://api.example.com/v3/users/{}/orders/{}"
    assert normalize_url("http://h.test:8080/a").origin == "http://h.test:8080"
    for text in ("C024BE91L", "cus_NffrFeUfNV2Hib", "a@b.com", "deadbeef12"):
        assert normalize_url(f"https://h.test/{text}").segments[0].kind == ID, text
    with pytest.raises(UserInputError) as exc:
        normalize_url("/relative/path")
    assert exc.value.field == "url"


def test_seed_eventbrite_create_venue(builtin):
    s = best(builtin, "POST", "https://www.eventbriteapi.com/v3/venues/")
    assert s.provider == "eventbrite"
    assert s.endpoint == "POST /v3/organizations/{organization_id}/venues/"
    assert set(s.request.body["venue"]) >= {"name", "address"}
    assert set(s.request.body["venue"]["address"]) >= {"address_1", "city", "region", "postal_code", "country"}
    assert s.request.body_format == "json" and s.request.content_type == "application/json"
    assert s.request.url == "https://www.eventbriteapi.com/v3/organizations/{organization_id}/venues/"
    assert "www.eventbriteapi.com" in s.reason and "{organization_id}" in s.reason
    assert any(c.path == "venue.address.country" for c in s.constraints)
    assert 0.5 <= s.score < 1.0


def test_exact_template_with_ids_filled_in(toy):
    s = best(toy, "GET", "https://api.toy.test/v2/widgets/981/parts/77.json")
    assert s.endpoint == "GET /v2/widgets/{widget_id}/parts/{part_id}.json"
    assert s.score == 1.0 and s.request.url == "https://api.toy.test/v2/widgets/981/parts/77.json"
    assert "fits" in s.reason and "api.toy.test is listed" in s.reason


def test_literal_segment_beats_placeholder(toy):
    found = suggest_from_index(toy, "GET", "https://api.toy.test/v2/users/me")
    assert [f.endpoint for f in found[:2]] == ["GET /v2/users/me", "GET /v2/users/{user_id}"]
    assert found[0].score > found[1].score


@pytest.mark.parametrize(
    "url",
    [
        "https://api.toy.test/v2/widgets/5",
        "https://api.toy.test/v2/widgets/5/",
        "https://API.TOY.TEST/v2/widgets/5",
        "https://api.toy.test:443/v2/widgets/5?expand=parts",
    ],
)
def test_trailing_slash_host_case_port_and_query_do_not_matter(toy, url):
    s = best(toy, "GET", url)
    assert s.endpoint == "GET /v2/widgets/{widget_id}" and s.score == 1.0
    assert s.request.url == "https://api.toy.test/v2/widgets/5"


def test_query_string_goes_into_the_sample_query(toy):
    s = best(toy, "GET", "https://api.toy.test/v2/widgets/5?expand=parts")
    assert s.request.query == {"expand": "parts"}


def test_typo_in_a_segment(toy):
    s = best(toy, "GET", "https://api.toy.test/v2/widgest/5")
    assert s.endpoint == "GET /v2/widgets/{widget_id}"
    assert 0.5 <= s.score < 1.0
    assert "'widgest' read as 'widgets'" in s.reason
    assert s.request.url == "https://api.toy.test/v2/widgets/5"


def test_version_drift(toy):
    s = best(toy, "GET", "https://api.toy.test/v3/widgets/5")
    assert s.endpoint == "GET /v2/widgets/{widget_id}"
    assert "version v3 in the URL, v2 in the template" in s.reason


def test_missing_parent_segment_prefers_the_collection(toy):
    s = best(toy, "POST", "https://api.toy.test/v2/widgets")
    assert s.endpoint == "POST /v2/accounts/{account_id}/widgets"
    assert s.request.body == {"widget": {"name": "Gear", "size": 3}}
    assert "{account_id} (Account id)" in s.reason


def test_method_mismatch_lowers_but_does_not_hide(toy):
    found = suggest_from_index(toy, "DELETE", "https://api.toy.test/v2/widgets/5")
    assert {f.endpoint for f in found} >= {"GET /v2/widgets/{widget_id}", "PATCH /v2/widgets/{widget_id}"}
    assert all(f.score < 1.0 and "not DELETE" in f.reason for f in found)


def test_wildcard_subdomain_host(toy, builtin):
    s = best(toy, "GET", "https://acme.toy.example/v2/widgets")
    assert s.endpoint == "GET /v2/widgets" and s.score == 1.0
    assert "fits {tenant}.toy.example (tenant=acme)" in s.reason
    jira = best(builtin, "GET", "https://acme.atlassian.net/rest/api/2/project")
    assert jira.provider == "jira" and jira.endpoint == "GET /rest/api/2/project" and jira.score == 1.0
    assert jira.request.url == "https://acme.atlassian.net/rest/api/2/project"


def test_host_alias_and_fuzzy_host(toy):
    alias = best(toy, "GET", "https://www.api.toy.test/v2/widgets")
    assert alias.provider == "toy" and "alias" in alias.reason and alias.score < 1.0
    domain = best(toy, "GET", "https://eu.toy.test/v2/widgets")
    assert domain.provider == "toy" and "same domain" in domain.reason
    fuzzy = best(toy, "GET", "https://api.tyo.test/v2/widgets")
    assert fuzzy.provider == "toy" and "looks like a typo of api.toy.test" in fuzzy.reason
    assert fuzzy.score < domain.score < alias.score < 1.0
    # the typo is corrected in the sample request (as a path typo is), and the reason says so
    assert fuzzy.request.url == "https://api.toy.test/v2/widgets"
    assert "the sample request uses api.toy.test" in fuzzy.reason
    # an alias or another host of the same domain is a real host: kept as typed
    assert alias.request.url.startswith("https://www.api.toy.test/") and domain.request.url.startswith("https://eu.toy.test/")


def test_unknown_host_with_distinctive_path_gets_jira_at_a_lower_score(builtin):
    known = best(builtin, "GET", "https://acme.atlassian.net/rest/api/2/project")
    s = best(builtin, "GET", "https://jira.intranet.example/rest/api/2/project")
    assert s is not None and s.provider == "jira" and s.endpoint == "GET /rest/api/2/project"
    assert 0.5 <= s.score < known.score
    assert "jira.intranet.example was not recognised" in s.reason
    assert s.request.url == "https://jira.intranet.example/rest/api/2/project"


@pytest.mark.parametrize("path", ["/api/users", "/api/v1/users/17", "/users", "/items/3", "/"])
def test_unknown_host_with_generic_path_gets_nothing(builtin, path):
    assert suggest_from_index(builtin, "GET", f"https://intranet.example{path}") == []


def test_unrelated_path_on_known_host_gets_nothing(toy):
    assert suggest_from_index(toy, "GET", "https://api.toy.test/totally/different/thing") == []


def test_ip_hosts_share_no_domain(tmp_path):
    from knowledge_helpers import ep, provider_doc

    folder = write_docs(tmp_path / "cat", local=provider_doc("local", ["127.0.0.1"], [ep("GET", "/internal/reports/{id}")]))
    index = kb_over(Source("user", folder)).catalogue().index
    assert best(index, "GET", "http://127.0.0.1:8123/internal/reports/9").request.url == "http://127.0.0.1:8123/internal/reports/9"
    other = best(index, "GET", "http://127.0.0.2/internal/reports/9")
    assert other is None or "same domain" not in other.reason
