"""Turning ``connections add/edit`` flags into connection input: settings from
``--set``/``--secret``, certificate files, a spec file, and catalogue pre-fill."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from plugwire.core.base.errors import UserInputError
from plugwire.core.cli.common import read_mapping, read_secret, stdin_is_interactive

__all__ = [
    "ask_provider_fields",
    "certificate_input",
    "load_spec",
    "prefill_for",
    "put_dotted",
    "settings_from_flags",
]


def _secret_fields(auth_name: str) -> tuple[set[str], set[str]]:
    """Return (all secret top-level fields, required secret fields) of an auth type."""
    from plugwire.core.plugincore.manager import auth_types  # loads the plugins: only when asked

    auth = auth_types.get(auth_name)
    if auth is None:
        return set(), set()
    secret, required = set(), set()
    for f in auth.describe_fields():
        if f["secret"]:
            secret.add(f["name"])
            if f["required"]:
                required.add(f["name"])
    return secret, required


def put_dotted(target: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".", 1)
    if len(parts) == 2 and parts[1]:
        target.setdefault(parts[0], {})
        if not isinstance(target[parts[0]], dict):
            raise UserInputError(f"settings.{parts[0]} is not a mapping.", field=f"settings.{parts[0]}", fix="drop the dotted key")
        target[parts[0]][parts[1]] = value
    else:
        target[dotted] = value


def _value(text: str) -> Any:
    if text[:1] in "[{":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    return text


def settings_from_flags(auth_name: str, sets: list[str], secrets: list[str], *, prompt_missing: bool, existing: set[str] = frozenset()) -> dict[str, Any]:
    secret_fields, required_secret = _secret_fields(auth_name)
    settings: dict[str, Any] = {}
    for item in sets:
        key, sep, val = item.partition("=")
        if not sep or not key:
            raise UserInputError(f"--set {item!r} is not KEY=VALUE.", field="settings", fix="write --set key=value")
        if key.split(".", 1)[0] in secret_fields:
            raise UserInputError(
                f"settings.{key} is a secret and cannot be given with --set.",
                field=f"settings.{key}",
                fix=f"use --secret {key}=env:VAR, --secret {key}=file:PATH or --secret {key}=prompt",
            )
        put_dotted(settings, key, _value(val))
    for item in secrets:
        key, sep, source = item.partition("=")
        if not sep or not key:
            raise UserInputError(
                f"--secret {item!r} is not KEY=SOURCE.", field="settings", fix="write --secret key=env:VAR (or file:PATH, -, prompt)"
            )
        put_dotted(settings, key, read_secret(source, f"settings.{key}", f"--secret {key}=" + "{}"))
    if prompt_missing:
        for name in sorted(required_secret - set(settings) - set(existing)):
            if stdin_is_interactive():
                settings[name] = read_secret("prompt", name)
            else:
                raise UserInputError(
                    f"settings.{name} is required and is a secret.",
                    field=f"settings.{name}",
                    fix=f"pass --secret {name}=env:VAR or --secret {name}=file:PATH (or run in a terminal to be prompted)",
                )
    return settings


def _read_pem(path: Optional[Path], field: str) -> Optional[str]:
    if path is None:
        return None
    try:
        return Path(path).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not a text PEM file"
        raise UserInputError(f"{field}: cannot read {path} ({reason}).", field=field, fix="give a readable PEM file") from None


def certificate_input(cert_file, key_file, key_password, ca_file) -> Optional[dict[str, Any]]:
    if not any([cert_file, key_file, key_password, ca_file]):
        return None
    if cert_file is None and (key_file or key_password):
        raise UserInputError(
            "client_certificate.certificate is missing: a client key was given without a certificate.",
            field="client_certificate.certificate",
            fix="add --cert-file PATH",
        )
    out: dict[str, Any] = {}
    if cert_file:
        out["certificate"] = _read_pem(cert_file, "client_certificate.certificate")
    if key_file:
        out["private_key"] = _read_pem(key_file, "client_certificate.private_key")
    if key_password:
        out["key_password"] = read_secret(key_password, "client_certificate.key_password", "--key-password {}")
    if ca_file:
        out["ca_bundle"] = _read_pem(ca_file, "client_certificate.ca_bundle")
    return out


def load_spec(path: Path) -> dict[str, Any]:
    """Return the connection a ``--from-file`` JSON or YAML file describes; raises
    ``UserInputError`` (field ``from_file``) for a file that cannot be one."""
    return read_mapping(path, "from_file", "name, auth_type, settings...", label="--from-file: ")


def ask_provider_fields(prefill: dict[str, Any], sets: list[str], secrets: list[str], given: dict[str, Any]) -> dict[str, Any]:
    """Return the credentials the catalogue says the provider needs and the flags did not give:
    prompted for in a terminal, otherwise refused naming the field and the flag to use."""
    have = {item.partition("=")[0] for item in [*sets, *secrets]}

    def given_already(key: str) -> bool:
        head, _, rest = key.partition(".")
        return key in have or (head in given and (not rest or rest in (given.get(head) or {})))

    hints = prefill.get("hints") or {}
    asked: dict[str, Any] = {}
    for key, secret in [(k, False) for k in prefill.get("user_fields", [])] + [(k, True) for k in prefill.get("secret_fields", [])]:
        if given_already(key):
            continue
        label = f"settings.{key}" + (f" ({hints[key]})" if hints.get(key) else "")
        if stdin_is_interactive():
            asked[key] = read_secret("prompt", label) if secret else typer.prompt(label)
            continue
        flag = f"--secret {key}=env:VAR or --secret {key}=file:PATH" if secret else f"--set {key}=VALUE"
        raise UserInputError(
            f"settings.{key} is required for provider {prefill.get('provider')!r}" + (f" ({hints[key]})." if hints.get(key) else "."),
            field=f"settings.{key}",
            fix=f"pass {flag} (or run in a terminal to be prompted)",
        )
    return asked


def prefill_for(provider: str) -> dict[str, Any]:
    """Return connection defaults from the catalogue's auth hints for ``provider``."""
    from plugwire.knowledge.prefill import connection_defaults  # loads the catalogue: only when asked

    return connection_defaults(provider)
