"""The request's rules, kept by its model at every door, and the JSON API refusing
what does not fit them with 422 naming the field (never a 500, never an action that
fails its job later with an internal error)."""

from __future__ import annotations

import logging

import httpx2
import pytest
from pydantic import ValidationError

from plugwire.core.http.exchange import FilePart, RequestSpec
from recipes_support import API_TOKEN, finished_job, plugwire_server

URL = "https://api.example.com/v1/items"


def _refusal(**fields) -> tuple[str, str]:
    """Return ``(field, message)`` of the first error RequestSpec raises for ``fields``."""
    with pytest.raises(ValidationError) as info:
        RequestSpec.model_validate({"url": URL, **fields})
    err = info.value.errors(include_input=False)[0]
    return ".".join(str(p) for p in err["loc"]), err["msg"]


@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "a\nb", "a\rb", "a\x00b", "caf\u00e9"])
def test_a_header_value_that_would_break_the_line_is_refused_naming_the_header(value):
    field, message = _refusal(headers={"X-Trace": value})
    assert field == "headers.X-Trace"
    assert ("line break" in message) if ("\r" in value or "\n" in value) else ("character" in message)


@pytest.mark.parametrize("name", ["X Trace", "T\u00e9st", "X:Trace", "", "a\r\nb"])
def test_a_header_name_that_is_not_a_token_is_refused(name):
    field, message = _refusal(headers={name: "1"})
    assert field.startswith("headers.") and "is not a header name" in message


def test_the_content_type_and_a_file_part_type_are_header_values_too():
    assert _refusal(content_type="text/plain\r\nX-Evil: 1")[0] == "content_type"
    with pytest.raises(ValidationError, match="line break"):
        FilePart(field="f", content_base64="", content_type="image/png\r\nX-Evil: 1")


@pytest.mark.parametrize("url", ["/v1/items", "ftp://files.example.com/x", "https://", "https://api.example.com:99999/", "not a url"])
def test_a_url_that_is_not_an_absolute_http_url_is_refused(url):
    field, message = _refusal(url=url)
    assert field == "url" and url.strip() in message


@pytest.mark.parametrize(("fmt", "body", "words"), [
    ("binary", [1, 2], "list"),
    ("binary", "not base64!", "base64"),
    ("text", {"a": 1}, "mapping"),
    ("xml", ["<a/>"], "list"),
    ("form", ["a"], "mapping of field to value"),
    ("multipart", "a=1", "mapping of field to value"),
    ("json", "{not json", "does not parse"),
])
def test_a_body_that_does_not_fit_its_format_is_refused_naming_the_body(fmt, body, words):
    field, message = _refusal(method="POST", body=body, body_format=fmt)
    assert field == "body" and words in message and fmt in message


def test_query_values_are_text_numbers_or_lists_of_them():
    assert _refusal(query={"filter": {"a": 1}})[0] == "query.filter"
    assert _refusal(query={"tag": ["a", ["b"]]})[0] == "query.tag"
    spec = RequestSpec(url=URL, query={"page": 2, "tag": ["a", "b"], "all": True, "empty": None})
    assert spec.query["tag"] == ["a", "b"]


def test_inline_file_content_must_be_base64():
    assert _refusal(body_format="multipart", files=[{"field": "f", "content_base64": "!!"}])[0] == "files.0.content_base64"


def test_what_fits_is_kept_and_pills_are_checked_when_filled_in():
    # Values holding a datapill are checked when the pill is filled in, at run time.
    for fmt, body in [("json", '{"id": {{trigger.payload.id}}}'), ("binary", "{{trigger.payload.file}}"),
                      ("binary", "aGVsbG8=\n"), ("form", "a=1&b=2"), ("form", {"a": ["1", "2"]}), ("text", "hi"),
                      ("json", [1, {"a": None}]), ("none", None)]:
        RequestSpec(method="POST", url=URL, body=body, body_format=fmt)
    assert RequestSpec().url == ""  # the wizard's blank request, before step 1


