"""Trigger type ``webhook``: events that arrive as HTTP requests at a recipe's URL.

The payload is read as JSON, form, XML, text or raw bytes (by content type, or as
configured), in the charset its Content-Type declares (UTF-8 by default; see
``webhook_payload``); headers, query parameters and the payload form the event. An optional
signature check covers the raw body: a shared-secret HMAC-SHA256 in a header of
your choice (hex or base64), or the Standard Webhooks scheme (``webhook-id``,
``webhook-timestamp``, ``webhook-signature: v1,<base64>`` over ``id.timestamp.body``
with a ``whsec_`` secret, within a tolerance window).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, field_validator

from plugwire import MASK, InboundRequest, Received, TriggerRefused, TriggerType, hookimpl
from plugwire.plugins.triggers.webhook_payload import parse_payload, read_payload

#: Headers a sender may authenticate with: kept out of events (and so out of jobs).
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})

PayloadFormat = Literal["auto", "json", "form", "xml", "text", "raw"]


class HmacSignature(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    scheme: Literal["hmac-sha256"] = "hmac-sha256"
    secret: SecretStr = Field(description="the shared secret the sender signs with")
    header: str = Field("X-Signature-256", description="the header carrying the signature")
    encoding: Literal["hex", "base64"] = Field("hex", description="how the signature is written in the header")
    prefix: str = Field("", description="text before the signature in the header, e.g. 'sha256='")


class StandardWebhooksSignature(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    scheme: Literal["standard-webhooks"] = "standard-webhooks"
    secret: SecretStr = Field(description="the signing secret, 'whsec_' followed by base64")
    tolerance_seconds: int = Field(300, ge=1, le=86400, description="how old or early a timestamp may be")

    @field_validator("secret")
    @classmethod
    def _whsec(cls, v: SecretStr) -> SecretStr:
        raw = v.get_secret_value()
        try:
            base64.b64decode(raw.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("must be 'whsec_' followed by base64 (as the sender shows it)") from None
        return v


class WebhookResponse(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    status: int = Field(202, ge=200, le=299, description="the 2xx status answered once the event is stored")
    body: Any = Field(default_factory=lambda: {"accepted": True}, description="JSON value, or text")
    content_type: str | None = Field(None, description="default: JSON for a JSON value, text/plain for text")
    _encoded: tuple | None = PrivateAttr(None)  # (body, content_type, answer): the answer encoded once


class WebhookConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    payload_format: PayloadFormat = Field("auto", description="how to read the body; auto follows Content-Type")
    sample_payload: Any = Field(None, description="an example payload (JSON value, or XML/form/text as a string)")
    signature: Union[HmacSignature, StandardWebhooksSignature, None] = Field(
        None, discriminator="scheme", description="check each request's signature (scheme: the kind); default: no check")
    response: WebhookResponse = Field(default_factory=WebhookResponse, description="the answer given to the sender")
    max_body_bytes: int | None = Field(
        None, ge=1, le=50 * 1_048_576,
        description="largest body accepted, in bytes; default: the server's limit (--max-body-bytes, 1 MiB)")


def _sample_payload(config: WebhookConfig) -> Any:
    sample = config.sample_payload
    if not isinstance(sample, str) or config.payload_format in ("text", "auto", "json"):
        if isinstance(sample, str) and config.payload_format == "json":
            return json.loads(sample)
        return sample
    return parse_payload(sample.encode("utf-8"), config.payload_format)


def _sent_bytes(value: str) -> bytes:
    """Return a header's value as the bytes the sender sent (the server reads headers as
    latin-1); a value outside latin-1 (a request built in Python) as UTF-8."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")


def _verify_hmac(sig: HmacSignature, request: InboundRequest) -> None:
    given = request.headers.get(sig.header.lower())
    if not given:
        raise TriggerRefused(401, f"Missing signature: the {sig.header} header is required.")
    given = given.strip()
    if sig.prefix and given.startswith(sig.prefix):
        given = given[len(sig.prefix):]
    digest = hmac.new(sig.secret.get_secret_value().encode("utf-8"), request.body, hashlib.sha256).digest()
    expected = digest.hex() if sig.encoding == "hex" else base64.b64encode(digest).decode("ascii")
    if sig.encoding == "hex":
        given = given.lower()
    # Compared as bytes: compare_digest refuses str with non-ASCII characters (a 500).
    if not hmac.compare_digest(expected.encode("ascii"), _sent_bytes(given)):
        raise TriggerRefused(401, f"Invalid signature in the {sig.header} header.")


