"""The "link your account" form: its fields come from the chosen auth type's model,
and what the browser sends back becomes the input of ``Connections.create`` or
``Connections.edit``.

Secrets are password fields that are never filled in: on an edit form they show a
"keep current" placeholder, and a secret left empty keeps its value. The client
certificate comes as uploaded PEM files, kept unless new ones are uploaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData, UploadFile

from plugwire.core.base.errors import UserInputError
from plugwire.core.connections.model import Connection
from plugwire.core.connections.options import DEFAULT_MAX_RESPONSE_BYTES
from plugwire.core.plugincore.auth import AuthType
from plugwire.core.web.render import field as text_field
from plugwire.core.web.render import form_rows

__all__ = ["FormField", "auth_fields", "connection_input", "current_values", "form_values"]

#: The options every connection has, besides its auth settings, as form fields.
OPTION_FIELDS = ("description", "provider", "base_url", "test_url", "agent_url", "timeout", "max_response_bytes")
CERT_FILES = ("certificate", "private_key", "ca_bundle")


@dataclass
class FormField:
    """One input of an auth type's settings, as the form shows it."""

    name: str
    label: str
    kind: str  # text, password, checkbox, number, select, mapping
    required: bool
    secret: bool
    description: str
    default: Any = None
    choices: list[str] = field(default_factory=list)
    integer: bool = False


def _choices(prop: dict[str, Any]) -> list[str]:
    if "enum" in prop:
        return [str(v) for v in prop["enum"]]
    for option in prop.get("anyOf", []):
        if "enum" in option:
            return [str(v) for v in option["enum"]]
    return []


def auth_fields(auth: AuthType) -> list[FormField]:
    """Return the form fields of ``auth``'s Settings model, in the model's order."""
    props = auth.Settings.model_json_schema().get("properties", {})
    out = []
    for info in auth.describe_fields():
        name = info["name"]
        default = info["default"]
        choices = _choices(props.get(name, {}))
        kind = info["type"]
        if choices:
            widget = "select"
        elif kind == "mapping":
            widget = "mapping"
        elif kind == "boolean":
            widget = "checkbox"
        elif kind in ("integer", "number"):
            widget = "number"
        else:
            widget = "password" if info["secret"] else "text"
        out.append(
            FormField(
                name=name, label=name.replace("_", " "), kind=widget, required=info["required"], secret=info["secret"],
                description=info["description"], default=default, choices=choices, integer=kind == "integer",
            )
        )
    return out


def _number(raw: str, where: str, integer: bool) -> int | float:
    try:
        return int(raw) if integer else float(raw)
    except ValueError:
        raise UserInputError(f"{where} must be a {'whole ' if integer else ''}number, not {raw!r}.", field=where, fix="type a number") from None


def _settings(form: FormData, fields: list[FormField], current: dict[str, Any] | None) -> tuple[dict[str, Any], list[str]]:
    """Return the settings the form sets and, when editing, the settings it clears."""
    settings: dict[str, Any] = {}
    unset: list[str] = []
    for f in fields:
        key = f"settings.{f.name}"
        old = (current or {}).get(f.name)
        if f.kind == "checkbox":
            settings[f.name] = form.get(key) is not None
        elif f.kind == "mapping":
            rows = form_rows(form, key)
            if current is None:
                if rows:
                    settings[f.name] = dict(rows)
                continue
            kept = old if isinstance(old, dict) else {}
            given = {k: v for k, v in rows if v or not (f.secret and k in kept)}
            if given:
                settings[f.name] = given
            unset += [f"{f.name}.{k}" for k in kept if k not in dict(rows)]
        else:
            raw = text_field(form, key) if not f.secret else str(form.get(key) or "")
            if raw == "":
                # An empty secret keeps the stored one; an emptied setting goes back to its default.
                if current is not None and not f.secret and old not in (None, "", f.default):
                    unset.append(f.name)
                continue
            settings[f.name] = _number(raw, key, f.integer) if f.kind == "number" else raw
    return settings, unset