# -- the JSON API ------------------------------------------------------------------------------
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
GOOD = {"name": "ping", "method": "POST", "url": "http://127.0.0.1:9/ping", "body_format": "json", "body": {"a": 1}}
BAD_ACTIONS = [
    ({"body_format": "binary", "body": [1, 2]}, "body"),
    ({"body_format": "binary", "body": "not base64!"}, "body"),
    ({"body_format": "text", "body": {"a": 1}}, "body"),
    ({"body_format": "form", "body": ["a"]}, "body"),
    ({"url": "/relative/path"}, "url"),
    ({"url": "ftp://files.example.com/x"}, "url"),
    ({"url": None}, "url"),
    ({"url": ""}, "url"),
    ({"method": "BREW"}, "method"),
    ({"method": 7}, "method"),
    ({"headers": {"X-Trace": "a\r\nX-Injected: 1"}}, "headers.X-Trace"),
    ({"headers": {"Bad Name": "1"}}, "headers.Bad Name"),
    ({"headers": {"X-Count": 5}}, "headers.X-Count"),
    ({"headers": ["X: 1"]}, "headers"),
    ({"query": {"filter": {"a": 1}}}, "query.filter"),
    ({"response_format": "yaml"}, "response_format"),
    ({"timeout": "soon"}, "timeout"),
    ({"retry": {"max_attempts": "many"}}, "retry.max_attempts"),
    ({"content_type": "text/plain\nX-Evil: 1"}, "content_type"),
    ({"body_format": "multipart", "files": [{"field": "f", "path": "/etc/passwd"}]}, "files.0.path"),
    ({"body_format": "multipart", "files": [{"field": "f", "content_base64": "%%%"}]}, "files.0.content_base64"),
    ({"connection": "nowhere"}, "connection"),
    ({"colour": "blue"}, "colour"),
]


@pytest.fixture
def server(home):
    with plugwire_server(home) as (state, url):
        yield state, url


def test_an_action_saved_before_the_rules_still_loads_and_is_refused_naming_the_field_when_sent(home):
    """Nothing is lost to a new rule: the record reads back as it was saved, and the
    send refuses it naming the header."""
    from plugwire.core.base.errors import UserInputError
    from plugwire.core.http.send import send
    from plugwire.core.wizard.actions import Actions

    header = {"name": "old-header", "method": "GET", "url": "https://api.example.com/x", "headers": {"X-Old": "a\r\nX-Injected: 1"}}
    body = {"name": "old-body", "method": "POST", "url": "https://api.example.com/x", "body": ["a", "list"], "body_format": "binary"}
    home.store.insert("actions", "old-header", header)
    home.store.insert("actions", "old-body", body)
    actions = Actions(home)
    assert sorted(a.name for a in actions.list()) == ["old-body", "old-header"]
    assert actions.get("old-header").headers == header["headers"] and actions.get("old-body").body == ["a", "list"]
    for name, field in (("old-header", "headers.X-Old"), ("old-body", "body")):
        with pytest.raises(UserInputError) as refused:
            send(actions.get(name).spec())
        assert refused.value.field == field


def test_actions_that_break_the_request_rules_are_refused_with_422_naming_the_field(server, caplog):
    state, url = server
    with caplog.at_level(logging.ERROR):
        for change, field in BAD_ACTIONS:
            answer = httpx2.post(f"{url}/api/actions", headers=AUTH, json={**GOOD, **change})
            assert answer.status_code == 422, (change, answer.text)
            got = answer.json()
            assert got["field"] == field and got["error"] and got["fix"], (change, got)
        assert httpx2.get(f"{url}/api/actions", headers=AUTH).json() == []
        assert httpx2.post(f"{url}/api/actions", headers=AUTH, json=GOOD).status_code == 201
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def _job_of(state, url, recipe: dict, payload: dict) -> dict:
    assert httpx2.post(f"{url}/api/recipes", headers=AUTH, json=recipe).status_code == 201, recipe
    assert httpx2.post(f"{url}/api/recipes/{recipe['name']}/start", headers=AUTH).status_code == 201
    token = state.recipes.get(recipe["name"]).token
    answer = httpx2.post(f"{url}/hooks/{token}", json=payload)
    return finished_job(state, answer.headers["x-plugwire-job"])


@pytest.fixture
def live_api(live_server) -> str:
    """A real local API answering 200 at /open/...: the actions these tests save are proven there."""
    from api_server import make_api

    return live_server(make_api().app).url + "/open/ping"


