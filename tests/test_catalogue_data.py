"""The built-in catalogue data: every file is valid, the seed entries are exactly right,
samples agree with their own constraints, and nothing looks like a real credential."""

from __future__ import annotations

import datetime
import functools
import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

import plugwire.knowledge
from plugwire.knowledge.models import CatalogueFile, Endpoint, path_placeholders

CATALOGUE_DIR = Path(plugwire.knowledge.__file__).parent / "catalogue"
FILES = sorted(CATALOGUE_DIR.glob("*.yaml"))


@functools.cache
def _raw(path: Path) -> Any:
    """The parsed file, read once per run (callers must not modify it)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)


@pytest.fixture(scope="module")
def catalogue() -> dict[str, CatalogueFile]:
    """Every built-in file, validated, by provider id."""
    return {c.provider: c for c in (CatalogueFile.model_validate(_raw(p)) for p in FILES)}


def _endpoint(cat: CatalogueFile, method: str, path: str) -> Endpoint:
    found = [e for e in cat.endpoints if e.method == method and e.path == path]
    assert found, f"{cat.provider} has no {method} {path}"
    return found[0]


# --- validity and size ---------------------------------------------------------------


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_file_validates_and_is_named_after_its_provider(path):
    cat = CatalogueFile.model_validate(_raw(path))
    assert path.stem == cat.provider


def test_catalogue_is_big_enough(catalogue):
    assert len(catalogue) >= 25
    assert sum(len(c.endpoints) for c in catalogue.values()) >= 150
    for wanted in ("eventbrite", "jira", "slack", "github", "stripe", "hubspot", "salesforce",
                   "shopify", "zendesk", "trello", "asana", "airtable", "notion", "sendgrid",
                   "mailchimp", "twilio", "google-sheets", "microsoft-graph", "zoom", "intercom",
                   "pipedrive", "dropbox", "quickbooks"):
        assert wanted in catalogue


def test_no_duplicate_endpoint_even_under_other_placeholder_names(catalogue):
    # The model refuses exact repeats; /x/{id} and /x/{key} for one method are repeats too.
    for cat in catalogue.values():
        shapes = Counter((e.method, re.sub(r"\{[^{}/]*\}", "{}", e.path)) for e in cat.endpoints)
        assert [k for k, n in shapes.items() if n > 1] == [], cat.provider


def test_no_two_providers_claim_the_same_host(catalogue):
    owners: dict[str, list[str]] = defaultdict(list)
    for cat in catalogue.values():
        for host in cat.hosts:
            # "{company}.atlassian.net" and "{site}.atlassian.net" are the same claim.
            owners[re.sub(r"\{[^}]*\}", "{}", host)].append(cat.provider)
    assert {h: p for h, p in owners.items() if len(p) > 1} == {}


def test_every_placeholder_has_an_example(catalogue):
    missing = [
        f"{cat.provider} {e.label} {{{name}}}"
        for cat in catalogue.values()
        for e in cat.endpoints
        for name in path_placeholders(e.path)
        if name not in e.path_params or not e.path_params[name].example
    ]
    assert missing == []


def test_urls_in_auth_hints_and_docs_are_https(catalogue):
    for cat in catalogue.values():
        urls = [cat.docs_url] + [e.docs_url for e in cat.endpoints]
        for hint in cat.auth:
            urls += [getattr(hint, "authorize_url", None), getattr(hint, "token_url", None)]
        for url in filter(None, urls):
            assert url.startswith("https://"), f"{cat.provider}: {url}"


def test_request_shapes_are_consistent(catalogue):
    for cat in catalogue.values():
        for e in cat.endpoints:
            req = e.request
            if req is None:
                continue
            if e.method in ("GET", "DELETE", "HEAD"):
                assert req.body is None, f"{cat.provider} {e.label} has a body"
            if req.body_format == "json" and req.body is not None:
                assert isinstance(req.body, (dict, list)), f"{cat.provider} {e.label}"
            # Values travel as JSON; a YAML date or a None-valued key means a quoting slip.
            json.dumps({"b": req.body, "q": req.query, "h": req.headers})
            assert all(isinstance(v, str) for v in req.headers.values()), f"{cat.provider} {e.label}"


# --- the required entries, exactly --------------------------------------------------


def test_eventbrite_create_venue_exactly(catalogue):
    eb = catalogue["eventbrite"]
    assert {"www.eventbriteapi.com", "eventbriteapi.com"} <= set(eb.hosts)
    ep = _endpoint(eb, "POST", "/v3/organizations/{organization_id}/venues/")
    assert ep.request.body_format == "json"
    assert ep.request.effective_content_type == "application/json"
    venue = ep.request.body["venue"]
    assert list(ep.request.body) == ["venue"]
    assert isinstance(venue["name"], str) and venue["name"]
    assert set(venue["address"]) == {"address_1", "city", "region", "postal_code", "country"}
    assert re.fullmatch(r"[A-Z]{2}", venue["address"]["country"])
    country = {c.path: c for c in ep.constraints}["venue.address.country"]
    assert country.pattern == "^[A-Z]{2}$" and country.required
    assert {c.path: c for c in ep.constraints}["venue.name"].required


def test_eventbrite_other_endpoints_and_auth(catalogue):
    eb = catalogue["eventbrite"]
    for method, path in [
        ("GET", "/v3/venues/{venue_id}/"),
        ("GET", "/v3/organizations/{organization_id}/venues/"),
        ("POST", "/v3/organizations/{organization_id}/events/"),
        ("GET", "/v3/organizations/{organization_id}/events/"),
        ("GET", "/v3/events/{event_id}/"),
        ("POST", "/v3/events/{event_id}/"),
        ("POST", "/v3/events/{event_id}/publish/"),
        ("GET", "/v3/orders/{order_id}/"),
        ("GET", "/v3/events/{event_id}/orders/"),
        ("GET", "/v3/users/me/"),
        ("GET", "/v3/users/me/organizations/"),
    ]:
        _endpoint(eb, method, path)
    oauth = next(h for h in eb.auth if h.type == "oauth2")
    assert oauth.authorize_url == "https://www.eventbrite.com/oauth/authorize"
    assert oauth.token_url == "https://www.eventbrite.com/oauth/token"
    assert oauth.authorize_params == {"response_type": "code"}
    header = next(h for h in eb.auth if h.type == "header")
    assert header.headers == ["Authorization"] and header.format == "Bearer {token}"


def test_jira_projects_and_issues_exactly(catalogue):
    jira = catalogue["jira"]
    assert "{company}.atlassian.net" in jira.hosts
    projects = _endpoint(jira, "GET", "/rest/api/2/project")
    body = projects.response.body
    assert isinstance(body, list) and body
    for project in body:
        assert {"id", "key", "name", "projectTypeKey", "self"} <= set(project)
    create = _endpoint(jira, "POST", "/rest/api/2/issue")
    fields = create.request.body["fields"]
    assert set(fields["project"]) == {"key"} and set(fields["issuetype"]) == {"name"}
    assert {"summary", "description"} <= set(fields)
    for method, path in [("GET", "/rest/api/2/issue/{issueIdOrKey}"), ("GET", "/rest/api/2/search"),
                         ("POST", "/rest/api/2/issue/{issueIdOrKey}/transitions"),
                         ("POST", "/rest/api/2/issue/{issueIdOrKey}/comment"), ("POST", "/rest/api/3/issue")]:
        _endpoint(jira, method, path)
    basic = next(h for h in jira.auth if h.type == "basic")
    assert "e-mail" in basic.username.lower() and "api token" in basic.password.lower()
    oauth = next(h for h in jira.auth if h.type == "oauth2")
    assert oauth.authorize_url == "https://auth.atlassian.com/authorize"
    assert oauth.token_url == "https://auth.atlassian.com/oauth/token"
    assert oauth.authorize_params["audience"] == "api.atlassian.com"
    assert oauth.authorize_params["prompt"] == "consent"


def test_stripe_bodies_are_forms_with_bracket_notation(catalogue):
    stripe = catalogue["stripe"]
    assert stripe.hosts == ["api.stripe.com"]
    with_body = [e for e in stripe.endpoints if e.request and e.request.body is not None]
    assert len(with_body) >= 10
    for e in with_body:
        assert e.request.body_format == "form", e.label
        assert e.request.effective_content_type == "application/x-www-form-urlencoded"
        # Form fields are flat: nesting is spelt with brackets, never as a nested mapping.
        assert all(not isinstance(v, (dict, list)) for v in e.request.body.values()), e.label
    keys = {k for e in with_body for k in e.request.body}
    assert "metadata[order_id]" in keys and "items[0][price]" in keys
    assert stripe.auth[0].type == "basic"


# --- samples agree with their constraints -------------------------------------------


def _values_at(container: Any, parts: list[str]) -> Iterator[Any]:
    """Yield every value at a constraint path (``a.b[].c``) in a sample."""
    if not parts:
        yield container
        return
    head, rest = parts[0], parts[1:]
    many = head.endswith("[]")
    key = head[:-2] if many else head
    if not isinstance(container, dict) or key not in container:
        return
    value = container[key]
    if many:
        for item in value if isinstance(value, list) else []:
            yield from _values_at(item, rest)
    else:
        yield from _values_at(value, rest)


def _sample_values(e: Endpoint, path: str) -> tuple[bool, list[Any]]:
    """Return (the sample has that part at all, values found) for a constraint path."""
    req = e.request
    if path.startswith("query."):
        return req is not None and bool(req.query), list(_values_at(req.query if req else {}, [path[6:]]))
    body = req.body if req else None
    if not isinstance(body, dict):
        return False, []
    # Bracketed form keys such as items[0][price] are one flat key, not a dotted path.
    parts = [path] if path in body else path.split(".")
    return True, list(_values_at(body, parts))


def _problems(e: Endpoint) -> Iterator[str]:
    for c in e.constraints:
        present, values = _sample_values(e, c.path)
        if c.required and present and not values:
            yield f"{c.path} is required but missing from the sample"
        for v in values:
            if c.enum is not None and v not in c.enum and str(v) not in map(str, c.enum):
                yield f"{c.path}={v!r} not in {c.enum}"
            if c.pattern and isinstance(v, str) and not re.search(c.pattern, v):
                yield f"{c.path}={v!r} does not match {c.pattern}"
            if isinstance(v, str) and c.max_length is not None and len(v) > c.max_length:
                yield f"{c.path} longer than {c.max_length}"
            if isinstance(v, str) and c.min_length is not None and len(v) < c.min_length:
                yield f"{c.path} shorter than {c.min_length}"
            number = _number(v)
            if number is not None and c.minimum is not None and number < c.minimum:
                yield f"{c.path}={v!r} below {c.minimum}"
            if number is not None and c.maximum is not None and number > c.maximum:
                yield f"{c.path}={v!r} above {c.maximum}"


def _number(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str) and re.fullmatch(r"-?\d+(\.\d+)?", v):
        return float(v)
    return None


def test_samples_satisfy_their_own_constraints(catalogue):
    problems = [
        f"{cat.provider} {e.label}: {p}" for cat in catalogue.values() for e in cat.endpoints for p in _problems(e)
    ]
    assert problems == []


def test_constraint_checker_catches_a_bad_sample():
    bad = Endpoint.model_validate({
        "method": "POST", "path": "/v", "summary": "s",
        "request": {"body_format": "json", "body": {"venue": {"address": {"country": "usa"}}}},
        "constraints": [{"path": "venue.name", "required": True},
                        {"path": "venue.address.country", "pattern": "^[A-Z]{2}$"}],
    })
    assert len(list(_problems(bad))) == 2


# --- nothing real in the samples ----------------------------------------------------

SECRET_PATTERNS = {
    "Stripe key": r"\b[sr]k_(live|test)_[0-9A-Za-z]{10,}",
    "GitHub token": r"\b(ghp|gho|ghu|ghs|ghr)_[0-9A-Za-z]{30,}|\bgithub_pat_[0-9A-Za-z_]{30,}",
    "Slack token": r"\bxox[abposr]-\d+-[0-9A-Za-z-]{10,}",
    "AWS key": r"\bAKIA[0-9A-Z]{16}\b",
    "SendGrid key": r"\bSG\.[\w-]{16,}\.[\w-]{20,}",
    "Google API key": r"\bAIza[0-9A-Za-z_-]{35}",
    "OpenAI key": r"\bsk-(proj-)?[0-9A-Za-z_-]{20,}",
    "JWT": r"\beyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}",
    "private key": r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    "bearer value": r"\b[Bb]earer\s+(?!\{)[\w.~+/-]{20,}",
    "Twilio SID with hex": r"\b(AC|SK)[0-9a-f]{32}\b",
}
SECRET_RE = re.compile("|".join(f"(?:{p})" for p in SECRET_PATTERNS.values()))
EMAIL_RE = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)
    elif isinstance(node, str):
        yield node


def _raw_strings() -> Iterator[tuple[str, str]]:
    for path in FILES:
        for s in _strings(_raw(path)):
            yield path.name, s


def test_no_sample_looks_like_a_real_secret():
    assert [(f, s) for f, s in _raw_strings() if SECRET_RE.search(s)] == []


def test_secret_detector_is_not_vacuous():
    # Built at run time so that no secret-shaped literal sits in the repository.
    shapes = ["sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dc", "ghp_" + "a1B2" * 9, "xoxb-" + "1234-5678-" + "aBcD" * 6,
              "AKIA" + "ABCDEFGHIJKLMNOP", "Bearer " + "abcDEF123" * 4]
    assert all(SECRET_RE.search(s) for s in shapes)
    assert not SECRET_RE.search("Bearer {token}") and not SECRET_RE.search("sk_test_... or sk_live_...")


def test_sample_emails_use_reserved_example_domains():
    bad = []
    for name, s in _raw_strings():
        for m in EMAIL_RE.finditer(s):
            domain = m.group(1).lower()
            if not re.search(r"(^|\.)example\.(com|org|net)$", domain):
                bad.append((name, m.group(0)))
    assert bad == []


def test_no_yaml_quoting_slips():
    """An unquoted comma in a flow mapping or a bare date silently changes the data."""
    slips = []

    def walk(node: Any, name: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if v is None and isinstance(k, str) and " " in k:
                    slips.append((name, k))
                walk(v, name)
        elif isinstance(node, list):
            for v in node:
                walk(v, name)
        elif isinstance(node, (datetime.date, datetime.datetime)):
            slips.append((name, str(node)))

    for path in FILES:
        walk(_raw(path), path.name)
    assert slips == []
