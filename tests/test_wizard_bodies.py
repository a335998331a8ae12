"""Every body format arrives at a real server exactly as configured; XML responses
give a datatree; retries follow the action's policy."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from plugwire.core.base.errors import UserInputError
from plugwire.core.http.exchange import FilePart, RequestSpec
from plugwire.core.http.retry import RetryPolicy, parse_retry_after
from plugwire.core.http.send import send
from plugwire.core.wizard.steps import Wizard
from venue_api import serve


@pytest.fixture
def api(live_server):
    return serve(live_server)


def _wizard(home, connections, url, method="POST"):
    wiz = Wizard(home, connections=connections)
    wiz.start(method, url)
    wiz.blank()
    return wiz


def test_form_body_arrives_urlencoded(home, connections, api):
    wiz = _wizard(home, connections, f"{api.url}/echo")
    wiz.edit(body={"name": "Example Hall", "tags": ["indoor", "large"], "capacity": 300, "note": "a&b=c ü"}, body_format="form")
    attempt = wiz.send()
    assert attempt.exchange.ok
    got = api.received[-1]
    assert got["content_type"] == "application/x-www-form-urlencoded"
    assert got["body"] == b"name=Example+Hall&tags=indoor&tags=large&capacity=300&note=a%26b%3Dc+%C3%BC"
    assert got["form"] == {"name": ["Example Hall"], "tags": ["indoor", "large"], "capacity": ["300"], "note": ["a&b=c ü"]}
    assert attempt.exchange.request.body_text == got["body"].decode()


def test_multipart_with_a_file_arrives_as_sent(home, connections, api, tmp_path):
    photo = tmp_path / "hall.png"
    payload = bytes(range(256)) * 40
    photo.write_bytes(payload)
    wiz = _wizard(home, connections, f"{api.url}/echo")
    wiz.edit(
        body={"name": "Example Hall", "kind": "venue"},
        body_format="multipart",
        files=[FilePart(field="photo", path=str(photo), content_type="image/png"), FilePart(field="notes", filename="notes.txt", content_base64=base64.b64encode(b"quiet room").decode())],
    )
    attempt = wiz.send()
    assert attempt.exchange.ok, attempt.exchange.message
    got = api.received[-1]
    assert got["content_type"].startswith("multipart/form-data; boundary=")
    assert got["form"] == {"name": ["Example Hall"], "kind": ["venue"]}
    files = {f["field"]: f for f in got["files"]}
    assert files["photo"]["filename"] == "hall.png" and files["photo"]["content_type"] == "image/png"
    assert files["photo"]["data"] == payload
    assert files["notes"]["data"] == b"quiet room" and files["notes"]["filename"] == "notes.txt"
    sent = attempt.exchange.request
    assert [f["size"] for f in sent.files] == [len(payload), 10]
    assert f"({len(payload)} bytes)" in sent.body_text  # the file is summarised, not dumped


def test_multipart_without_files_stays_multipart(home, connections, api):
    wiz = _wizard(home, connections, f"{api.url}/echo")
    wiz.edit(body={"a": "1"}, body_format="multipart")
    assert wiz.send().exchange.ok
    assert api.received[-1]["content_type"].startswith("multipart/form-data")
    assert api.received[-1]["form"] == {"a": ["1"]}


def test_xml_raw_text_and_binary_bodies_arrive_byte_for_byte(home, connections, api):
    xml = '<?xml version="1.0"?>\n<venue><name>Example Hall</name><country>US</country></venue>'
    wiz = _wizard(home, connections, f"{api.url}/echo")
    wiz.edit(body=xml, body_format="xml")
    assert wiz.send().exchange.ok
    assert api.received[-1]["body"] == xml.encode() and api.received[-1]["content_type"] == "application/xml"

    wiz.edit(body="name,city\nHall,Lisbon\n", body_format="text", content_type="text/csv")
    assert wiz.send().exchange.ok
    assert api.received[-1]["body"] == b"name,city\nHall,Lisbon\n" and api.received[-1]["content_type"] == "text/csv"

    raw = bytes([0, 255, 1, 254]) * 100
    wiz.edit(body=base64.b64encode(raw).decode(), body_format="binary", content_type=None)
    echo = wiz.send().exchange.response.body
    assert api.received[-1]["body"] == raw and api.received[-1]["content_type"] == "application/octet-stream"
    assert echo["sha256"] == hashlib.sha256(raw).hexdigest()

    wiz.edit(body={"venue": {"name": "Hall", "capacity": 300, "open": True}}, body_format="json", content_type=None)
    assert wiz.send().exchange.ok
    assert json.loads(api.received[-1]["body"]) == {"venue": {"name": "Hall", "capacity": 300, "open": True}}
    assert api.received[-1]["content_type"] == "application/json"


def test_bodies_that_do_not_fit_their_format_are_refused_by_field(home, connections, api):
    wiz = _wizard(home, connections, f"{api.url}/echo")
    # Refused as typed (the request's model keeps these rules at every door), not at Send.
    with pytest.raises(UserInputError, match="body: the json body is JSON text that does not parse"):
        wiz.edit(body="{not json", body_format="json")
    with pytest.raises(UserInputError, match="body: .*mapping of field to value"):
        wiz.edit(body=["a"], body_format="form")
    wiz.edit(body=None, body_format="multipart", files=[FilePart(field="f", path="/nonexistent/file.bin")])
    with pytest.raises(UserInputError) as missing:
        wiz.send()
    assert missing.value.field == "files.f"
    assert wiz.history == []


def test_xml_response_pretty_printed_with_a_datatree(home, connections, api):
    wiz = Wizard(home, connections=connections)
    wiz.start("GET", f"{api.url}/xml/venues")
    wiz.blank()
    attempt = wiz.send()
    response = attempt.exchange.response
    assert response.format == "xml"
    assert response.pretty.splitlines()[1].startswith("<venues") and "\n    <name>Example Hall</name>" in response.pretty
    assert response.body["venues"]["@count"] == "2"
    action = wiz.apply("XML venues", learn=False).action
    tree = action.datatree
    assert tree.source == "xml"
    venue = tree.find("venues.venue")
    assert venue.type == "array" and venue.item.type == "object"
    assert {"venues.venue[].@id", "venues.venue[].name", "venues.venue[].address.city", "venues.venue[].address.country"} <= set(tree.paths())
    assert tree.find("venues.venue[].capacity").optional  # only the first venue has one
    assert tree.find("venues.venue[].tag").type == "array"


def test_query_parameters_and_url_query_both_go_out(home, connections, api):
    wiz = Wizard(home, connections=connections)
    wiz.start("GET", f"{api.url}/v3/organizations/9/venues/?page=2")
    wiz.blank()
    wiz.set("query.expand", "venue")
    wiz.set("query.status", ["live", "draft"])
    assert wiz.send().exchange.ok
    assert api.received[-1]["query"] == [("page", "2"), ("expand", "venue"), ("status", "live"), ("status", "draft")]


# -- retries ---------------------------------------------------------------------
@pytest.fixture
def flaky(live_server):
    """Answers 429 (Retry-After: 0) then 503 then 200, per path; counts the calls."""
    calls: dict[str, int] = {}

    async def handler(request):
        n = calls[request.url.path] = calls.get(request.url.path, 0) + 1
        if n == 1:
            return JSONResponse({"message": "slow down"}, status_code=429, headers={"Retry-After": "0"})
        if n == 2:
            return JSONResponse({"message": "busy"}, status_code=503)
        return JSONResponse({"ok": True, "calls": n})

    server = live_server(Starlette(routes=[Route("/{name}", handler, methods=["GET", "POST"])]))
    server.calls = calls
    return server


def test_retries_follow_the_policy(flaky):
    policy = RetryPolicy(max_attempts=3, backoff=0.0)
    ex = send(RequestSpec(method="GET", url=f"{flaky.url}/get"), retry=policy)
    assert ex.ok and ex.attempts == 3 and flaky.calls["/get"] == 3
    post = send(RequestSpec(method="POST", url=f"{flaky.url}/post"), retry=policy)
    assert post.response.status == 429 and post.attempts == 1 and flaky.calls["/post"] == 1
    again = send(RequestSpec(method="POST", url=f"{flaky.url}/post2"), retry=policy.model_copy(update={"retry_non_idempotent": True}))
    assert again.ok and again.attempts == 3


def test_retry_policy_decisions():
    p = RetryPolicy(max_attempts=4, backoff=0.5, max_backoff=1.5)
    assert p.next_delay(1, "GET", status=429, retry_after="7") == 7.0
    assert p.next_delay(1, "GET", status=429) == 0.5
    assert p.next_delay(2, "GET", status=500) == 1.0
    assert p.next_delay(3, "GET", status=502) == 1.5  # capped
    assert p.next_delay(4, "GET", status=500) is None  # out of attempts
    assert p.next_delay(1, "GET", status=404) is None
    assert p.next_delay(1, "GET", status=501) is None
    assert p.next_delay(1, "GET", outcome="timeout") == 0.5
    assert p.next_delay(1, "GET", outcome="dns_error") is None
    assert p.next_delay(1, "POST", outcome="timeout") is None
    assert p.next_delay(1, "GET", status=429, retry_after="100000") == p.max_retry_after
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("soon") is None
