"""The three-step request wizard as a state machine.

1. **Endpoint**: a method and an absolute URL, validated; the suggesters are asked.
2. **Request**: the best suggestion pre-fills the sample request (its reason shown);
   the user keeps it, edits any field, picks another suggestion or starts blank, and
   *sends* it through the connection (a paginated request: up to :data:`PREVIEW_PAGES`
   pages, then "at least" that many). Every attempt is kept in :attr:`Wizard.history`
   with the whole exchange and, where the suggestion knew the endpoint's field
   constraints, the fields that broke one.
3. **Review**: the configuration and the last exchange. *Apply* saves the action only
   when the last request was sent unchanged and answered 2xx by the live API; then
   the proven configuration is learned into the user's catalogue. How an attempt is
   judged, reviewed, saved and learned lives in :mod:`plugwire.core.wizard.apply`.

The wizard holds no credentials of its own: it sends through
:func:`plugwire.core.http.send.send`, which masks what the connection's auth adds. Given
the server's network policy, every request it sends (redirects included) is checked
against it; a refusal is an attempt with the outcome ``refused``, not a crash.
"""

from __future__ import annotations

import copy
import time
from typing import Any
from urllib.parse import urlsplit

import httpx2
from pydantic import ValidationError

from plugwire.core.base.errors import PlugwireError, UserInputError, format_validation_error
from plugwire.core.base.urls import validate_absolute_url
from plugwire.core.connections.model import Connection, Connections
from plugwire.core.http.exchange import (
    METHODS,
    Exchange,
    RequestSpec,
    ResponseFormat,
    SentRequest,
    add_field,
    masked_headers,
)
from plugwire.core.http.netpolicy import NetworkPolicy, NetworkPolicyError
from plugwire.core.http.outcomes import Outcome
from plugwire.core.http.pagination import Pagination
from plugwire.core.http.retry import RetryPolicy
from plugwire.core.plugincore.suggesters import Suggestion
from plugwire.core.storage.home import Home
from plugwire.core.wizard.actions import Actions
from plugwire.core.wizard.apply import (  # Attempt, Review and the Apply types are re-exported from here
    ApplyRefused,
    ApplyResult,
    Attempt,
    Review,
    learn_applied,
    proven_action,
    refusal,
    review_of,
)
from plugwire.core.wizard.constraints import check, set_path
from plugwire.core.wizard.datatree import read_as_type_of, value_at
from plugwire.core.wizard.paging import pagination_from, suggested_pagination
from plugwire.core.wizard.suggest import SuggestionResult, suggest

__all__ = ["ApplyRefused", "ApplyResult", "Attempt", "Review", "Wizard", "WizardStateError"]

ENDPOINT, REQUEST, REVIEW, APPLIED = 1, 2, 3, 4
#: A paginated Send fetches at most this many pages (fewer when the action's bounds say so).
PREVIEW_PAGES = 5
_STEP_NAMES = {ENDPOINT: "endpoint", REQUEST: "request", REVIEW: "review", APPLIED: "applied"}


class WizardStateError(PlugwireError):
    """An operation was asked for in a step where it makes no sense (the message says which step)."""


