"""The trigger part of the recipe form: friendly fields for the built-in webhook and
scheduler triggers, the configuration as JSON for any other trigger type.

A secret of the configuration (a webhook's signing secret) is a password field left
empty on an edit form; left empty, it keeps its value.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import FormData

from plugwire.core.base.errors import UserInputError
from plugwire.core.base.secrets import MASK
from plugwire.core.web.render import field, json_lines

__all__ = ["trigger_config", "trigger_values"]


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UserInputError(
            f"{where} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.", field=where, fix="correct the JSON"
        ) from None


def _unmask(new: Any, old: Any) -> Any:
    """Put back the stored value wherever the edited JSON still shows the mask."""
    if new == MASK or (isinstance(new, str) and new.startswith(MASK)):
        return old
    if isinstance(new, dict) and isinstance(old, dict):
        return {k: _unmask(v, old.get(k)) for k, v in new.items()}
    return new


def _webhook(form: FormData, old: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {"payload_format": field(form, "payload_format", "auto")}
    sample = field(form, "sample_payload")
    if sample:
        config["sample_payload"] = _json(sample, "sample_payload") if config["payload_format"] in ("auto", "json") else sample
    scheme = field(form, "signature_scheme")
    if not scheme:
        _no_signature_fields(form)
    else:
        secret = str(form.get("signature_secret") or "")
        kept = old.get("signature") or {}
        if not secret and kept.get("scheme") == scheme:
            secret = kept.get("secret") or ""
        if not secret:
            raise UserInputError("The signature needs its shared secret.", field="signature_secret", fix="type the secret the sender signs with")
        signature: dict[str, Any] = {"scheme": scheme, "secret": secret}
        if scheme == "hmac-sha256":
            signature.update(header=field(form, "signature_header") or "X-Signature-256", encoding=field(form, "signature_encoding") or "hex",
                             prefix=field(form, "signature_prefix"))
        config["signature"] = signature
    status = field(form, "response_status")
    if status:
        if not status.isdigit():
            raise UserInputError("response status must be a number such as 202.", field="response_status", fix="type a 2xx status")
        config["response"] = {**(old.get("response") or {}), "status": int(status)}
    return config


def _no_signature_fields(form: FormData) -> None:
    """Refuse a shared secret typed while the check is 'none' (the page hides the
    field then; a browser without its script or stylesheet may not). The header,
    encoding and prefix are not refused: an edit form fills them in from the stored
    check, and they mean nothing without one."""
    if field(form, "signature_secret"):
        raise UserInputError(
            "signature_secret is set but the signature check is 'none', so it would not be used.",
            field="signature_scheme",
            fix="choose a signature check, or clear the shared secret",
        )


def _scheduler(form: FormData) -> dict[str, Any]:
    config: dict[str, Any] = {"timezone": field(form, "timezone") or "UTC", "run_on_start": form.get("run_on_start") is not None}
    interval = field(form, "interval_seconds")
    if interval:
        try:
            config["interval_seconds"] = float(interval)
        except ValueError:
            raise UserInputError("interval_seconds must be a number of seconds.", field="interval_seconds", fix="e.g. 3600") from None
    cron = field(form, "cron")
    if cron:
        config["cron"] = cron
    return config


def trigger_config(form: FormData, kind: str, old: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the trigger configuration the form describes (``old``: the stored one,
    secrets in clear, when editing). Raises ``UserInputError`` naming the field."""
    old = old or {}
    if kind == "webhook":
        return _webhook(form, old)
    if kind == "scheduler":
        return _scheduler(form)
    text = field(form, "config")
    config = _json(text, "config") if text else {}
    if not isinstance(config, dict):
        raise UserInputError("config must be a JSON object.", field="config", fix='write {"key": value, ...}')
    return _unmask(config, old)


def trigger_values(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """Return what the trigger form shows for a stored (masked) ``config``."""
    if kind == "webhook":
        sig = config.get("signature") or {}
        sample = config.get("sample_payload")
        return {
            "payload_format": config.get("payload_format", "auto"),
            "sample_payload": "" if sample is None else sample if isinstance(sample, str) else json_lines(sample)[0],
            "signature_scheme": sig.get("scheme", ""), "signature_header": sig.get("header", "X-Signature-256"),
            "signature_encoding": sig.get("encoding", "hex"), "signature_prefix": sig.get("prefix", ""),
            "has_secret": bool(sig), "response_status": (config.get("response") or {}).get("status", 202),
        }
    if kind == "scheduler":
        return {k: config.get(k) for k in ("interval_seconds", "cron", "timezone", "run_on_start")}
    return {"config": json_lines(config)[0]}
