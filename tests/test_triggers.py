"""The trigger plugins: scheduler slots, webhook payloads and signatures, and the hook."""

import base64
import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import BaseModel, ValidationError

from plugwire import hookimpl
from plugwire.core.plugincore.manager import triggers
from plugwire.core.plugincore.triggers import InboundRequest, TriggerRefused, TriggerType
from plugwire.core.recipes.model import Recipes

START = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)


def _req(body: bytes, content_type: str = "application/json", **headers: str) -> InboundRequest:
    h = {"content-type": content_type, **{k.replace("_", "-").lower(): v for k, v in headers.items()}}
    return InboundRequest("POST", h, {"src": "crm"}, body, datetime.now(timezone.utc))


# -- scheduler -----------------------------------------------------------------------------
def test_scheduler_runs_at_start_then_on_the_interval():
    kind = triggers.get("scheduler")
    config = kind.Config(interval_seconds=60)
    first = kind.next_fire(config, START, None)
    assert first == START
    assert kind.next_fire(config, START, first) == START + timedelta(seconds=60)
    # After a pause the next slot is the first after "now", on the same grid.
    assert kind.next_fire(config, START, START + timedelta(seconds=150)) == START + timedelta(seconds=180)
    assert kind.next_fire(kind.Config(interval_seconds=60, run_on_start=False), START, None) == START + timedelta(seconds=60)


def test_scheduler_cron_in_a_time_zone():
    kind = triggers.get("scheduler")
    config = kind.Config(cron="0 9 * * *", timezone="Europe/Paris", run_on_start=False)
    due = kind.next_fire(config, START, None)
    assert due == datetime(2024, 5, 2, 7, 0, tzinfo=timezone.utc)  # 09:00 CEST
    event = kind.event_at(config, due, due)
    assert event["scheduled_at"] == "2024-05-02T07:00:00+00:00" and event["schedule"] == "0 9 * * *"


@pytest.mark.parametrize("data", [{}, {"interval_seconds": 5, "cron": "* * * * *"}, {"cron": "every day"}, {"interval_seconds": 0.1},
                                  {"cron": "* * * * *", "timezone": "Mars/Base"}])
def test_scheduler_config_mistakes_are_refused(data):
    with pytest.raises(ValidationError):
        triggers.get("scheduler").Config(**data)


# -- webhook payloads ----------------------------------------------------------------------
def test_webhook_reads_json_form_xml_text_and_raw():
    kind = triggers.get("webhook")
    config = kind.Config()
    got = kind.receive(config, _req(b'{"venue": {"name": "Hall"}}'))
    assert got.event["payload"] == {"venue": {"name": "Hall"}} and got.event["query"] == {"src": "crm"}
    assert got.status == 202 and json.loads(got.body) == {"accepted": True}
    assert kind.receive(config, _req(b"a=1&b=2&b=3", "application/x-www-form-urlencoded")).event["payload"] == {"a": "1", "b": ["2", "3"]}
    xml = kind.receive(config, _req(b'<order id="7"><item>x</item><item>y</item></order>', "application/xml")).event["payload"]
    assert xml == {"order": {"@id": "7", "item": ["x", "y"]}}
    assert kind.receive(config, _req(b"hello", "text/plain")).event["payload"] == "hello"
    raw = kind.receive(config, _req(b"\x00\xff", "application/octet-stream")).event["payload"]
    assert raw == {"base64": "AP8=", "size": 2}
    forced = kind.receive(kind.Config(payload_format="text"), _req(b'{"a":1}')).event["payload"]
    assert forced == '{"a":1}'


def test_webhook_refuses_unreadable_and_oversized_payloads():
    kind = triggers.get("webhook")
    with pytest.raises(TriggerRefused) as info:
        kind.receive(kind.Config(), _req(b"{not json"))
    assert info.value.status == 400 and "JSON" in info.value.message
    with pytest.raises(TriggerRefused) as info:
        kind.receive(kind.Config(max_body_bytes=4), _req(b'{"a": 1}'))
    assert info.value.status == 413


def test_webhook_keeps_credentials_of_the_sender_out_of_the_event():
    kind = triggers.get("webhook")
    got = kind.receive(kind.Config(), _req(b"{}", authorization="Bearer sender-secret-xyz", x_trace="t1"))
    assert got.event["headers"]["authorization"] == "••••••" and got.event["headers"]["x-trace"] == "t1"


def test_webhook_response_is_configurable():
    kind = triggers.get("webhook")
    got = kind.receive(kind.Config(response={"status": 200, "body": "OK"}), _req(b"{}"))
    assert got.status == 200 and got.body == b"OK" and got.content_type.startswith("text/plain")
    with pytest.raises(ValidationError):
        kind.Config(response={"status": 500})


