"""Asking every registered suggester for a sample request, and merging the answers
into one ranked list (:func:`suggest`)."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from plugwire.core.base.errors import PlugwireError, UserInputError
from plugwire.core.plugincore.manager import suggesters
from plugwire.core.plugincore.suggesters import Suggestion

__all__ = ["METHODS", "SuggestionResult", "request_line", "suggest"]

log = logging.getLogger(__name__)

#: The methods a suggestion is asked for (core.http.exchange.METHODS, kept here so that
#: the suggest command need not import the HTTP layer to check a method).
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


class SuggestionResult(BaseModel):
    """Every suggestion above the cutoff, best first, and a message when there is none."""

    method: str
    url: str
    suggestions: list[Suggestion]
    message: str | None = None
    problems: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)  # what was assumed about the input (a scheme)

    @property
    def best(self) -> Suggestion | None:
        """Return the top suggestion, or None."""
        return self.suggestions[0] if self.suggestions else None


def _looks_like_url(text: str) -> bool:
    return "://" in text or "/" in text or "." in text


def request_line(method: str | None, url: str | None) -> tuple[str, str, list[str]]:
    """Check what a user typed as ``METHOD URL`` before anything is suggested.

    Returns ``(METHOD, absolute URL, notes)``: the method upper-cased, and a URL
    without a scheme (``api.github.com/repos/a/b``) read as ``https://`` with a note
    saying so. Raises ``UserInputError`` naming ``method`` (missing, a URL in its
    place, or not an HTTP method such as ``FETCH``) or ``url`` (missing, another
    scheme, no host, spaces), each with the fix.
    """
    method = (method or "").strip()
    url = (url or "").strip()
    if not url:
        if _looks_like_url(method):
            raise UserInputError(
                f"The method is missing: {method!r} is a URL.", field="method",
                fix=f"put the HTTP method first, e.g. `plugwire suggest GET {method}`",
            )
        raise UserInputError("The URL is missing.", field="url", fix="give the URL after the method, e.g. GET https://api.example.com/v1/items")
    verb = method.upper()
    if verb not in METHODS:
        swapped = _looks_like_url(method) and url.upper() in METHODS
        raise UserInputError(
            f"method {method!r} is not an HTTP method.", field="method",
            fix=f"put the method first: `plugwire suggest {url.upper()} {method}`" if swapped else f"use one of {', '.join(METHODS)}",
        )
    notes: list[str] = []
    if "://" not in url:
        if url.startswith("/") or not url.split("/", 1)[0].strip():
            raise UserInputError(
                f"url {url!r} has no host.", field="url", fix="give an absolute URL such as https://api.example.com/v1/items"
            )
        url = "https://" + url
        notes.append(f"The URL has no scheme: https:// was assumed ({url}).")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a bad port raises here
    except ValueError as exc:
        raise UserInputError(f"url {url!r} cannot be read: {exc}.", field="url", fix="give an absolute URL such as https://api.example.com/v1/items") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise UserInputError(
            f"url {url!r} uses the scheme {parts.scheme!r}; plugwire suggests HTTP requests only.",
            field="url", fix="use an http:// or https:// URL",
        )
    if not parts.hostname:
        raise UserInputError(f"url {url!r} has no host.", field="url", fix="give an absolute URL such as https://api.example.com/v1/items")
    if any(ch.isspace() for ch in url):
        raise UserInputError(f"url {url!r} contains spaces.", field="url", fix="percent-encode spaces as %20")
    return verb, url, notes


def suggest(method: str, url: str, connection: Any = None, *, limit: int = 5) -> SuggestionResult:
    """Ask every registered suggester and merge their answers, best score first.

    Returns a :class:`SuggestionResult`; a suggester that raises is reported in
    ``problems`` (naming it) and the others still answer.
    """
    merged: list[Suggestion] = []
    problems: list[str] = []
    for name, suggester in suggesters.items().items():
        try:
            found = suggester.suggest(method.upper(), url, connection, limit=limit)
        except Exception as exc:  # one broken suggester must not hide the others
            problems.append(f"suggester {name!r} failed: {type(exc).__name__}: {exc}")
            # A PlugwireError is the input's fault; anything else is a bug whose traceback the log keeps.
            log.warning("suggester %s failed: %s", name, exc, exc_info=not isinstance(exc, PlugwireError))
            continue
        for s in found:
            if not isinstance(s, Suggestion):
                problems.append(f"suggester {name!r} returned {type(s).__name__}, not a Suggestion")
                continue
            merged.append(s)
    merged.sort(key=lambda s: (-s.score, s.suggester, s.endpoint or ""))
    merged = _dedupe(merged)[:limit]
    message = None
    if not merged:
        message = (
            f"No suggestion for {method.upper()} {url}: no known endpoint matched well enough. "
            "Start from a blank request, or import a cURL command or an OpenAPI document."
        )
    return SuggestionResult(method=method.upper(), url=url, suggestions=merged, message=message, problems=problems)


def _dedupe(items: list[Suggestion]) -> list[Suggestion]:
    """Keep the best-scored suggestion per (provider, endpoint, learned)."""
    seen: set[tuple] = set()
    out = []
    for s in items:
        key = (s.suggester, s.provider, s.endpoint, s.learned) if s.endpoint else (id(s),)
        if key in seen:
            continue
        seen.add(key)
        out.append(s)
    return out
