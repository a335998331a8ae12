"""URL checks shared by connections, the wizard and recipes."""

from __future__ import annotations

import httpx2

from plugwire.core.base.errors import UserInputError

__all__ = ["validate_absolute_url"]


def validate_absolute_url(value: str | None, field: str, *, schemes: tuple[str, ...] = ("http", "https")) -> str:
    """Return ``value`` stripped when it is an absolute http(s) URL with a host.

    Raises ``UserInputError`` naming ``field`` and the reason otherwise (empty,
    spaces, relative, other scheme, no host, bad port).
    """
    text = (value or "").strip()
    example = "https://api.example.com/v1/items"
    if not text:
        raise UserInputError(f"{field} is empty.", field=field, fix=f"give an absolute URL such as {example}")
    if any(ch.isspace() for ch in text):
        raise UserInputError(
            f"{field} contains spaces: {text!r}.", field=field, fix="percent-encode spaces as %20 or remove them"
        )
    if "://" not in text:
        raise UserInputError(
            f"{field} {text!r} is relative: it has no scheme and host.",
            field=field,
            fix=f"give an absolute URL such as {example}",
        )
    try:
        url = httpx2.URL(text)
    except Exception as exc:
        raise UserInputError(f"{field} {text!r} is not a valid URL ({exc}).", field=field, fix=f"use a URL such as {example}") from None
    if url.scheme not in schemes:
        raise UserInputError(
            f"{field} {text!r} uses the scheme {url.scheme!r}.",
            field=field,
            fix=f"use {' or '.join(schemes)}",
        )
    if not url.host:
        raise UserInputError(f"{field} {text!r} has no host.", field=field, fix=f"give an absolute URL such as {example}")
    try:
        port = url.port
    except Exception:
        port = -1
    if port is not None and not 0 < port < 65536:  # httpx2 takes :99999 and fails only when connecting
        raise UserInputError(f"{field} {text!r} has an invalid port.", field=field, fix="use a port from 1 to 65535")
    return text