# -- signatures ----------------------------------------------------------------------------
def test_hmac_signature_hex_and_base64():
    kind = triggers.get("webhook")
    body = b'{"id": 1}'
    digest = hmac.new(b"shh-its-a-secret", body, hashlib.sha256)
    hexed = kind.Config(signature={"scheme": "hmac-sha256", "secret": "shh-its-a-secret", "header": "X-Hub-Signature-256", "prefix": "sha256="})
    kind.receive(hexed, _req(body, x_hub_signature_256="sha256=" + digest.hexdigest()))
    b64 = kind.Config(signature={"scheme": "hmac-sha256", "secret": "shh-its-a-secret", "header": "X-Sig", "encoding": "base64"})
    kind.receive(b64, _req(body, x_sig=base64.b64encode(digest.digest()).decode()))
    for headers, word in (({}, "Missing"), ({"x_sig": "AAAA"}, "Invalid")):
        with pytest.raises(TriggerRefused) as info:
            kind.receive(b64, _req(body, **headers))
        assert info.value.status == 401 and word in info.value.message
    with pytest.raises(TriggerRefused):  # a changed body no longer matches
        kind.receive(hexed, _req(body + b" ", x_hub_signature_256="sha256=" + digest.hexdigest()))


def standard_headers(secret: str, body: bytes, msg_id: str = "msg_1", stamp: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if stamp is None else stamp
    key = base64.b64decode(secret.removeprefix("whsec_"))
    sig = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()).decode()
    return {"webhook-id": msg_id, "webhook-timestamp": str(stamp), "webhook-signature": f"v1,{sig}"}


def test_standard_webhooks_signature():
    kind = triggers.get("webhook")
    secret = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
    config = kind.Config(signature={"scheme": "standard-webhooks", "secret": secret, "tolerance_seconds": 300})
    body = b'{"type": "venue.created"}'
    good = standard_headers(secret, body)
    got = kind.receive(config, InboundRequest("POST", {"content-type": "application/json", **good}, {}, body, datetime.now(timezone.utc)))
    assert got.event_id == "msg_1"
    rotated = dict(good, **{"webhook-signature": "v1,bm90IGl0 " + good["webhook-signature"]})  # several signatures: any may match
    kind.receive(config, InboundRequest("POST", rotated, {}, body, datetime.now(timezone.utc)))
    cases = [
        ({}, "Missing"),
        (dict(good, **{"webhook-signature": "v1,AAAA"}), "Invalid signature"),
        (standard_headers(secret, body, stamp=int(time.time()) - 3600), "tolerance"),
        (dict(good, **{"webhook-id": "msg_2"}), "Invalid signature"),
    ]
    for headers, word in cases:
        with pytest.raises(TriggerRefused) as info:
            kind.receive(config, InboundRequest("POST", headers, {}, body, datetime.now(timezone.utc)))
        assert info.value.status == 401 and word in info.value.message
    with pytest.raises(ValidationError):
        kind.Config(signature={"scheme": "standard-webhooks", "secret": "whsec_not base64!"})


# -- the hook: a third-party trigger type, registered in the test ---------------------------
class _TicketConfig(BaseModel):
    queue: str


class TicketTrigger(TriggerType):
    name = "test-ticket"
    title = "New ticket"
    Config = _TicketConfig

    def sample_event(self, config):
        return {"ticket": {"id": 1, "queue": config.queue, "subject": "Printer on fire"}}


class _TicketPlugin:
    @hookimpl
    def register_triggers(self, register):
        register(TicketTrigger())


def test_register_triggers_hook_adds_a_trigger_whose_datatree_checks_pills(register_plugin, home):
    register_plugin(_TicketPlugin(), name="test-ticket-plugin")
    assert "test-ticket" in triggers.names()
    from recipes_support import save_action

    save_action(home, "notify", method="POST", url="https://chat.example.com/send", body_format="json", body={"text": "x"}, sample={"ok": True})
    recipes = Recipes(home)
    recipe = recipes.create({"name": "tickets", "trigger": {"type": "test-ticket", "config": {"queue": "ops"}},
                             "steps": [{"action": "notify", "body": {"text": "{{trigger.ticket.subject}}"}}]})
    assert recipe.trigger.config == {"queue": "ops"}
    with pytest.raises(Exception) as info:
        recipes.create({"name": "tickets2", "trigger": {"type": "test-ticket", "config": {"queue": "ops"}},
                        "steps": [{"action": "notify", "body": {"text": "{{trigger.ticket.title}}"}}]})
    assert "ticket.title" in str(info.value)


def test_a_trigger_that_does_not_receive_http_says_so():
    with pytest.raises(Exception) as info:
        triggers.get("scheduler").receive(None, _req(b""))
    assert "does not receive HTTP" in str(info.value)
