"""Proving a saved action: its request sent once to the live API, as the wizard sends it.

An action saved without a live answer (through the JSON API, or by code) is an
unproven draft that no recipe runs. :func:`try_action` sends its request once through
the wizard's own *Send* (the connection's auth, TLS and route, the network policy
given, the first pages of a paginated list) and judges the attempt by the wizard's
Apply rule (:func:`plugwire.core.wizard.apply.refusal`): a 2xx gives the action its
sample exchange, datatree and :class:`~plugwire.core.wizard.actions.Proof`; anything
else leaves it a draft, saying what came back. :func:`prove` does that for a saved
action and records the outcome. Nothing here writes a request of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from plugwire.core.connections.model import Connections
from plugwire.core.http.rules import STORED
from plugwire.core.storage.home import Home
from plugwire.core.wizard.actions import Action, Actions
from plugwire.core.wizard.apply import Attempt, proof_fields

if TYPE_CHECKING:
    from plugwire.core.http.netpolicy import NetworkPolicy
    from plugwire.core.wizard.steps import Wizard

__all__ = ["Trial", "prove", "try_action", "wizard_for"]


@dataclass
class Trial:
    """One send of an action's request: the attempt, and either the action as the
    2xx proved it (``proved``) or why it stays a draft (``reason``)."""

    attempt: Attempt
    proved: Action | None
    reason: str | None

    @property
    def ok(self) -> bool:
        """Return True when the live API answered 2xx (and every page read, when paged)."""
        return self.proved is not None

    def summary(self) -> dict[str, object]:
        """Return what came back as JSON-able data: status, outcome, the API's message, why not proven."""
        ex = self.attempt.exchange
        return {"proven": self.ok, "status": ex.response.status if ex.response else None, "outcome": ex.outcome,
                "api_message": ex.api_message, "reason": self.reason}


def wizard_for(home: Home, action: Action, *, connections: Connections | None = None,
               policy: NetworkPolicy | None = None) -> Wizard:
    """Return a wizard in step 2 holding ``action``'s request and settings as saved (no
    suggestion asked or applied), to send it or to edit it with the wizard's rules.
    Raises ``NotFoundError`` for a connection that does not exist."""
    from plugwire.core.wizard.steps import REQUEST, Wizard

    wiz = Wizard(home, connections=connections, policy=policy)
    wiz.connection = wiz.connections.get(action.connection) if action.connection else None
    wiz.request = action.spec()
    wiz.response_format = action.response_format
    wiz.timeout, wiz.max_response_bytes, wiz.retry = action.timeout, action.max_response_bytes, action.retry
    wiz.pagination = action.pagination
    wiz.step = REQUEST
    return wiz


def try_action(home: Home, action: Action, *, connections: Connections | None = None,
               policy: NetworkPolicy | None = None) -> Trial:
    """Send ``action``'s request once, as the wizard's *Send* does (``policy``: the
    server's network policy; None for local use, as the terminal wizard), and judge it
    by the wizard's Apply rule. Saves nothing.

    Returns the :class:`Trial`. Raises ``NotFoundError`` for a connection that does
    not exist, ``UserInputError`` for a request that cannot be built.
    """
    wiz = wizard_for(home, action, connections=connections, policy=policy)
    attempt = wiz.send()
    reason = wiz.refusal(proving=True)
    if reason is not None:
        return Trial(attempt, None, reason)
    # Validated as a stored record is: a value saved before a rule existed was just sent as it is.
    proved = Action.model_validate({**action.model_dump(mode="json"), **proof_fields(attempt.exchange, "prove")}, context=STORED)
    return Trial(attempt, proved, None)


def prove(home: Home, name: str, *, connections: Connections | None = None, policy: NetworkPolicy | None = None) -> tuple[Action, Trial]:
    """Send the saved action ``name`` once and record the outcome: after a 2xx it is
    proven (new sample, datatree and proof); otherwise a draft stays a draft with what
    came back as its ``draft_reason`` (a proven action keeps its earlier proof).

    Returns the action as saved and the :class:`Trial`. Raises ``NotFoundError``, or
    ``UserInputError`` for a request that cannot be built or an action changed while
    it was being sent.
    """
    actions = Actions(home)
    action = actions.get(name)
    trial = try_action(home, action, connections=connections, policy=policy)
    return actions.record_trial(action, trial.proved, trial.reason), trial
