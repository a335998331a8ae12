"""HAR 1.2 files as knowledge: one endpoint per method and path shape on the API's
host, ids templated, query examples kept, credentials and cookies never kept, assets,
pages and other hosts skipped with the reason; the CLI and the suggestion after it.

tests/data/har/shop-session.har was written for these tests. Every HAR file they
write is checked against the published HAR 1.2 JSON Schema (npm har-schema 2.0.0,
installed by .ci/run; tests/published_schemas.py), and the recording also against
tests/data/har/har-1.2-facts.schema.json: har-schema writes the specification's lower
bounds as ``min`` (no JSON Schema keyword, so no validator applies it), and the rules
of postData.params' members on the array itself; the facts schema applies both.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema_rs
import pytest
import yaml
from plugwire.core.base.errors import UserInputError
from plugwire.knowledge.har import import_har
from plugwire.knowledge.importing import looks_like_id, templated_path
from plugwire.knowledge.models import CatalogueFile
from published_schemas import har_schema, problems

DATA = Path(__file__).parent / "data" / "har"
SHOP = DATA / "shop-session.har"
SECRETS = ("eyJhbGciOiJIUzI1NiJ9", "session-cookie-value", "rotated", "k_live_abcdef123456", "hunter2", "csrf-abcdef",
           "rt-should-not-stay", "at-should-not-stay")


def endpoint(report, method, path):
    return next(e for e in report.catalogue.endpoints if (e.method, e.path) == (method, path))


def test_the_test_recording_is_a_valid_har_12_file():
    recording = json.loads(SHOP.read_text())
    assert problems(har_schema(), recording) == []
    assert problems(har_schema(), {"log": {"version": "1.2", "entries": []}}) == ['/log: "creator" is a required property']
    facts = jsonschema_rs.validator_for(json.loads((DATA / "har-1.2-facts.schema.json").read_text()))
    assert facts.is_valid(recording)
    # What the facts schema adds: the bounds and the postData.params rules har-schema leaves unapplied.
    recording["log"]["entries"][0]["time"] = -1
    recording["log"]["entries"][5]["request"]["postData"]["params"][0] = {"value": "ana@example.test"}
    assert har_schema().is_valid(recording)
    assert sorted(e.message for e in facts.iter_errors(recording)) == ['"name" is a required property',
                                                                       "-1 is less than the minimum of 0"]


@pytest.mark.parametrize("segment", ["42", "3f2b8c1e-9a7d-4e21-b5c3-0d6f1a2b3c4d", "5f1d7a9e0b3c4d2e8f6a",
                                     "cus_N2x8Kf0aB1", "dGhpcyBpcyBhbiBpZDEyMzQ1Ng"])
def test_ids_are_recognised(segment):
    assert looks_like_id(segment)


@pytest.mark.parametrize("segment", ["orders", "v1", "order-confirmation-2024", "me", "graphql", "2fa"])
def test_names_are_not_ids(segment):
    assert not looks_like_id(segment)


def test_ids_become_parameters_named_after_the_collection():
    path, examples = templated_path(["v1", "companies", "42", "people", "7", "addresses", "3"])
    assert path == "/v1/companies/{company_id}/people/{people_id}/addresses/{address_id}"
    assert examples == {"company_id": "42", "people_id": "7", "address_id": "3"}


def test_a_recording_becomes_endpoints_per_method_and_path_shape():
    report = import_har(SHOP)
    cat = report.catalogue
    assert cat.provider == "shop" and cat.hosts == ["api.shop.test"]
    order = endpoint(report, "GET", "/v1/orders/{order_id}")
    assert order.path_params["order_id"].example == "10042"
    assert order.request.query == {"expand": "items"}  # api_key left out
    assert order.request.headers == {"X-Shop-Locale": "de-CH"}  # browser, pseudo and credential headers left out
    assert order.response.body == {"id": 10042, "total": "19.90", "refresh_token": ""}
    cart = endpoint(report, "POST", "/v1/carts/{cart_id}/items")
    assert cart.request.body_format == "json" and cart.request.body == {"sku": "TEA-200", "quantity": 2, "gift": False}
    assert cart.response.status == 201
    login = endpoint(report, "POST", "/v1/sessions")
    assert login.request.body == {"email": "ana@example.test", "password": ""}
    assert login.response.body == {"access_token": "", "user": {"id": 7}}


def test_credentials_and_cookies_are_never_kept_but_hint_the_auth():
    cat = import_har(SHOP).catalogue
    text = json.dumps(cat.model_dump(mode="json"))
    for secret in SECRETS:
        assert secret not in text
    hints = [h.model_dump(exclude_none=True) for h in cat.auth]
    assert [h["type"] for h in hints] == ["header", "custom", "query"]
    assert hints[0]["headers"] == ["Authorization"] and hints[0]["format"] == "Bearer {token}"
    assert hints[2]["params"] == ["api_key"]


def test_every_entry_is_accounted_for():
    report = import_har(SHOP)
    assert report.operations == 8 and report.imported == 3
    assert report.merged == [("entry 4: GET https://api.shop.test/v1/orders/10043", "GET /v1/orders/{order_id}")]
    reasons = dict(report.skipped)
    assert reasons["entry 1: GET https://www.shop.test/orders"] == "a static asset or page (document), not an API call"
    assert "js file" in reasons["entry 2: GET https://www.shop.test/static/app.3f9a.js"]
    assert "png file" in reasons["entry 8: GET https://www.shop.test/img/logo.png"]
    assert "--host tracker.metrics.test" in reasons["entry 7: GET https://tracker.metrics.test/collect"]
    other = import_har(SHOP, host="tracker.metrics.test", provider="metrics")
    assert [e.path for e in other.catalogue.endpoints] == ["/collect"]


def test_files_that_are_not_har_are_refused_plainly(tmp_path):
    bad = tmp_path / "x.har"
    bad.write_text(json.dumps({"log": {"version": "1.2"}}))
    with pytest.raises(UserInputError, match="not a HAR file") as caught:
        import_har(bad)
    assert caught.value.field == "spec"
    assert problems(har_schema(), json.loads(bad.read_text())) == ['/log: "creator" is a required property',
                                                                  '/log: "entries" is a required property']
    # A valid recording of nothing but a style sheet: read, and refused for what it holds.
    recording = json.loads(SHOP.read_text())
    recording["log"]["entries"] = [recording["log"]["entries"][1]]
    recording["log"]["entries"][0]["request"]["url"] = "https://x.test/a.css"
    assert problems(har_schema(), recording) == []
    assets = tmp_path / "assets.har"
    assets.write_text(json.dumps(recording))
    with pytest.raises(UserInputError, match="none of its 1 entries is an API call"):
        import_har(assets)


def test_cli_imports_a_recording_and_suggest_recommends_its_body(run_cli, home):
    code, out, err = run_cli("knowledge", "import", str(SHOP))
    assert code == 0, err
    assert "Imported 3 endpoint(s) from 8 item(s) of the HAR file." in out and "Skipped (4):" in out
    cat = CatalogueFile.model_validate(yaml.safe_load((home.path / "catalogue" / "shop.yaml").read_text()))
    assert len(cat.endpoints) == 3
    code, out, err = run_cli("suggest", "POST", "https://api.shop.test/v1/carts/77/items", "--json")
    assert code == 0, err and "TEA-200" in out
    assert "TEA-200" in out
