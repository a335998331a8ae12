"""Asking every registered suggester for a sample request, and merging the answers
into one ranked list: :func:`suggest_data` in plain data (the JSON form of
:class:`SuggestionResult`, what ``plugwire suggest`` prints, no pydantic imported
when every suggester answers in data), :func:`suggest` as the model."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from plugwire.core.base.errors import PlugwireError, UserInputError
from plugwire.core.plugincore.manager import suggesters
from plugwire.core.plugincore.suggesters import Suggester, data_problem

if TYPE_CHECKING:
    from plugwire.core.wizard.suggest_result import SuggestionResult

__all__ = ["METHODS", "SuggestionResult", "request_line", "suggest", "suggest_data"]

log = logging.getLogger(__name__)

#: The methods a suggestion is asked for (core.http.exchange.METHODS, kept here so that
#: the suggest command need not import the HTTP layer to check a method).
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def __getattr__(name: str) -> Any:
    # The result's pydantic model, imported on first use (PEP 562).
    if name == "SuggestionResult":
        from plugwire.core.wizard.suggest_result import SuggestionResult

        return SuggestionResult
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    from plugwire.core.wizard.suggest_result import SuggestionResult

    return SuggestionResult.model_validate(suggest_data(method, url, connection, limit=limit))


def suggest_data(method: str, url: str, connection: Any = None, *, limit: int = 5) -> dict[str, Any]:
    """Return what :func:`suggest` returns in its JSON form
    (``SuggestionResult.model_dump(mode="json")``).

    A suggester that answers in data (:meth:`Suggester.suggest_data`) is asked for
    data, and an answer :func:`data_problem` vouches for is taken as it is; any other
    answer goes through the model (and is refused, naming the suggester, if it does
    not fit).
    """
    verb = method.upper()
    merged: list[dict[str, Any]] = []
    problems: list[str] = []
    for name, suggester in suggesters.items().items():
        try:
            merged.extend(_answers(name, suggester, verb, url, connection, limit, problems))
        except Exception as exc:  # one broken suggester must not hide the others
            problems.append(f"suggester {name!r} failed: {type(exc).__name__}: {exc}")
            # A PlugwireError is the input's fault; anything else is a bug whose traceback the log keeps.
            log.warning("suggester %s failed: %s", name, exc, exc_info=not isinstance(exc, PlugwireError))
    merged.sort(key=lambda s: (-s["score"], s["suggester"], s["endpoint"] or ""))
    merged = _dedupe(merged)[:limit]
    message = None
    if not merged:
        message = (
            f"No suggestion for {verb} {url}: no known endpoint matched well enough. "
            "Start from a blank request, or import a cURL command or an OpenAPI document."
        )
    return {"method": verb, "url": url, "suggestions": merged, "message": message, "problems": problems, "notes": []}


def _answers(name: str, suggester: Suggester, verb: str, url: str, connection: Any, limit: int, problems: list[str]) -> list[dict[str, Any]]:
    """Return ``suggester``'s answers in their JSON form; what does not fit is left
    out and said in ``problems``."""
    if type(suggester).suggest_data is Suggester.suggest_data:
        # Answers in models only: asked for them, so that a wrong type is named as such.
        from plugwire.core.plugincore.suggesters import Suggestion

        out = []
        for s in suggester.suggest(verb, url, connection, limit=limit):
            if isinstance(s, Suggestion):
                out.append(s.model_dump(mode="json"))
            else:
                problems.append(f"suggester {name!r} returned {type(s).__name__}, not a Suggestion")
        return out
    out = []
    for d in suggester.suggest_data(verb, url, connection, limit=limit):
        if data_problem(d) is None:
            out.append(d)
            continue
        checked, problem = _validated(d)
        if problem is None:
            out.append(checked)
        else:
            problems.append(f"suggester {name!r} returned a suggestion that does not fit: {problem}")
    return out


def _validated(data: Any) -> tuple[dict[str, Any] | None, str | None]:
    """Return ``data`` validated by the Suggestion model, in its JSON form, or why it
    does not fit (the first of pydantic's errors, with their count)."""
    from pydantic import ValidationError

    from plugwire.core.plugincore.suggesters import Suggestion

    try:
        return Suggestion.model_validate(data).model_dump(mode="json"), None
    except ValidationError as exc:
        e = exc.errors()[0]
        where = ".".join(str(p) for p in e["loc"]) or "the suggestion"
        return None, f"{where}: {e['msg']} ({exc.error_count()} error(s) in all)"


def _dedupe(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep the best-scored suggestion per (provider, endpoint, learned)."""
    seen: set[tuple] = set()
    out = []
    for i, s in enumerate(items):
        key = (s["suggester"], s["provider"], s["endpoint"], s["learned"]) if s["endpoint"] else (i,)
        if key in seen:
            continue
        seen.add(key)
        out.append(s)
    return out