class Wizard:
    """One run of the request wizard on the data folder ``home``."""

    def __init__(self, home: Home, *, connections: Connections | None = None, policy: NetworkPolicy | None = None):
        """``policy``: the server's network policy, checked on every request *Send*
        makes (None, or a disabled policy: no checks, as for local CLI use)."""
        self.home = home
        self.connections = connections or Connections(home)
        self.policy = policy
        self.step = ENDPOINT
        self.connection: Connection | None = None
        self.result: SuggestionResult | None = None
        self.chosen: int | None = None
        self.request = RequestSpec()
        self.history: list[Attempt] = []
        self.notes: list[str] = []
        self.response_format: ResponseFormat = "auto"
        self.timeout: float | None = None
        self.max_response_bytes: int | None = None  # None: the connection's cap
        self.retry = RetryPolicy()
        self.pagination: Pagination | None = None
        self._pagination_chosen = False  # the user's choice (none included) wins over a suggestion's
        self._url_query: dict[str, Any] = {}

    # -- step 1 ----------------------------------------------------------------------
    @property
    def step_name(self) -> str:
        """Return the current step's name: endpoint, request, review or applied."""
        return _STEP_NAMES[self.step]

    def _require(self, *steps: int, doing: str) -> None:
        if self.step not in steps:
            wanted = " or ".join(f"step {s} ({_STEP_NAMES[s]})" for s in steps)
            raise WizardStateError(
                f"Cannot {doing} in step {self.step} ({self.step_name}).", field="step", fix=f"do it in {wanted}"
            )

    def start(self, method: str, url: str, connection: str | None = None, *, limit: int = 5) -> SuggestionResult:
        """Step 1: validate ``method`` and ``url`` (absolute http/https, a host, no
        spaces), load ``connection`` (None for a public API), ask the suggesters and
        pre-fill the request with the best suggestion. Moves to step 2.

        Returns the suggestions. Raises ``UserInputError`` naming ``method`` or
        ``url``, ``NotFoundError`` for an unknown connection.
        """
        self._require(ENDPOINT, doing="choose the endpoint")
        verb = (method or "").strip().upper()
        if verb not in METHODS:
            raise UserInputError(f"method {method!r} is not an HTTP method plugwire sends.", field="method", fix=f"use one of {', '.join(METHODS)}")
        full = validate_absolute_url(url, "url")
        parsed = httpx2.URL(full)
        self._url_query = _query_dict(parsed)
        base = str(parsed.copy_with(query=None, fragment=None))
        self.connection = self.connections.get(connection) if connection else None
        self.result = suggest(verb, full, self.connection, limit=limit)
        self.request = RequestSpec(method=verb, url=base, query=dict(self._url_query))
        self.notes = list(self.result.problems)
        self.step = REQUEST
        if self.result.best is not None:
            self.use_suggestion(0)
        else:
            self.chosen = None
        return self.result

    # -- step 2 ----------------------------------------------------------------------
    @property
    def suggestions(self) -> list[Suggestion]:
        """Return the suggestions of step 1, best first."""
        return list(self.result.suggestions) if self.result else []

    @property
    def suggestion(self) -> Suggestion | None:
        """Return the suggestion the request was filled from, or None (blank)."""
        return self.suggestions[self.chosen] if self.chosen is not None else None

    def use_suggestion(self, index: int) -> RequestSpec:
        """Fill the request from suggestion ``index`` (0 is the best); the URL's own
        query parameters win over the suggestion's. Returns the request.

        Raises ``UserInputError`` (field ``suggestion``) for an index out of range.
        """
        self._require(REQUEST, doing="pick a suggestion")
        found = self.suggestions
        if not 0 <= index < len(found):
            raise UserInputError(
                f"There is no suggestion {index + 1}; there are {len(found)}.", field="suggestion", fix="pick one from the list, or start blank"
            )
        s = found[index].request
        url = self.request.url
        if s.url and "{" not in s.url and s.url.split("?")[0].rstrip("/") != url.rstrip("/"):
            try:
                # A suggester may have corrected a typo or a host alias in the URL.
                url = str(httpx2.URL(validate_absolute_url(s.url, "url")).copy_with(query=None))
                self.notes.append(f"The suggestion changed the URL to {url}.")
            except UserInputError:
                pass
        self.request = RequestSpec(
            method=self.request.method,
            url=url,
            headers=dict(s.headers),
            query={**copy.deepcopy(s.query), **self._url_query},
            body=copy.deepcopy(s.body),
            body_format=s.body_format,
            content_type=s.content_type,
        )
        self.chosen = index
        self._suggested_pagination(found[index])
        return self.request

    def _suggested_pagination(self, s: Suggestion) -> None:
        if not self._pagination_chosen:
            self.pagination, note = suggested_pagination(s, self.request.method)
            self.notes += [note] if note else []

    def set_pagination(self, data: "dict[str, Any] | Pagination | None") -> "Pagination | None":
        """Choose how the rest of a list is fetched (None: one request); it wins over the
        catalogue's suggestion. Returns it. Raises ``UserInputError`` (field ``pagination``)."""
        self._require(REQUEST, doing="choose the pagination")
        self.pagination = pagination_from(data)
        self._pagination_chosen = True
        return self.pagination

    def blank(self) -> RequestSpec:
        """Drop the suggestion and start from a blank request (method, URL and the
        URL's query kept). Returns the request."""
        self._require(REQUEST, doing="start blank")
        self.request = RequestSpec(method=self.request.method, url=self.request.url, query=dict(self._url_query))
        self.chosen = None
        if not self._pagination_chosen:
            self.pagination = None
        return self.request

    def edit(self, **changes: Any) -> RequestSpec:
        """Replace whole fields of the request (``headers=``, ``query=``, ``body=``,
        ``body_format=``, ``content_type=``, ``files=``, ``url=``, ``method=``).

        Returns the request. Raises ``UserInputError`` naming a bad field.
        """
        self._require(REQUEST, doing="edit the request")
        unknown = set(changes) - set(RequestSpec.model_fields)
        if unknown:
            raise UserInputError(
                f"Unknown request field(s): {', '.join(sorted(unknown))}.", field=sorted(unknown)[0], fix=f"use {', '.join(RequestSpec.model_fields)}"
            )
        if "url" in changes:
            changes["url"] = validate_absolute_url(changes["url"], "url")
        data = {**self.request.model_dump(), **changes}
        if "body" in changes and "body_format" not in changes and self.request.body_format == "none" and changes["body"] is not None:
            data["body_format"] = "json" if isinstance(changes["body"], (dict, list)) else "text"
        try:
            self.request = RequestSpec.model_validate(data)
        except ValidationError as exc:
            raise UserInputError("Invalid request: " + format_validation_error(exc), field="request", fix="correct the field named above") from None
        return self.request

    def set(self, path: str, value: Any) -> RequestSpec:
        """Set one value: ``headers.NAME``, ``query.NAME``, or a body field by dotted
        path (``venue.address.country``, ``items[0].sku``; ``body.`` may prefix it).

        Returns the request. Raises ``UserInputError`` when the body is not a mapping.
        """
        self._require(REQUEST, doing="edit the request")
        head, _, rest = path.partition(".")
        if head == "headers" and rest:
            return self.edit(headers={**self.request.headers, rest: str(value)})
        if head == "query" and rest:
            return self.edit(query={**self.request.query, rest: value})
        if head == "body" and rest:
            path = rest
        body = copy.deepcopy(self.request.body)
        if body is None:
            body = {}
        if not isinstance(body, (dict, list)):
            raise UserInputError(
                f"Cannot set {path}: the body is {self.request.body_format} text, not fields.", field="body", fix="replace the whole body instead"
            )
        set_path(body, path, value)
        fmt = self.request.body_format if self.request.body_format != "none" else "json"
        return self.edit(body=body, body_format=fmt)

    def set_text(self, path: str, text: str) -> RequestSpec:
        """Set one value typed as text (``PATH=TEXT``): a body field keeps the JSON
        type it has (``owner.id`` set to ``9`` stays a number, ``true`` stays a
        boolean; a string field, or a new one, gets the text). Headers and query
        parameters are text. For a value of another type, parse ``PATH:=JSON``
        and call :meth:`set`.

        Returns the request. Raises ``UserInputError`` naming ``path`` when the text
        is not of the field's type.
        """
        head, _, rest = path.partition(".")
        if head in ("headers", "query") and rest:
            return self.set(path, text)
        current = value_at(self.request.body, rest if head == "body" and rest else path)
        return self.set(path, read_as_type_of(current, text, path))

    def fitting_connections(self, url: str | None = None) -> list[Connection]:
        """Return the saved connections whose base URL or test URL has the host of
        ``url`` (default: the request's), sorted by name."""
        host = _host(url or self.request.url)
        if not host:
            return []
        return [c for c in self.connections.list() if host in (_host(c.options.base_url), _host(c.options.test_url))]

    def import_curl(self, command: str, connection: str | None = None) -> RequestSpec:
        """Take a cURL command as the request. In step 1 its method and URL start the
        wizard (suggestions are still asked, for their constraints); in step 2 it
        replaces the request. ``-u``/``--oauth2-bearer`` credentials become an
        ``Authorization`` header only when there is no connection (sealed at rest
        when saved); otherwise the connection authenticates and they are dropped.

        Returns the request. Raises ``UserInputError`` for a command that cannot be read.
        """
        from plugwire.core.curl.parse import parse_curl

        got = parse_curl(command)
        if self.step == ENDPOINT:
            self.start(got.request.method, got.request.url + _query_string(got.request.query), connection)
        self._require(REQUEST, doing="import a cURL command")
        chosen = self.chosen
        self.request = got.request
        self.chosen = chosen  # its constraints still describe this endpoint
        self.notes += got.notes
        if self.timeout is None and got.timeout:
            self.timeout = got.timeout
        credentials = got.basic_header() or ({"Authorization": f"Bearer {got.bearer.get_secret_value()}"} if got.bearer else {})
        if credentials and self.connection is not None:
            self.notes.append(f"The command's credentials were dropped: connection {self.connection.name!r} authenticates the request.")
        elif credentials:
            self.request = self.request.model_copy(update={"headers": {**self.request.headers, **credentials}})
            self.notes.append("The command's credentials became an Authorization header; a connection would keep them better.")
        return self.request

    def send(self) -> Attempt:
        """Send the request through the connection and keep the attempt in the history.

        Returns the :class:`Attempt`: the whole exchange (a 4xx/5xx or a network
        failure is its outcome, never an exception) and the broken constraints.
        Raises ``UserInputError`` for a request that cannot be built.
        """
        from plugwire.core.http.send import send

        self._require(REQUEST, doing="send the request")
        started = time.perf_counter()
        args = dict(connection=self.connection, connections=self.connections, response_format=self.response_format,
                    timeout=self.timeout, policy=self.policy, max_response_bytes=self.max_response_bytes)
        pages = None
        try:
            if self.pagination is not None:
                from plugwire.core.http.pages import fetch_pages

                # How far the list goes, without fetching a huge one: past PREVIEW_PAGES, "at least".
                paged = fetch_pages(self.request, self.pagination, preview=PREVIEW_PAGES, **args)
                exchange, pages = paged.first, paged.report()
            else:
                exchange = send(self.request, **args)
        except NetworkPolicyError as exc:
            exchange = self._refused(exc, (time.perf_counter() - started) * 1000)
        constraints = self.suggestion.constraints if self.suggestion else []
        attempt = Attempt(
            number=len(self.history) + 1,
            request=self.request.model_copy(deep=True),
            exchange=exchange,
            violations=check(self.request, constraints) if constraints else [],
            pagination=self.pagination.model_dump() if self.pagination is not None else None,
            pages=pages if exchange.ok else None,
        )
        self.history.append(attempt)
        return attempt

    def _refused(self, exc: NetworkPolicyError, elapsed_ms: float) -> Exchange:
        spec = self.request
        return Exchange(
            request=SentRequest(method=spec.method, url=spec.url, headers=masked_headers(spec.headers), query=dict(spec.query),
                                body=spec.body, body_format=spec.body_format, content_type=spec.content_type),
            outcome=Outcome.REFUSED.value, ok=False, message=str(exc), elapsed_ms=round(elapsed_ms, 1),
        )

    @property
    def last(self) -> Attempt | None:
        """Return the latest attempt, or None before the first send."""
        return self.history[-1] if self.history else None

    def back(self) -> int:
        """Go back one step (review to request, request to endpoint); returns the step."""
        self._require(REQUEST, REVIEW, doing="go back")
        self.step -= 1
        return self.step

    # -- step 3 (judged and saved in plugwire.core.wizard.apply) --------------------
    def refusal(self, *, proving: bool = False) -> str | None:
        """Return why Apply would be refused now, or None when it may go ahead
        (``proving``: worded for a saved action sent once to prove it)."""
        return refusal(self, proving=proving)

    def review(self) -> Review:
        """Step 3: return the configuration, the last attempt and whether Apply may go
        ahead (and why not). Moves to step 3."""
        self._require(REQUEST, REVIEW, doing="review")
        self.step = REVIEW
        return review_of(self)

    def apply(self, name: str, *, description: str = "", learn: bool = True) -> ApplyResult:
        """Save the action ``name`` with the last request and response, then learn it.

        Returns the :class:`ApplyResult`. Raises ``ApplyRefused`` (saying why) when
        the request was never sent, its last attempt was not a 2xx, or it changed
        since; ``AlreadyExistsError`` when the name is taken; ``UserInputError`` for
        a bad name.
        """
        self._require(REQUEST, REVIEW, doing="apply")
        reason = self.refusal()
        if reason:
            raise ApplyRefused(f"Apply refused: {reason}", field="request", fix="send the request again and apply after a 2xx")
        action = proven_action(self, name, description)
        Actions(self.home).create(action)
        self.step = APPLIED
        learned: dict[str, Any] = {"learned": False, "reason": "learning was switched off"}
        if learn:
            learned = learn_applied(self.home, action, self.suggestion)
        return ApplyResult(action=action, learned=learned)


def _query_dict(url: httpx2.URL) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in url.params.multi_items():
        add_field(out, key, value)
    return out


def _query_string(query: dict[str, Any]) -> str:
    from urllib.parse import urlencode

    return "?" + urlencode(query, doseq=True) if query else ""


def _host(url: str | None) -> str | None:
    try:
        return urlsplit(url or "").hostname
    except ValueError:
        return None
