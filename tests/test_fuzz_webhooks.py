"""The fuzzing campaign over webhook intake (issue 13, item 10): payloads of every
content type and charset, signature headers, and the real ASGI app. Whatever a sender
sends, the payload reader and the signature checks give a result or ``TriggerRefused``
(never another exception), and the app answers below 500. Bounded by the hypothesis
profile of tests/conftest.py ("suite" here, "long" in bench/fuzz_long.py)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import time
from datetime import datetime, timezone
from typing import Any, Iterator

import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugwire.core.plugincore.manager import triggers
from plugwire.core.plugincore.triggers import InboundRequest, Received, TriggerRefused
from plugwire.core.recipes.model import Recipes
from plugwire.core.server import ServerState, create_app
from plugwire.core.storage.home import Home
from plugwire.plugins.triggers.webhook_payload import MAX_DEPTH, charset_of, read_payload

pytestmark = pytest.mark.fuzz

SECRET = "whsec_" + base64.b64encode(b"fuzzing-key-0123456789abcdef").decode()
HMAC_SECRET = "fuzz-shared-secret"

# -- strategies --------------------------------------------------------------------------
_MEDIA = st.one_of(st.sampled_from([
    "application/json", "application/vnd.api+json", "application/x-www-form-urlencoded", "application/xml",
    "text/xml", "application/atom+xml", "text/plain", "text/csv", "application/octet-stream",
    "multipart/form-data; boundary=x", "multipart/form-data", "", "JSON", "text/",
]), st.text(max_size=20))
_CHARSET = st.one_of(st.sampled_from([
    "utf-8", "UTF-8", '"utf-8"', "latin-1", "iso-8859-1", "windows-1252", "utf-16", "utf-16-be", "utf-32", "utf-7",
    "shift_jis", "koi8-r", "ascii", "klingon", "rot13", "zlib", "punycode", "idna", "unicode_escape", "undefined",
    "", "..", "encodings.aliases", "utf-8\x00",
]), st.text(max_size=12))
_CONTENT_TYPE = st.builds(lambda media, params: media + "".join(params), _MEDIA,
                          st.lists(st.one_of(st.builds("; charset={}".format, _CHARSET), st.sampled_from(["; q=1", ";", "; charset"])),
                                   max_size=2))
_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False),
              st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20,
)
_NESTED = st.builds(lambda n, open_, close, inner: open_ * n + inner + close * n, st.integers(0, 3000),
                    st.sampled_from(["[", '{"a":', "<a>", "<a><b/>"]), st.sampled_from(["]", "}", "</a>"]),
                    st.sampled_from(["", "1", "x", "<", "&amp;", "&x;"]))
_XML = st.builds(lambda tag, attrs, text: f"<{tag}{attrs}>{text}</{tag}>", st.sampled_from(["a", "ns:a", "a-b", "1"]),
                 st.sampled_from(["", ' id="1"', " x='&lt;'", ' xmlns="urn:x"', " a=1"]), st.text(max_size=30))
_FORM = st.lists(st.builds("{}={}".format, st.text(max_size=8), st.text(max_size=8)), max_size=6).map("&".join)
_TEXTUAL = st.one_of(_JSON.map(json.dumps), _NESTED, _XML, _FORM, st.text(max_size=200))
_BODY = st.one_of(st.binary(max_size=600),
                  st.builds(lambda text, codec: text.encode(codec, "replace"), _TEXTUAL,
                            st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32", "latin-1", "cp1252", "shift_jis"])))
_FORMAT = st.sampled_from(["auto", "auto", "auto", "json", "form", "xml", "text", "raw"])
# What a header value can be: the server reads every byte as latin-1; a request built in
# Python may hold any character.
_HEADER_TEXT = st.one_of(st.text(st.characters(max_codepoint=255, exclude_characters="\r\n\x00"), max_size=80),
                         st.text(max_size=40), st.sampled_from(["sha256=é", "v1,é", "v1,", "v2,abc v1,", "v1,====", "sha256="]))


def _request(body: bytes, headers: dict[str, str]) -> InboundRequest:
    return InboundRequest("POST", headers, {}, body, datetime.now(timezone.utc))


# -- the payload reader ------------------------------------------------------------------
@given(body=_BODY, content_type=_CONTENT_TYPE, configured=_FORMAT)
def test_any_body_in_any_content_type_is_read_or_refused(body, content_type, configured):
    try:
        read_payload(body, content_type, configured)
    except TriggerRefused as exc:
        assert 400 <= exc.status < 500 and exc.message.endswith(".")


@given(content_type=_CONTENT_TYPE)
def test_a_charset_is_a_python_text_codec_or_a_415(content_type):
    try:
        found = charset_of(content_type)
    except TriggerRefused as exc:
        assert exc.status == 415 and "charset" in exc.message
    else:
        assert found is None or "".encode(found) is not None


@given(value=_JSON, charset=st.sampled_from(["utf-8", "utf-16", "utf-16-le", "utf-32", "utf-7"]))
def test_json_in_a_declared_charset_reads_back_as_sent(value, charset):
    body = json.dumps(value, ensure_ascii=False).encode(charset)
    assert read_payload(body, f"application/json; charset={charset}", "auto") == value


@given(depth=st.integers(1, 3 * MAX_DEPTH), kind=st.sampled_from(["json", "xml"]))
def test_nesting_is_accepted_up_to_the_limit_and_refused_past_it(depth, kind):
    body = ("[" * depth + "]" * depth) if kind == "json" else ("<a>" * depth + "</a>" * depth)
    try:
        read_payload(body.encode(), f"application/{kind}", "auto")
    except TriggerRefused as exc:
        assert depth > MAX_DEPTH and exc.status == 400 and f"more than {MAX_DEPTH} levels" in exc.message
    else:
        assert depth <= MAX_DEPTH


# -- signature headers -------------------------------------------------------------------
_SIGNATURES = {
    "hmac-hex": {"scheme": "hmac-sha256", "secret": HMAC_SECRET, "header": "X-Sig", "prefix": "sha256="},
    "hmac-base64": {"scheme": "hmac-sha256", "secret": HMAC_SECRET, "header": "X-Sig", "encoding": "base64"},
    "standard": {"scheme": "standard-webhooks", "secret": SECRET},
}


@given(scheme=st.sampled_from(sorted(_SIGNATURES)), body=st.binary(max_size=200),
       headers=st.dictionaries(st.sampled_from(["x-sig", "webhook-id", "webhook-timestamp", "webhook-signature", "content-type"]),
                               _HEADER_TEXT, max_size=5),
       fresh_stamp=st.booleans())
def test_hostile_signature_headers_are_refused_with_401(scheme, body, headers, fresh_stamp):
    kind = triggers.get("webhook")
    config = kind.Config(signature=_SIGNATURES[scheme], payload_format="raw")
    if fresh_stamp:
        headers["webhook-timestamp"] = str(int(time.time()))
    with pytest.raises(TriggerRefused) as info:
        kind.receive(config, _request(body, headers))
    assert info.value.status == 401


def _latin1_id() -> st.SearchStrategy[str]:
    return st.text(st.characters(min_codepoint=0x21, max_codepoint=255, exclude_characters=","), min_size=1, max_size=40)


@given(body=st.binary(max_size=300), msg_id=_latin1_id(), base64_encoding=st.booleans())
def test_a_correct_signature_is_accepted_whatever_the_body_and_id(body, msg_id, base64_encoding):
    # Signed over the bytes sent: an id the server read as latin-1 is signed as those bytes.
    kind = triggers.get("webhook")
    stamp = str(int(time.time()))
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    sig = base64.b64encode(hmac.new(key, msg_id.encode("latin-1") + f".{stamp}.".encode() + body, hashlib.sha256).digest())
    std = kind.Config(signature=_SIGNATURES["standard"], payload_format="raw")
    headers = {"webhook-id": msg_id, "webhook-timestamp": stamp, "webhook-signature": f"v2,x v1,{sig.decode()}"}
    assert kind.receive(std, _request(body, headers)).event_id == msg_id
    digest = hmac.new(HMAC_SECRET.encode(), body, hashlib.sha256).digest()
    scheme = "hmac-base64" if base64_encoding else "hmac-hex"
    given_sig = base64.b64encode(digest).decode() if base64_encoding else "sha256=" + digest.hex().upper()
    assert isinstance(kind.receive(kind.Config(signature=_SIGNATURES[scheme], payload_format="raw"),
                                   _request(body, {"x-sig": given_sig})), Received)


# -- the real ASGI app -------------------------------------------------------------------
@pytest.fixture(scope="module")
def asgi(tmp_path_factory) -> Iterator[tuple[asyncio.AbstractEventLoop, httpx2.AsyncClient, dict[str, str]]]:
    """plugwire's app (job store started, no background tasks) behind an ASGI transport,
    with one started recipe per signature scheme and two unsigned ones."""
    with pytest.MonkeyPatch.context() as mp:
        folder = tmp_path_factory.mktemp("fuzz-home")
        mp.setenv("PLUGWIRE_HOME", str(folder))
        home = Home(folder)
        recipes = Recipes(home)
        configs: dict[str, dict[str, Any]] = {"open": {}, "small": {"max_body_bytes": 64}}
        configs.update({name: {"signature": sig} for name, sig in _SIGNATURES.items()})
        for name, config in configs.items():
            recipes.create({"name": name, "trigger": {"type": "webhook", "config": config}, "steps": []})
        tokens = {name: recipes.start(name).token for name in configs}
        state = ServerState(home, api_token="fuzz-token", synchronous="NORMAL", workers=0, max_body_bytes=4096, body_timeout=5)
        app = create_app(state, background=False)
        loop = asyncio.new_event_loop()
        stack = contextlib.AsyncExitStack()
        loop.run_until_complete(stack.enter_async_context(app.router.lifespan_context(app)))
        client = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://127.0.0.1")
        try:
            yield loop, client, tokens
        finally:
            loop.run_until_complete(client.aclose())
            loop.run_until_complete(stack.aclose())
            loop.close()


_RAW_HEADER = st.one_of(st.binary(max_size=60).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"").replace(b"\x00", b"")),
                        st.sampled_from(["sha256=é".encode(), "v1,é".encode(), b"v1,\xff", b"\xff\xfe", str(int(time.time())).encode()]))
_DEEP = st.sampled_from(["[" * 990 + "]" * 990, '{"a":' * 990 + "1" + "}" * 990, "<a>" * 990 + "</a>" * 990]).map(str.encode)


@given(recipe=st.sampled_from(["open", "small", *sorted(_SIGNATURES), "none"]),
       method=st.sampled_from(["POST", "PUT", "PATCH", "GET", "DELETE"]),
       content_type=_CONTENT_TYPE.map(lambda s: s.encode("utf-8")), body=st.one_of(_BODY, _DEEP, st.binary(min_size=4000, max_size=5000)),
       headers=st.lists(st.tuples(st.sampled_from([b"x-sig", b"webhook-id", b"webhook-timestamp", b"webhook-signature",
                                                   b"x-other", b"authorization"]), _RAW_HEADER), max_size=4),
       query=st.sampled_from(["", "?a=1&a=2", "?%ff=%fe", "?x", "?=&&="]))
def test_the_app_never_answers_500(asgi, recipe, method, content_type, body, headers, query):
    loop, client, tokens = asgi
    token = tokens.get(recipe, "not-a-recipe")
    request = client.request(method, f"/hooks/{token}{query}", content=body, headers=[(b"content-type", content_type), *headers])
    answer = loop.run_until_complete(request)
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        assert answer.json()["error"]