async def _read_pem(upload: Any, where: str) -> str | None:
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    data = await upload.read()
    if not data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UserInputError(f"{where}: {upload.filename} is not a PEM text file.", field=where, fix="upload the .pem (not a DER or .p12 file)") from None


async def _certificate(form: FormData, current: Connection | None) -> tuple[bool, dict[str, Any] | None]:
    """Return ``(changed, client_certificate)`` from the uploads (None removes it)."""
    if form.get("cert.remove") is not None:
        return True, None
    given: dict[str, Any] = {}
    for name in CERT_FILES:
        pem = await _read_pem(form.get(f"cert.{name}"), f"client_certificate.{name}")
        if pem is not None:
            given[name] = pem
    password = str(form.get("cert.key_password") or "")
    if password:
        given["key_password"] = password
    if not given:
        return False, None
    old = current.options.client_certificate if current is not None else None
    if old is not None:
        kept = {k: v for k, v in old.model_dump(mode="python").items() if v is not None}
        if "certificate" in given:  # a new certificate brings its own key
            kept.pop("private_key", None)
            kept.pop("key_password", None)
        given = {**kept, **given}
    return True, given


async def connection_input(
    form: FormData, auth: AuthType, current: Connection | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Return ``(data, unset)`` for ``Connections.create`` (``current`` None) or
    ``Connections.edit``: options, ``settings`` and the client certificate from the
    form. Raises ``UserInputError`` naming a field that cannot be read."""
    data: dict[str, Any] = {"name": text_field(form, "name"), "auth_type": auth.name}
    for name in OPTION_FIELDS:
        raw = text_field(form, name)
        if raw or current is not None:
            if name == "timeout":
                data[name] = _number(raw, name, False) if raw else 30.0
            elif name == "max_response_bytes":
                data[name] = _number(raw, name, True) if raw else DEFAULT_MAX_RESPONSE_BYTES
            else:
                data[name] = raw or ("" if name == "description" else None)
    if current is None and data.get("timeout") is None:
        data.pop("timeout", None)
    data["private_network"] = form.get("private_network") is not None
    data["verify_tls"] = form.get("verify_tls") is not None
    old_settings = None
    if current is not None and current.auth_type == auth.name:
        old_settings = current.settings.model_dump(mode="python")
    settings, unset = _settings(form, auth_fields(auth), old_settings if current is not None else None)
    data["settings"] = settings
    changed, cert = await _certificate(form, current)
    if changed:
        data["client_certificate"] = cert
    return data, unset


def current_values(conn: Connection) -> dict[str, Any]:
    """Return what an edit form shows: options and non-secret settings as they are,
    secrets left out (mapping rows keep their names, with empty values)."""
    values = {k: v for k, v in conn.options.model_dump(mode="python").items() if k != "client_certificate"}
    shown: dict[str, Any] = {}
    secret_names = {f.name for f in auth_fields(conn.auth_type_plugin()) if f.secret}
    for name, value in conn.settings.model_dump(mode="python").items():
        if name in secret_names:
            shown[name] = {k: "" for k in value} if isinstance(value, dict) else None
        else:
            shown[name] = value
    values["settings"] = shown
    return values


def form_values(form: FormData, auth: AuthType | None) -> dict[str, Any]:
    """Return what a form that was refused shows again: what the user typed, except
    secrets (mapping rows keep their names, with empty values)."""
    values: dict[str, Any] = {
        k: v for k, v in form.items() if isinstance(v, str) and not k.startswith(("settings.", "cert.")) and k != "csrf"
    }
    values["private_network"] = form.get("private_network") is not None
    values["verify_tls"] = form.get("verify_tls") is not None
    settings: dict[str, Any] = {}
    for f in auth_fields(auth) if auth else []:
        key = f"settings.{f.name}"
        if f.kind == "mapping":
            pairs = zip(form.getlist(f"{key}.key"), form.getlist(f"{key}.value"))
            settings[f.name] = {str(k).strip(): ("" if f.secret else str(v)) for k, v in pairs if str(k).strip()}
        elif f.kind == "checkbox":
            settings[f.name] = form.get(key) is not None
        elif not f.secret:
            settings[f.name] = text_field(form, key)
    values["settings"] = settings
    return values
