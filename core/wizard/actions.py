"""Make-request actions: a named, proven request and how to run it.

An :class:`Action` is a :class:`~plugwire.core.http.exchange.RequestSpec` (method, URL,
headers, query, body and its format) plus its name, the connection it goes through,
how to read the response, its timeout, retry policy and pagination, and the sample exchange that
proved it, with the datatree inferred from that sample. The :class:`Actions` service
is the only way action records are read and written (table ``actions``); header and
query values with credential-like names or named in ``secret_fields`` are sealed at
rest (a URL carrying such a query parameter too), and masked wherever shown.

**Proof.** An action is *proven* when its request got a 2xx from the live API
(:class:`Proof`, with the exchange as ``sample_request``/``sample_response``); anything
else is an *unproven draft*, which recipes refuse to save, start or run. An action
saved without a proof is a draft (:meth:`Actions.create`); changing one of the
:data:`SHAPING` fields of a proven action makes it a draft again; sending it once and
recording the 2xx (:mod:`plugwire.core.wizard.prove`) proves it. A record saved before
proofs were kept has no ``proof`` key: it reads as proven when its stored sample
response is a 2xx, as the wizard only saved those.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError

from plugwire.core.base.errors import AlreadyExistsError, NotFoundError, UserInputError, format_validation_error
from plugwire.core.base.names import Name, check_name
from plugwire.core.base.redact import redact_deep
from plugwire.core.base.secrets import seal, unseal
from plugwire.core.http.capture import is_secret_field, marked_names, masked_spec, masked_url
from plugwire.core.http.exchange import (
    ReceivedResponse,
    RequestSpec,
    ResponseFormat,
    SentRequest,
    now_iso,
)
from plugwire.core.http.pagination import Pagination
from plugwire.core.http.retry import RetryPolicy
from plugwire.core.http.rules import STORED
from plugwire.core.storage.home import Home
from plugwire.core.wizard.datatree import DataTree

__all__ = ["NEVER_PROVEN", "SHAPING", "TABLE", "Action", "Actions", "Proof", "secret_fields_of"]

TABLE = "actions"
#: A stored sample response keeps at most this much text; its datatree was inferred first.
SAMPLE_TEXT_LIMIT = 256_000
#: The fields that shape what is sent and how the answer is read. Changing one makes a
#: proven action a draft again: its proof was for another request. (Name, description,
#: timeout, response cap, retry policy and which fields are secret do not change what
#: the API is asked or what it answers.)
SHAPING = ("method", "url", "headers", "query", "body", "body_format", "content_type", "files",
           "connection", "pagination", "response_format")
#: Why an action saved without a live answer is a draft.
NEVER_PROVEN = "saved without a live answer: its request was never sent"


class Proof(BaseModel):
    """What proved an action: the 2xx its request got from the live API, and when.
    The exchange itself is the action's ``sample_request`` and ``sample_response``.
    ``by``: ``wizard`` (Apply), ``prove`` (sent by ``actions prove``, the API or the
    console), ``sample`` (a record saved before proofs were kept, with a 2xx sample)."""

    at: str
    status: int = Field(ge=200, le=299)
    by: Literal["wizard", "prove", "sample"] = "prove"


class Action(RequestSpec):
    """A make-request action: the request, its connection, and the proof it works."""

    name: Name
    connection: str | None = Field(None, description="connection name; None for a public API")
    description: str = ""
    response_format: ResponseFormat = "auto"
    timeout: float | None = Field(None, gt=0, le=600, description="seconds; None uses the connection's")
    max_response_bytes: int | None = Field(
        None, ge=1, le=1_073_741_824, description="bytes of response body (decompressed) kept; None uses the connection's (10 MB unless set)"
    )
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    pagination: Pagination | None = Field(None, description="how the rest of a list is fetched; None: one request")
    sample_request: SentRequest | None = None
    sample_response: ReceivedResponse | None = None
    datatree: DataTree | None = None
    provider: str | None = None
    endpoint: str | None = Field(None, description='"METHOD /path/{template}" when known')
    suggestion: dict[str, Any] | None = Field(None, description="the suggestion the request started from")
    proof: Proof | None = Field(None, description="the live 2xx answer that proved the request; null: an unproven draft, which no recipe runs",
                                json_schema_extra={"readOnly": True})
    draft_reason: str | None = Field(None, description="why it is a draft (null when proven)", json_schema_extra={"readOnly": True})
    created_at: str = Field(default_factory=now_iso)
    updated_at: str = Field(default_factory=now_iso)

    @property
    def proven(self) -> bool:
        """Return True when a live 2xx proved this request (a recipe may run it)."""
        return self.proof is not None

    def draft_line(self) -> str:
        """Return one sentence saying why this action is a draft and how to prove it."""
        return (f"Action {self.name!r} is an unproven draft ({self.draft_reason or NEVER_PROVEN}). "
                f"Prove it with `plugwire actions prove {self.name}`.")

    def shaping(self) -> dict[str, Any]:
        """Return the :data:`SHAPING` fields as JSON-able data (to tell whether a change un-proves)."""
        return self.model_dump(mode="json", include=set(SHAPING))

    def spec(self) -> RequestSpec:
        """Return just the request part of this action (a copy, not validated again:
        it was as part of the action, and a copy to show holds masks)."""
        data = self.model_dump(include=set(RequestSpec.model_fields))
        data["files"] = list(self.files)  # the parts themselves, as validation would have made them
        return RequestSpec.model_construct(**data)

    def public(self) -> dict[str, Any]:
        """Return the action as JSON-able data with its secret header and query values
        (credential-like names and ``secret_fields``) masked, in its URL too."""
        data = self.model_dump(mode="json")
        shown = masked_spec(self)
        data.update(url=shown.url, headers=shown.headers, query=shown.query, proven=self.proven)
        return data

    def secret_values(self) -> list[str]:
        """Return the values of this action's secret headers and query parameters
        (its URL's included), to keep them out of what is stored and shown."""
        from urllib.parse import parse_qsl

        marked = marked_names(self)
        pairs = [*self.headers.items(), *self.query.items(), *parse_qsl(self.url.partition("?")[2].partition("#")[0])]
        found = [str(x) for k, v in pairs if is_secret_field(k, marked) for x in (v if isinstance(v, list) else [v]) if x is not None]
        return [v for v in found if len(v) >= 4]


def secret_fields_of(request: RequestSpec, names: list[str]) -> list[str]:
    """Return ``request``'s ``secret_fields`` with ``names`` added (as the request
    spells them). Raises ``UserInputError`` (field ``secret``) for a name that is
    neither a header nor a query parameter of ``request``."""
    spelled = {k.lower(): k for k in [*request.query, *request.headers]}
    out = list(request.secret_fields)
    for name in names:
        found = spelled.get(name.strip().lower())
        if found is None:
            raise UserInputError(
                f"--secret {name!r} names no header or query parameter of the request.", field="secret",
                fix="name one the request has (set it with --header NAME:VALUE or --query NAME=VALUE)",
            )
        if found.lower() not in {n.lower() for n in out}:
            out.append(found)
    return out


def build_action(data: dict[str, Any]) -> Action:
    """Validate raw data into an :class:`Action`; raises ``UserInputError`` naming each bad field."""
    try:
        return Action.model_validate(data)
    except ValidationError as exc:
        first = ".".join(str(p) for p in exc.errors(include_input=False)[0]["loc"])
        raise UserInputError("Invalid action: " + format_validation_error(exc), field=first or None, fix="correct the field named above") from None


def _trimmed(response: ReceivedResponse | None) -> ReceivedResponse | None:
    if response is None or len(response.text or response.pretty or "") <= SAMPLE_TEXT_LIMIT:
        return response
    return response.model_copy(
        update={"text": (response.text or "")[:SAMPLE_TEXT_LIMIT], "pretty": response.pretty[:SAMPLE_TEXT_LIMIT], "body": None, "truncated": True}
    )


class Actions:
    """Create, read, change and remove actions in one data folder."""

    def __init__(self, home: Home):
        self.home = home

    def _record(self, action: Action) -> dict[str, Any]:
        data = action.model_copy(update={"sample_response": _trimmed(action.sample_response)}).model_dump(mode="json")
        cipher = self.home.cipher
        marked = marked_names(action)
        # A key the user typed into a header, a query parameter or the URL is a secret like any other.
        for part in ("headers", "query"):
            data[part] = {
                k: seal(_secret(v), cipher) if is_secret_field(k, marked) else v for k, v in data[part].items()
            }
        if masked_url(action.url, marked) != action.url:
            data["url"] = seal(SecretStr(action.url), cipher)
        secrets = action.secret_values()
        if secrets:  # a sample captured before its secrets were known to be secrets
            for part in ("sample_request", "sample_response", "datatree"):
                data[part] = redact_deep(data[part], secrets)
        return data

    def _from_record(self, rec: dict[str, Any]) -> Action:
        # Read back as saved: one saved before a rule existed still loads (and is
        # refused naming the field when it is sent), so no action is lost to a new rule.
        data = unseal(rec, self.home.cipher)
        if "proof" not in data:  # saved before proofs were kept
            data = {**data, **_proof_of_old_record(data)}
        return Action.model_validate(data, context=STORED)

    def check_free(self, name: str) -> str:
        """Return ``name`` (stripped) when it is a valid name no action has yet, so that
        the wizard can say so before it sends anything.

        Raises ``UserInputError`` for a bad name, ``AlreadyExistsError`` for a taken one.
        """
        try:
            name = check_name(name)
        except ValueError as exc:
            raise UserInputError(f"The action name {name!r} {exc}.", field="name", fix="choose another name") from None
        if self.home.store.get(TABLE, name) is not None:
            raise _taken(name)
        return name

    def create(self, action: Action) -> Action:
        """Save a new action; returns it (an unproven draft unless it carries its
        :class:`Proof`, as the wizard's Apply builds it).

        Raises ``AlreadyExistsError`` when the name is taken, ``UserInputError``
        (field ``proof``) for a proof without its 2xx sample response.
        """
        action = _checked(action)
        try:
            self.home.store.insert(TABLE, action.name, self._record(action))
        except AlreadyExistsError:
            raise _taken(action.name) from None
        return action

    def save(self, action: Action) -> Action:
        """Replace the saved action named ``action.name``; returns it (updated_at set).

        Raises ``NotFoundError`` when there is none: an action removed meanwhile is not
        brought back by a save (only :meth:`create` makes one)."""
        action = _checked(action.model_copy(update={"updated_at": now_iso()}))
        with self.home.store.transaction() as tx:
            action = _unproven_if_changed(self.get(action.name), action)
            tx.put(TABLE, action.name, self._record(action))
        return action

    def edit(self, name: str, changes: dict[str, Any], *, unset: list[str] | tuple[str, ...] = ()) -> Action:
        """Apply ``changes`` (fields of :class:`Action`; ``headers`` and ``query`` are
        merged name by name) to the saved action ``name``; ``unset`` names headers or
        query parameters to drop (``headers.X-Old``, ``query.page``). Returns the action.

        The current action is read, changed, validated and written in one transaction,
        so an edit made meanwhile by another process is kept and an action removed
        meanwhile stays removed. Changing a :data:`SHAPING` field of a proven action
        makes it an unproven draft (its ``draft_reason`` names the fields); prove it
        again with :func:`plugwire.core.wizard.prove.prove`. Raises ``NotFoundError``,
        or ``UserInputError`` naming the field (nothing is written); renaming is
        refused (recipes name their actions), and so is setting the proof.
        """
        with self.home.store.transaction() as tx:
            current = self.get(name)
            data = current.model_dump(mode="json")
            for key, value in changes.items():
                if key in _READ_ONLY:
                    raise UserInputError(f"{key} is recorded by a live 2xx, not set.", field=key,
                                         fix=f"prove the action with `plugwire actions prove {name}`")
                if key not in Action.model_fields:
                    raise UserInputError(f"{key} is not a field of an action.", field=key,
                                         fix="see the fields with `plugwire actions show NAME --json`")
                data[key] = {**data[key], **value} if key in ("headers", "query") and isinstance(value, dict) else value
            for dotted in unset:
                part, _, key = dotted.partition(".")
                if part not in ("headers", "query") or key not in data[part]:
                    raise UserInputError(f"{dotted} is not set, so it cannot be removed.", field=dotted,
                                         fix=f"name a header or query parameter it has (see `plugwire actions show {name}`)")
                del data[part][key]
            if data["name"] != name:
                raise UserInputError("An action cannot be renamed.", field="name", fix="create a new action under the new name")
            action = _unproven_if_changed(current, build_action({**data, "updated_at": now_iso()}))
            tx.put(TABLE, name, self._record(action))
        return action

    def record_trial(self, sent: Action, proved: Action | None, reason: str | None = None) -> Action:
        """Record what sending ``sent`` once showed: ``proved`` (``sent`` with its new
        sample, datatree and :class:`Proof`) after a 2xx, or else ``reason`` (what came
        back) on a draft, which stays a draft; a proven action keeps its proof (the API
        being down now does not undo what it answered). Returns the action as saved.

        Raises ``NotFoundError``, or ``UserInputError`` (field ``request``) when the
        action's request was changed while it was being sent (nothing is written).
        """
        with self.home.store.transaction() as tx:
            current = self.get(sent.name)
            if current.shaping() != sent.shaping():
                raise UserInputError(f"Action {sent.name!r} was changed while its request was being sent.", field="request",
                                     fix=f"prove it again: `plugwire actions prove {sent.name}`")
            if proved is not None:
                action = _checked(proved.model_copy(update={"updated_at": now_iso(), "draft_reason": None}))
            elif current.proven or not reason:
                return current
            else:
                action = current.model_copy(update={"draft_reason": reason, "updated_at": now_iso()})
            tx.put(TABLE, action.name, self._record(action))
        return action

    def get(self, name: str) -> Action:
        """Return the action ``name``; raises ``NotFoundError``."""
        rec = self.home.store.get(TABLE, name)
        if rec is None:
            raise NotFoundError(f"No action named {name!r}.", field="name", fix="list them with `plugwire actions list`")
        return self._from_record(rec)

    def list(self) -> list[Action]:
        """Return every action, sorted by name."""
        return [self._from_record(r) for _, r in sorted(self.home.store.all(TABLE).items())]

    def remove(self, name: str) -> None:
        """Delete the action ``name``; raises ``NotFoundError``."""
        if not self.home.store.delete(TABLE, name):
            raise NotFoundError(f"No action named {name!r}.", field="name", fix="list them with `plugwire actions list`")


_READ_ONLY = ("proof", "draft_reason")


def _checked(action: Action) -> Action:
    """Return ``action`` with its draft state made explicit: a proof stands only with
    the 2xx sample response it recorded; no proof is a draft (with its reason).
    Raises ``UserInputError`` (field ``proof``) for a proof without its sample."""
    proof, sample = action.proof, action.sample_response
    if proof is None:
        return action if action.draft_reason else action.model_copy(update={"draft_reason": NEVER_PROVEN})
    if sample is None or sample.status != proof.status:
        raise UserInputError(f"Action {action.name!r} carries a proof without the {proof.status} answer it recorded.", field="proof",
                             fix="leave the proof out (it is saved as a draft) and prove the action by sending it")
    return action.model_copy(update={"draft_reason": None}) if action.draft_reason else action


def _unproven_if_changed(before: Action, after: Action) -> Action:
    """Return ``after``, made a draft when it keeps ``before``'s proof but a field
    that shapes the request changed (the proof was for the request as it was)."""
    if after.proof is None or after.proof != before.proof:
        return after
    was, now = before.shaping(), after.shaping()
    changed = [k for k in SHAPING if was[k] != now[k]]
    if not changed:
        return after
    reason = f"{', '.join(changed)} changed after it was proven on {before.proof.at}: the proof was for the request as it was"
    return after.model_copy(update={"proof": None, "draft_reason": reason})


def _proof_of_old_record(data: dict[str, Any]) -> dict[str, Any]:
    """The proof state of a record saved before proofs were kept: the wizard saved
    only what answered 2xx, so a 2xx sample response is its proof."""
    sample = data.get("sample_response") or {}
    status = sample.get("status") if isinstance(sample, dict) else None
    if isinstance(status, int) and 200 <= status < 300:
        return {"proof": {"at": data.get("updated_at") or data.get("created_at") or now_iso(), "status": status, "by": "sample"}}
    return {"proof": None, "draft_reason": "saved before proofs were kept, without a 2xx sample response"}


def _taken(name: str) -> AlreadyExistsError:
    return AlreadyExistsError(
        f"An action named {name!r} already exists.", field="name",
        fix=f"choose another name, or remove that one first with `plugwire actions remove {name!r}`",
    )


def _secret(value: Any) -> SecretStr | list[SecretStr]:
    if isinstance(value, list):
        return [SecretStr("" if v is None else str(v)) for v in value]
    return SecretStr("" if value is None else str(value))
