"""Step 3 of the request wizard: judging the attempts, the review, and Apply.

The state machine (:class:`plugwire.core.wizard.steps.Wizard`) keeps the steps and the
request; this module holds what it records of each *Send* (:class:`Attempt`) and
what step 3 makes of the last one: why Apply would be refused, the :class:`Review`,
the action built from a proven exchange, and the handoff to learning. Everything
here reads the wizard and changes nothing on it; moving between steps stays there.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from plugwire.core.base.errors import PlugwireError
from plugwire.core.http.capture import masked_spec
from plugwire.core.http.exchange import Exchange, RequestSpec
from plugwire.core.plugincore.suggesters import Suggestion
from plugwire.core.storage.home import Home
from plugwire.core.wizard.actions import Action, build_action
from plugwire.core.wizard.constraints import Violation
from plugwire.core.wizard.datatree import DataTree, infer_response

if TYPE_CHECKING:
    from plugwire.core.connections.model import Connection
    from plugwire.core.http.pagination import Pagination
    from plugwire.core.http.retry import RetryPolicy

__all__ = [
    "ApplyRefused",
    "ApplyResult",
    "Attempt",
    "Review",
    "WizardView",
    "learn_applied",
    "policy_warning",
    "proof_fields",
    "proven_action",
    "refusal",
    "review_of",
]


class WizardView(Protocol):
    """What step 3 reads of the wizard (:class:`plugwire.core.wizard.steps.Wizard`):
    the request, its last attempt, the connection and suggestion it used, and the
    settings the saved action keeps. Step 3 never changes any of it."""

    request: RequestSpec
    connection: "Connection | None"
    response_format: str
    timeout: float | None
    max_response_bytes: int | None
    retry: "RetryPolicy"
    pagination: "Pagination | None"

    @property
    def last(self) -> "Attempt | None": ...

    @property
    def suggestion(self) -> Suggestion | None: ...

    def fitting_connections(self) -> "list[Connection]": ...


class ApplyRefused(PlugwireError):
    """Apply was refused: the request was never sent, failed, or changed since it was sent."""


class Attempt(BaseModel):
    """One *Send*: the request as configured then, the exchange (page 1 when paginated),
    broken constraints, and for a paginated request the pagination sent and what paging
    found (``pages``: the report of :class:`plugwire.core.http.pages.Paged`)."""

    number: int
    request: RequestSpec
    exchange: Exchange
    violations: list[Violation] = Field(default_factory=list)
    pagination: dict[str, Any] | None = None
    pages: dict[str, Any] | None = None

    def public(self) -> dict[str, Any]:
        """Return the attempt as JSON-able data, credential-like values masked."""
        data = self.model_dump(mode="json")
        shown = masked_spec(self.request)
        data["request"].update(url=shown.url, headers=shown.headers, query=shown.query)
        return data


class Review(BaseModel):
    """Step 3: what would be saved, and whether it may be."""

    request: RequestSpec
    connection: str | None
    suggestion: dict[str, Any] | None
    last: Attempt | None
    can_apply: bool
    reason: str | None
    datatree: DataTree | None


class ApplyResult(BaseModel):
    """The saved action and what learning recorded (or why it did not)."""

    model_config = {"arbitrary_types_allowed": True}

    action: Action
    learned: dict[str, Any]


def refusal(wizard: WizardView, *, proving: bool = False) -> str | None:
    """Return why Apply would be refused for ``wizard`` now, or None when it may go ahead.

    ``proving``: worded for a saved action sent once to prove it (``core/wizard/prove.py``)
    rather than for the wizard's numbered attempts."""
    last = wizard.last
    if last is None:
        return "The request was never sent. Send it and get a 2xx answer from the API before applying."
    ex = last.exchange
    attempt = "The request" if proving else f"The last attempt (#{last.number})"
    if not ex.ok:
        if ex.response is not None:
            said = f" with the message: {ex.api_message.rstrip('.')}" if ex.api_message else ""
            broke = "; ".join(v.message for v in last.violations)
            hint = f" Fields that break the endpoint's rules: {broke}." if broke else ""
            if ex.outcome == "credentials_rejected" and wizard.connection is not None:
                hint += f" The API refused the credentials: check connection {wizard.connection.name!r}."
            elif ex.outcome == "credentials_rejected":
                fit = [repr(c.name) for c in wizard.fitting_connections()]
                hint += (f" It went without credentials: send it through connection {' or '.join(fit)}, which "
                         f"{'fit' if len(fit) > 1 else 'fits'} this host." if fit
                         else " It went without credentials, and no saved connection has this host: add one.")
            answered = "The API answered" if proving else f"{attempt} answered"
            goal = "proves an action" if proving else "can be applied"
            return (
                f"{answered} {ex.response.status} {ex.response.reason}{said}.{hint} "
                f"Only a request that succeeded against the live API {goal}: fix it and send it again."
            )
        return f"{attempt} failed before an answer came back ({ex.outcome}): {ex.message} Send it again once the API is reachable."
    if last.pages and last.pages.get("error"):
        return (f"The first page answered, but paging did not complete: {last.pages['error']} "
                "Fix the pagination (or the API) and send it again.")
    if last.request != wizard.request or last.pagination != _pagination_data(wizard):
        return f"The request changed after attempt #{last.number} was sent. Send it again so that the saved sample is the request that worked."
    return None


def _pagination_data(wizard: WizardView) -> dict[str, Any] | None:
    return wizard.pagination.model_dump() if wizard.pagination is not None else None