def test_no_saved_action_fails_its_job_with_an_internal_error(server, live_api):
    state, url = server
    hook = {"type": "webhook", "config": {"sample_payload": {"items": [1, 2]}}}
    # A binary body that is a list: refused when saved. Were it saved, its job would
    # fail with 'internal error: TypeError'; the test runs that job to show it.
    broken = {**GOOD, "name": "upload", "body_format": "binary", "body": [1, 2]}
    answer = httpx2.post(f"{url}/api/actions", headers=AUTH, json=broken)
    if answer.status_code == 201:
        job = _job_of(state, url, {"name": "uses broken", "trigger": hook, "steps": [{"action": "upload"}]}, {"items": [1]})
        assert not job["error"].startswith("internal error"), job["error"]
    assert answer.status_code == 422 and answer.json()["field"] == "body"
    # A valid binary action whose step fills the body with a list from the event: the
    # job fails naming the body, as bad input, not as plugwire's bug.
    fine = {**GOOD, "name": "upload", "body_format": "binary", "body": "aGVsbG8=", "url": live_api}
    assert httpx2.post(f"{url}/api/actions", headers=AUTH, json=fine, params={"prove": "true"}).status_code == 201
    job = _job_of(state, url, {"name": "fills a list", "trigger": hook,
                               "steps": [{"action": "upload", "body": "{{trigger.payload.items}}"}]}, {"items": [1, 2]})
    assert job["status"] == "failed" and "internal error" not in job["error"]
    assert "binary" in job["steps"][0]["error"] and "base64" in job["steps"][0]["error"]


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/connections", {"name": "c", "auth_type": 5}, "auth_type"),
    ("/api/connections", {"name": "c", "auth_type": "basic", "settings": [1]}, "settings"),
    ("/api/connections", {"name": ["c"], "auth_type": "none"}, "name"),
    ("/api/connections", {"name": "c", "auth_type": "none", "timeout": "long"}, "timeout"),
    ("/api/connections", {"name": "c", "auth_type": "none", "base_url": "not a url"}, "base_url"),
    ("/api/recipes", {"name": "r", "trigger": 5}, "trigger"),
    ("/api/recipes", {"name": "r", "trigger": {"type": "webhook"}, "steps": 5}, "steps"),
    ("/api/recipes", {"name": "r", "trigger": {"type": "webhook"}, "steps": [{"action": 1}]}, "steps.0.action"),
    ("/api/recipes", {"name": "r", "trigger": {"type": "webhook"}, "steps": [{"action": "a", "headers": {"X": "1\r\n2"}}]}, "steps.0.headers.X"),
    ("/api/recipes", {"name": "r", "trigger": {"type": "webhook"}, "steps": [{"action": "a", "url": "/x"}]}, "steps.0.url"),
    ("/api/recipes", {"name": "r", "trigger": {"type": "webhook"}, "token": "chosen"}, "token"),
])
def test_connections_and_recipes_of_the_wrong_shape_are_422_naming_the_field(server, path, body, field):
    _, url = server
    answer = httpx2.post(f"{url}{path}", headers=AUTH, json=body)
    assert answer.status_code == 422 and answer.json()["field"] == field, answer.text


DEEP = [b"[" * 990 + b"]" * 990, b'{"a":' * 990 + b"1" + b"}" * 990, b"[" * 100_000 + b"]" * 100_000, b"[" * 100_000]


@pytest.mark.parametrize("path", ["/api/actions", "/api/connections", "/api/recipes"])
def test_hostile_bodies_are_4xx_naming_the_body_never_500(server, path, caplog):
    _, url = server
    weird = [*DEEP, b"\xff\xfe{}", b'{"name": 1e999}', b'{"name": NaN}', b'{"n": 1' + b"0" * 5000 + b"}",
             b'{"name": "\\ud800"}', b"[]", b'"text"', b"null", b"{", b"{}\x00"]
    with caplog.at_level(logging.ERROR):
        for raw in weird:
            answer = httpx2.post(f"{url}{path}", headers={**AUTH, "Content-Type": "application/json"}, content=raw)
            assert answer.status_code in (400, 422) and answer.json()["field"] in ("body", "name"), (raw[:30], answer.text)
        big = httpx2.post(f"{url}{path}", headers=AUTH, content=b" " * (4 * 1024 * 1024 + 1))  # MAX_BODY_BYTES + 1
        assert big.status_code == 413 and big.json()["field"] == "body"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_the_jobs_limit_is_checked(server):
    _, url = server
    for limit in ("0", "-1", "x", "99999999999999999999999"):
        answer = httpx2.get(f"{url}/api/jobs", headers=AUTH, params={"limit": limit})
        assert answer.status_code == 422 and answer.json()["field"] == "limit"


@pytest.mark.parametrize("value", ["caf\u00e9", "a\r\nX-Injected: 1"])
def test_a_header_an_event_fills_with_a_bad_value_fails_the_step_naming_it(server, live_api, value):
    state, url = server
    action = {**GOOD, "url": live_api, "headers": {"X-Name": "{{trigger.payload.name}}"}}
    assert httpx2.post(f"{url}/api/actions", headers=AUTH, json=action, params={"prove": "true"}).status_code == 201
    hook = {"type": "webhook", "config": {"sample_payload": {"name": "x"}}}
    job = _job_of(state, url, {"name": "named", "trigger": hook, "steps": [{"action": "ping"}]}, {"name": value})
    assert job["status"] == "failed" and "internal error" not in job["error"], job["error"]
    assert job["steps"][0]["error"].startswith("headers.X-Name: ")
