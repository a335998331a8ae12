"""The fuzzing campaign's share for the JSON API and datapills: schemathesis against a
real ``plugwire serve`` (from the OpenAPI document the server publishes), arbitrary
JSON and bytes to every POST route, and arbitrary datapill templates and data.

The server runs with a throwaway data folder, its network policy on and no job
workers (``--workers 0``): whatever the fuzzer creates, no job runs and nothing it
saves can reach the internet.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx2
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from conftest import free_port
from plugwire.core.base.errors import PlugwireError
from plugwire.core.recipes import datapills
from plugwire.core.server.api import routes
from plugwire.core.server.openapi import document
from plugwire.core.wizard.datatree import infer

TOKEN = "fuzz-api-token-5c0ffee5c0ffee"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
POSTS = ["/api/connections", "/api/actions", "/api/recipes"]


@pytest.fixture(scope="module")
def serve(tmp_path_factory):
    """``plugwire serve`` on 127.0.0.1 with a throwaway home; yields its base URL and
    the file its log goes to."""
    home = tmp_path_factory.mktemp("fuzz-home")
    log = home / "serve.log"
    port = free_port()
    env = {**os.environ, "PLUGWIRE_HOME": str(home), "PLUGWIRE_API_TOKEN": TOKEN, "PLUGWIRE_TESTING": "1"}
    cmd = [sys.executable, "-c", "from plugwire.core.cli import main; main()", "serve", "--host", "127.0.0.1",
           "--port", str(port), "--workers", "0"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx2.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx2.TransportError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    try:
        yield url, log
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def client(serve):
    with httpx2.Client(base_url=serve[0], headers=AUTH, timeout=10) as c:
        yield c


def _check_answer(answer: httpx2.Response, what: object) -> None:
    assert answer.status_code < 500, (what, answer.text)
    if answer.status_code >= 400:
        got = answer.json()
        assert got["error"] and "field" in got and "fix" in got, got


# -- schemathesis over the published document ------------------------------------------------
schema = schemathesis.openapi.from_dict(document(routes))


@pytest.mark.fuzz
@schema.parametrize()
@settings(max_examples=max(12, settings.default.max_examples // 5), suppress_health_check=list(HealthCheck))
def test_the_api_as_its_document_describes_it(case, serve):
    case.call_and_validate(
        base_url=serve[0], headers=AUTH, timeout=10,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )


# -- arbitrary JSON and bytes to every POST route ---------------------------------------------
_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))
_json = st.recursive(_scalar, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
                     max_leaves=20)
# Objects with the routes' own field names, so that the values reach the validators.
_names = st.sampled_from(["name", "auth_type", "settings", "url", "method", "headers", "query", "body", "body_format",
                          "files", "retry", "timeout", "trigger", "steps", "connection", "response_format", "type", "config"])
_shaped = st.dictionaries(_names, _json, max_size=6)


@pytest.mark.fuzz
@given(path=st.sampled_from(POSTS), body=st.one_of(_shaped, _json))
def test_any_json_to_a_post_route_is_never_a_server_error(client, path, body):
    _check_answer(client.post(path, json=body), body)


@pytest.mark.fuzz
@settings(max_examples=max(40, settings.default.max_examples * 2 // 3))
@given(path=st.sampled_from(POSTS), raw=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode),
                                               st.integers(1, 3000).map(lambda n: b"[" * n + b"]" * n)))
def test_any_bytes_to_a_post_route_are_never_a_server_error(client, path, raw):
    _check_answer(client.post(path, content=raw, headers={"Content-Type": "application/json"}), raw[:40])


def test_the_server_logged_no_traceback(serve, client):
    # Last in this module: whatever the fuzzers above sent, nothing reached the log as an error.
    client.post("/api/actions", content=b"[" * 100_000)
    time.sleep(0.2)
    text = serve[1].read_text(errors="replace")
    assert "Traceback" not in text and "ERROR" not in text, text[-3000:]


# -- datapill templates --------------------------------------------------------------------
_pieces = st.one_of(
    st.text(max_size=6),
    st.sampled_from(["{{", "}}", "\\{{", "trigger", "steps", ".", "[", "]", "'", '"', "payload", "0", "007", "²", "s",
                     "response", "body", " ", "[0]", '["a b"]', "9" * 30]),
)
_template = st.lists(_pieces, max_size=16).map("".join)


@pytest.mark.fuzz
@given(template=_template, data=_json)
def test_a_datapill_template_raises_only_plugwire_errors(template, data):
    context = {"trigger": {"payload": data}, "steps": {"s": {"response": {"status": 200, "body": data}}}}
    for attempt in (
        lambda: list(datapills.find_pills({"body": [template]})),
        lambda: datapills.render(template, context, where="body"),
        lambda: datapills.render({"a": [template, {"b": template}]}, context),
        lambda: [datapills.check_pill(p, p.path[1:], infer(data)) for _, p in datapills.find_pills(template)],
    ):
        try:
            attempt()
        except PlugwireError:
            pass


@pytest.mark.parametrize("template", [
    "{{trigger.payload[²]}}", "{{trigger.payload[" + "9" * 5000 + "]}}", "{{trigger.payload." + "9" * 5000 + "}}",
])
def test_odd_indexes_are_refused_or_missing_not_a_crash(template):
    with pytest.raises(PlugwireError):
        datapills.render(template, {"trigger": {"payload": [1]}, "steps": {}})


def test_a_numeric_key_keeps_its_text():
    # .007 names the key "007"; it was read as the index 7 and looked up as "7".
    data = {"trigger": {"payload": {"007": "bond", "7": "wrong"}}, "steps": {}}
    assert datapills.render("{{trigger.payload.007}}", data) == "bond"
