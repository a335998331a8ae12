"""Webhook signatures that must be refused (issue 17 item 1): empty, short,
prefix-only and future-dated ones, for both schemes.

Each case here is accepted by a comparison that tests only a prefix
(``expected.startswith(given)`` in place of ``hmac.compare_digest``), and the
future-dated ones by a tolerance check that forgets ``abs()``. The last tests catch
survivors of the mutation run over the webhook trigger's receive (bench/README.md)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import datetime, timezone

import pytest

from plugwire.core.plugincore.manager import triggers
from plugwire.core.plugincore.triggers import InboundRequest, TriggerRefused
from test_triggers import standard_headers

BODY = b'{"id": 1}'
HMAC_SECRET = "shh-its-a-secret"
STD_SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def _request(headers: dict[str, str]) -> InboundRequest:
    return InboundRequest("POST", {"content-type": "application/json", **headers}, {}, BODY, datetime.now(timezone.utc))


def _refused(config, headers: dict[str, str]) -> TriggerRefused:
    with pytest.raises(TriggerRefused) as info:
        triggers.get("webhook").receive(config, _request(headers))
    assert info.value.status == 401
    return info.value


@pytest.mark.parametrize("encoding", ["hex", "base64"])
def test_hmac_refuses_prefix_only_empty_and_short_signatures(encoding):
    """Catches ``expected.startswith(given)``: every value below is a prefix of the
    expected signature (the empty string included), and each must be refused."""
    kind = triggers.get("webhook")
    config = kind.Config(signature={"scheme": "hmac-sha256", "secret": HMAC_SECRET, "header": "X-Sig",
                                    "prefix": "sha256=", "encoding": encoding})
    digest = hmac.new(HMAC_SECRET.encode(), BODY, hashlib.sha256).digest()
    good = digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()
    kind.receive(config, _request({"x-sig": "sha256=" + good}))  # the whole signature passes
    for given in ("sha256=", "sha256= ", "sha256=" + good[:1], "sha256=" + good[:8], "sha256=" + good[:-1], good[:10]):
        assert "Invalid signature" in _refused(config, {"x-sig": given}).message, given
    assert "Missing" in _refused(config, {"x-sig": ""}).message
    # One more character is not a longer valid signature either.
    _refused(config, {"x-sig": "sha256=" + good + ("0" if encoding == "hex" else "=")})


def test_standard_webhooks_refuses_empty_and_short_signatures():
    """Catches ``expected.startswith(given)`` in the Standard Webhooks check: an empty
    ``v1,`` and a ``v1,`` followed by the first characters of the expected signature."""
    kind = triggers.get("webhook")
    config = kind.Config(signature={"scheme": "standard-webhooks", "secret": STD_SECRET})
    good = standard_headers(STD_SECRET, BODY)
    kind.receive(config, _request(good))
    value = good["webhook-signature"].removeprefix("v1,")
    for signature in ("v1,", "v1, v1,", "v1," + value[:1], "v1," + value[:12], "v1," + value[:-1], "v2," + value):
        message = _refused(config, dict(good, **{"webhook-signature": signature})).message
        assert "Invalid signature" in message, signature


@pytest.mark.parametrize("ahead", [301, 3600, 10 * 365 * 86400])
def test_standard_webhooks_refuses_a_timestamp_from_the_future(ahead):
    """Catches a tolerance check without ``abs()`` (``now - stamp > tolerance``): a
    correctly signed message stamped ``ahead`` seconds in the future is refused as it
    would be when as old; one stamped within the window is accepted."""
    kind = triggers.get("webhook")
    config = kind.Config(signature={"scheme": "standard-webhooks", "secret": STD_SECRET, "tolerance_seconds": 300})
    future = standard_headers(STD_SECRET, BODY, stamp=int(time.time()) + ahead)
    assert "tolerance" in _refused(config, future).message
    kind.receive(config, _request(standard_headers(STD_SECRET, BODY, stamp=int(time.time()) + 60)))


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_standard_webhooks_refuses_a_request_missing_one_header(missing):
    """Catches ``msg_id and stamp and signatures`` turned into ``or`` (mutation run
    survivor #12): with one of the three headers gone the check must say "Missing",
    a 401, not fail on the absent value (a 500)."""
    kind = triggers.get("webhook")
    config = kind.Config(signature={"scheme": "standard-webhooks", "secret": STD_SECRET})
    headers = {k.lower(): v for k, v in standard_headers(STD_SECRET, BODY).items()}
    kind.receive(config, _request(headers))  # all three: accepted
    del headers[missing]
    assert "Missing" in _refused(config, headers).message


def test_a_signature_header_outside_latin_1_is_refused_not_a_crash():
    """Catches the UTF-8 fallback of the sent signature's bytes returning None (mutation
    run survivor #1): such a header is a 401 "Invalid signature", not a TypeError."""
    kind = triggers.get("webhook")
    config = kind.Config(signature={"scheme": "hmac-sha256", "secret": HMAC_SECRET, "header": "X-Sig",
                                    "prefix": "sha256=", "encoding": "hex"})
    assert "Invalid signature" in _refused(config, {"x-sig": "sha256=é€"}).message


def test_a_body_of_exactly_max_body_bytes_is_received_and_one_more_byte_is_not():
    """Catches ``len(body) > max_body_bytes`` turned into ``>=`` (mutation run survivor
    #36): the limit is the largest body accepted, not the first one refused."""
    kind = triggers.get("webhook")
    config = kind.Config(max_body_bytes=len(BODY))
    kind.receive(config, _request({}))  # exactly the limit: received
    with pytest.raises(TriggerRefused) as info:
        kind.receive(kind.Config(max_body_bytes=len(BODY) - 1), _request({}))
    assert info.value.status == 413 and "max_body_bytes" in info.value.message


@pytest.mark.parametrize("encoding", ["hex", "base64"])
def test_the_configured_prefix_is_optional_but_another_prefix_is_refused(encoding):
    """The configured prefix may be left out: a sender that writes the right digest
    without ``sha256=`` is accepted. Catches ``sig.prefix and given.startswith(...)``
    turned into ``or`` (mutation run survivor #5), which cuts the prefix's length off
    every header, bare digests included. A header with another prefix in front of the
    right digest (``sha1=``, ``SHA256=``) is not the configured one and is refused."""
    kind = triggers.get("webhook")
    config = kind.Config(signature={"scheme": "hmac-sha256", "secret": HMAC_SECRET, "header": "X-Sig",
                                    "prefix": "sha256=", "encoding": encoding})
    digest = hmac.new(HMAC_SECRET.encode(), BODY, hashlib.sha256).digest()
    good = digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()
    kind.receive(config, _request({"x-sig": "sha256=" + good}))
    kind.receive(config, _request({"x-sig": good}))  # no prefix: accepted
    for other in ("sha1=", "sha512=", "SHA256=", "v1="):
        assert "Invalid signature" in _refused(config, {"x-sig": other + good}).message, other