def _verify_standard(sig: StandardWebhooksSignature, request: InboundRequest) -> str:
    msg_id = request.headers.get("webhook-id")
    stamp = request.headers.get("webhook-timestamp")
    signatures = request.headers.get("webhook-signature")
    if not (msg_id and stamp and signatures):
        raise TriggerRefused(401, "Missing signature: webhook-id, webhook-timestamp and webhook-signature are required.")
    # ASCII digits only: int() would also take "1_700_000_000", " 17", or other scripts' digits.
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) < 20):
        raise TriggerRefused(401, "Invalid webhook-timestamp: not a number of seconds.")
    if abs(time.time() - int(stamp)) > sig.tolerance_seconds:
        raise TriggerRefused(401, "The webhook-timestamp is outside the tolerance window (replayed or clock skew).")
    key = base64.b64decode(sig.secret.get_secret_value().removeprefix("whsec_"))
    signed = _sent_bytes(msg_id) + b"." + stamp.encode("ascii") + b"." + request.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(_sent_bytes(value), expected):
            return msg_id
    raise TriggerRefused(401, "Invalid signature in the webhook-signature header.")


def _answer(resp: WebhookResponse) -> tuple[bytes, str]:
    """Return the body and content type of the configured answer (encoded once per configuration)."""
    # Read from the private-attribute dict itself: the attribute lookup goes through
    # pydantic's __getattr__, which costs more than the rest of this function.
    cached = resp.__pydantic_private__.get("_encoded") if resp.__pydantic_private__ else None
    # Checked against the fields it came from: a copy made with other values
    # (model_copy carries private attributes over) must not answer the old body.
    if cached is not None and cached[0] is resp.body and cached[1] == resp.content_type:
        return cached[2]
    if isinstance(resp.body, str) and resp.content_type is None:
        found = resp.body.encode("utf-8"), "text/plain; charset=utf-8"
    elif isinstance(resp.body, str):
        found = resp.body.encode("utf-8"), resp.content_type
    else:
        found = json.dumps(resp.body, separators=(",", ":")).encode("utf-8"), resp.content_type or "application/json"
    resp._encoded = (resp.body, resp.content_type, found)
    return found


class WebhookTrigger(TriggerType):
    name = "webhook"
    title = "New webhook event"
    description = "Runs the recipe for every HTTP request sent to its unguessable URL."
    Config = WebhookConfig
    receives_http = True

    def sample_event(self, config: WebhookConfig) -> dict[str, Any]:
        return {
            "event_id": "evt_sample",
            "received_at": "2024-01-01T09:00:00+00:00",
            "method": "POST",
            "content_type": "application/json",
            "headers": {"content-type": "application/json"},
            "query": {},
            "payload": _sample_payload(config),
        }

    def dynamic_paths(self, config: WebhookConfig) -> list[str]:
        return ["headers", "query"]

    def max_body_bytes(self, config: WebhookConfig) -> int | None:
        return config.max_body_bytes

    def receive(self, config: WebhookConfig, request: InboundRequest) -> Received:
        # The server refused a larger body already; this is for callers that build the request.
        if config.max_body_bytes is not None and len(request.body) > config.max_body_bytes:
            raise TriggerRefused(413, f"The body is larger than {config.max_body_bytes} bytes (the trigger's max_body_bytes).")
        event_id = None
        if isinstance(config.signature, HmacSignature):
            _verify_hmac(config.signature, request)
        elif isinstance(config.signature, StandardWebhooksSignature):
            event_id = _verify_standard(config.signature, request)
        content_type = request.headers.get("content-type", "")
        payload = read_payload(request.body, content_type, config.payload_format)
        event = {
            "received_at": request.received_at.isoformat(),
            "method": request.method,
            "content_type": content_type,
            "headers": {k: MASK if k in SENSITIVE_HEADERS else v for k, v in request.headers.items()},
            "query": request.query,
            "payload": payload,
        }
        body, ctype = _answer(config.response)
        return Received(event=event, event_id=event_id, status=config.response.status, body=body, content_type=ctype)


@hookimpl
def register_triggers(register):
    register(WebhookTrigger())
