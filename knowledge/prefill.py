"""Connection defaults from a provider's auth hints (``plugwire connections add --provider``).

The first auth hint of the provider decides the auth type. Non-secret settings
(OAuth2 URLs, scope, header names) are pre-filled; the credentials the user must
supply are listed as dotted ``secret_fields`` (``client_secret``,
``headers.Authorization``, ``params.key``, ``password``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from plugwire.core.base.errors import UserInputError

__all__ = ["connection_defaults", "find_provider", "settings_from_hint"]


def find_provider(provider_or_url: str, home: Any = None):
    """Return the :class:`~plugwire.knowledge.index.ProviderEntry` for a provider id
    or a URL on one of its hosts.

    Raises ``UserInputError`` (field ``provider``) when neither is known.
    """
    from plugwire.knowledge.base import get_knowledge
    from plugwire.knowledge.match import resolve_host
    from plugwire.knowledge.normalize import normalize_url

    text = (provider_or_url or "").strip()
    index = get_knowledge(home).catalogue().index
    pi = index.by_id.get(text.lower())
    if pi is None and "://" in text:
        rules = [r for r in resolve_host(index, normalize_url(text).host) if r.strong]
        if rules:
            pi = rules[0].provider
    if pi is None:
        raise UserInputError(
            f"provider {text!r} is not in the catalogue (neither a provider id nor a URL on a known host).",
            field="provider",
            fix="see the known providers with `plugwire knowledge list`, or drop --provider and choose --auth",
        )
    return index.providers[pi]


def _with_params(url: str, params: dict[str, str]) -> str:
    if not params:
        return url
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(params)
    return urlunsplit(parts._replace(query=urlencode(query)))


def settings_from_hint(hint: dict[str, Any]) -> tuple[dict[str, Any], list[str], list[str]]:
    """Return ``(non-secret settings, dotted secret fields, plain fields the user
    supplies)`` for one auth hint (as dumped from the catalogue)."""
    kind = hint["type"]
    if kind == "oauth2":
        settings = {
            "authorize_url": _with_params(hint["authorize_url"], hint.get("authorize_params") or {}),
            "token_url": hint["token_url"],
            "scope": " ".join(hint.get("scopes") or []),
            "use_pkce": bool(hint.get("pkce")),
        }
        return settings, ["client_secret"], ["client_id"]
    if kind == "oauth2_client_credentials":
        settings = {"token_url": hint["token_url"], "scope": " ".join(hint.get("scopes") or [])}
        return settings, ["client_secret"], ["client_id"]
    if kind == "header":
        return {}, [f"headers.{name}" for name in hint["headers"]], []
    if kind == "query":
        return {}, [f"params.{name}" for name in hint["params"]], []
    if kind in ("basic", "digest"):
        return {}, ["password"], ["username"]
    return {}, [], []


def connection_defaults(provider_or_url: str, home: Any = None) -> dict[str, Any]:
    """Return the defaults of a connection to a catalogue provider.

    ``provider_or_url`` is a provider id (``eventbrite``) or a URL on one of its
    hosts. Returns ``{"provider", "auth_type", "base_url", "settings",
    "secret_fields", "hints"}``: ``settings`` holds no secret, ``secret_fields``
    names what the user must supply, ``hints`` the catalogue's help text per field.
    Raises ``UserInputError`` (field ``provider``) for an unknown provider.
    """
    prov = find_provider(provider_or_url, home)
    hint = prov.auth[0] if prov.auth else {"type": "none"}
    settings, secret_fields, user_fields = settings_from_hint(hint)
    hints = {}
    for key in ("username", "password"):
        if hint.get(key):
            hints[key] = hint[key]
    if hint.get("notes"):
        hints["notes"] = hint["notes"]
    if hint.get("format"):
        hints["format"] = hint["format"]
    base_url = None
    host = next((h for h in prov.hosts if "{" not in h), None)
    if "://" in provider_or_url:
        parts = urlsplit(provider_or_url.strip())
        base_url = f"{parts.scheme}://{parts.netloc}"
    elif host:
        base_url = f"https://{host}"
    return {
        "provider": prov.provider,
        "auth_type": hint["type"],
        "base_url": base_url,
        "settings": settings,
        "secret_fields": secret_fields,
        "user_fields": user_fields,
        "hints": hints,
    }