def review_of(wizard: WizardView) -> Review:
    """Return the :class:`Review` of ``wizard``: its configuration, last attempt, and
    whether Apply may go ahead (and why not); the response's data tree only when it may."""
    reason = refusal(wizard)
    last = wizard.last
    tree = infer_response(last.exchange.response) if reason is None and last and last.exchange.response else None
    return Review(
        request=wizard.request,
        connection=wizard.connection.name if wizard.connection else None,
        suggestion=_suggestion_summary(wizard.suggestion),
        last=last,
        can_apply=reason is None,
        reason=reason,
        datatree=tree,
    )


def _suggestion_summary(s: Suggestion | None) -> dict[str, Any] | None:
    if s is None:
        return None
    return s.model_dump(mode="json", include={"suggester", "score", "reason", "provider", "endpoint", "learned", "proven", "docs_url"})


def proven_action(wizard: WizardView, name: str, description: str) -> Action:
    """Build (not save) the action ``name`` from ``wizard``'s request and its last,
    successful exchange as the sample. The caller has checked :func:`refusal`.

    Returns the :class:`Action`. Raises ``UserInputError`` for a bad name.
    """
    last = wizard.last
    assert last is not None and last.exchange.response is not None
    s = wizard.suggestion
    from plugwire.core.wizard.learning import path_template

    endpoint = s.endpoint if s and s.endpoint else f"{wizard.request.method} {path_template(wizard.request.url)}"
    return build_action(
        {
            **wizard.request.model_dump(),
            "name": name,
            "description": description,
            "connection": wizard.connection.name if wizard.connection else None,
            "response_format": wizard.response_format,
            "timeout": wizard.timeout,
            "max_response_bytes": wizard.max_response_bytes,
            "retry": wizard.retry.model_dump(),
            "pagination": _pagination_data(wizard),
            **proof_fields(last.exchange, "wizard"),
            "provider": s.provider if s else None,
            "endpoint": endpoint,
            "suggestion": _suggestion_summary(s),
        }
    )


def proof_fields(exchange: Exchange, by: str) -> dict[str, Any]:
    """Return what a 2xx ``exchange`` proves of an action: its sample request and
    response, the datatree inferred from that response, and the proof (when, what
    status, ``by`` which door). The caller has checked that the exchange is a 2xx."""
    response = exchange.response
    assert response is not None and response.ok
    return {
        "sample_request": exchange.request.model_dump(),
        "sample_response": response.model_dump(),
        "datatree": infer_response(response).model_dump(),
        "proof": {"at": exchange.at, "status": response.status, "by": by},
        "draft_reason": None,
    }


def learn_applied(home: Home, action: Action, suggestion: Suggestion | None) -> dict[str, Any]:
    """Learn the saved, proven ``action`` into the catalogue of ``home``.

    Returns what learning recorded, or ``{"learned": False, "reason": ...}`` when the
    catalogue could not be written; never raises for that (the action stays saved).
    """
    from plugwire.core.wizard.learning import learn_action

    s = suggestion
    try:
        return dict(
            learn_action(
                home, action, endpoint=s.endpoint if s else None, provider=s.provider if s else None,
                example=s.request if s and not s.learned else None,
            )
        )
    except (PlugwireError, OSError) as exc:
        # The action is saved and proven; a catalogue that cannot be written must not undo that.
        return {"learned": False, "reason": str(exc)}


def policy_warning(home: Home, url: str, connection: "Connection | None" = None) -> str | None:
    """Return a warning when ``plugwire serve``'s network policy would refuse ``url``'s
    host, or None when it would not (or cannot tell).

    An action proven from the CLI against ``127.0.0.1`` is refused later under
    ``serve``: this says so at apply time, with the fix. The policy is the one the
    last server recorded (:func:`plugwire.core.storage.served.load_served`: on, with
    nothing allowed, when no server ever ran); a connection marked private_network
    is exempt, as it is under ``serve``. The host is resolved as the policy resolves
    it; a host that does not resolve gets no warning (that is not the policy's doing).
    Never raises for the URL or the store: a warning must not stop an Apply.
    """
    from plugwire.core.http.netpolicy import NetworkPolicy, NetworkPolicyError, blocked_reason
    from plugwire.core.storage.served import load_served

    try:
        settings = load_served(home)
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    except (PlugwireError, ValueError):
        return None
    if not host:
        return None
    found: list[str] = []

    def resolve(name: str) -> list[str]:
        found.extend(_resolve_quietly(name))
        return found

    policy = NetworkPolicy(enabled=settings.network_policy, allow=list(settings.allow), resolver=resolve)
    if not policy.applies(connection):
        return None
    try:
        policy.addresses(host, port=port, connection=connection.name if connection else "(none)")
    except NetworkPolicyError:
        blocked = [(address, why) for address in found if (why := blocked_reason(address))]
        if not blocked:
            return None  # the host did not resolve: not the policy's doing
        address, why = blocked[0]
        where = host if host == address else f"{host} ({address})"
        return (
            f"plugwire serve's network policy would refuse this action: {where} {why}. "
            "It works from the command line, but its jobs will fail under the server. "
            f"Fix: `plugwire serve --allow-host {host}`, or `--no-network-policy` for local use only."
        )
    return None


def _resolve_quietly(host: str) -> list[str]:
    """The host's addresses as the policy's own resolver finds them; [] when it does not resolve."""
    try:
        return list(dict.fromkeys(info[4][0] for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)))
    except (OSError, UnicodeError):
        return []
