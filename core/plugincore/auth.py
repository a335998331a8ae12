"""What an auth type is: the contract every auth plugin (built in or not) fulfils.

An auth type has a name, a pydantic model of its input fields (secrets typed as
``SecretStr``, so they are masked when shown and encrypted at rest), and builds an
``httpx2.Auth`` from validated settings. Interactive types (OAuth2 authorization
code, OAuth 1.0a) also know how to start and finish an authorization; every type that keeps
tokens receives a :class:`TokenStore` bound to its connection.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from contextlib import AbstractAsyncContextManager, AbstractContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, ClassVar, Protocol

from pydantic import BaseModel, ValidationError

from plugwire.core.base.errors import PlugwireError, UserInputError, format_validation_error

if TYPE_CHECKING:  # annotations only: loading the plugins (plugwire suggest) needs neither
    import httpx2

__all__ = [
    "AuthType",
    "AuthContext",
    "PendingAuthorization",
    "TokenStore",
    "MemoryTokenStore",
]


class TokenStore(Protocol):
    """Where an auth type keeps the tokens of one connection (encrypted at rest), and
    the lock under which the connection's token is renewed.

    Renew under :meth:`lock` (or :meth:`lock_async`): load the token again there, use
    it if another client renewed it meanwhile, and otherwise renew and :meth:`save`
    before letting go, so that a connection renews once however many clients,
    threads and processes use it. A store written before ``lock`` existed still
    works: plugwire's OAuth2 types then lock within the process only.

    When getting a token has finally failed (a refused renewal, an unreachable token
    endpoint), an auth type calls :meth:`record_refresh_failure`; it is optional (a
    store without it is not told) and does nothing by default.
    """

    def load(self) -> dict[str, Any] | None:
        """Return the stored token dict, or None when there is none."""

    def save(self, token: dict[str, Any]) -> None:
        """Persist ``token`` (replacing the previous one)."""

    def clear(self) -> None:
        """Forget the stored token."""

    def lock(self) -> AbstractContextManager[None]:
        """Return a context manager holding the connection's renewal lock: across
        threads, and across processes (and machines, with a database) for a stored
        connection. Not reentrant. Entering raises ``PlugwireError`` when the lock
        stays held too long."""

    def lock_async(self) -> AbstractAsyncContextManager[None]:
        """Return an async context manager holding the same lock as :meth:`lock`,
        waited for in a worker thread so that the event loop runs on meanwhile.
        Subclasses get this from :meth:`lock`."""
        return _held_in_thread(self.lock())

    def record_refresh_failure(self, error: PlugwireError) -> None:
        """Note that getting the connection's token has finally failed with ``error``
        (its message names no secret). Optional: auth types look it up on the store
        and call it if it is there, after the failure and before raising ``error``.
        plugwire's store keeps the outcome on the connection, where the console shows
        it until the next renewal or test; this default does nothing. Should not raise
        but a ``PlugwireError`` (which the caller logs and otherwise ignores)."""


@asynccontextmanager
async def _held_in_thread(lock: AbstractContextManager[None]) -> AsyncIterator[None]:
    import anyio  # only async clients that renew a token need it

    # A limiter of its own: waiting threads must not take the default limiter's
    # tokens, which the holder needs to load and save the token.
    await anyio.to_thread.run_sync(lock.__enter__, limiter=anyio.CapacityLimiter(1))
    try:
        yield
    finally:
        # Shielded: a cancelled task still lets the lock go.
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(lock.__exit__, None, None, None, limiter=anyio.CapacityLimiter(1))


class MemoryTokenStore(TokenStore):
    """A TokenStore in memory, for connections that are not saved (tests, one-offs);
    its lock is a lock of this process, the only one that sees the token."""

    def __init__(self, token: dict[str, Any] | None = None):
        self._token = dict(token) if token else None
        self._lock = threading.Lock()

    def load(self) -> dict[str, Any] | None:
        return dict(self._token) if self._token else None

    def save(self, token: dict[str, Any]) -> None:
        self._token = dict(token)

    def clear(self) -> None:
        self._token = None

    def lock(self) -> AbstractContextManager[None]:
        return self._lock


@dataclass
class AuthContext:
    """What the core hands an auth type besides its settings.

    ``tokens`` stores the connection's tokens; ``verify``, ``cert`` and ``proxy``
    are the TLS and routing options of the connection, so that an auth type making
    its own requests (a token endpoint) goes the same way as the connection does:
    build that client from :meth:`client_options`, which also brings the server's
    network policy and a cap on the answers' size. ``transport`` is set by the core
    (a callable taking ``asynchronous`` and returning a fresh transport that carries
    the TLS settings, the route and the policy).
    """

    connection_name: str
    tokens: TokenStore
    verify: Any = True
    cert: Any = None
    proxy: str | None = None
    timeout: float = 30.0
    transport: Callable[[bool], Any] | None = None

    def client_options(self, *, asynchronous: bool = False) -> dict[str, Any]:
        """Return the ``httpx2.Client`` (or ``AsyncClient``, when ``asynchronous``)
        options for a request an auth type makes on the connection's behalf: the
        connection's TLS verification, route and timeout, no proxy from the
        environment, and the server's network policy (every connection it opens,
        redirects included, is checked and pinned to the checked address).

        Each call returns a fresh transport: the client that gets them owns it.
        authlib's httpx clients take these options as they are.
        """
        import httpx2  # on use: an auth type's module may be loaded without it

        options: dict[str, Any] = {
            "verify": self.verify,
            "timeout": httpx2.Timeout(self.timeout),
            # The connection decides the route, not HTTP(S)_PROXY of the environment.
            "trust_env": False,
            "headers": {"User-Agent": "plugwire"},
        }
        if self.cert is not None:
            options["cert"] = self.cert
        if self.transport is not None:
            # The transport carries the route itself: a proxy option would mount a
            # transport of its own over it.
            options["transport"] = self.transport(asynchronous)
        elif self.proxy:
            options["proxy"] = self.proxy
        return options


@dataclass
class PendingAuthorization:
    """An interactive authorization in progress: the URL to send the user to and the
    state needed to finish it (``state``, PKCE ``code_verifier``...). ``secret_state``
    must never be shown."""

    url: str
    state: str
    redirect_uri: str
    secret_state: dict[str, Any] = field(default_factory=dict)


class AuthType(ABC):
    """Base class of auth types. Subclass, set the class attributes, implement
    :meth:`build_auth`, and register an instance from ``register_auth_types``."""

    #: Unique name (``basic``, ``oauth2``...), used in connection records.
    name: ClassVar[str]
    #: Short human title for forms and listings.
    title: ClassVar[str]
    #: One sentence on when to use it.
    description: ClassVar[str] = ""
    #: The input fields: a pydantic model, secrets as ``SecretStr``.
    Settings: ClassVar[type[BaseModel]]
    #: True when the user must complete a browser flow (``plugwire connections connect``).
    interactive: ClassVar[bool] = False

    def parse_settings(self, data: dict[str, Any] | BaseModel) -> BaseModel:
        """Validate raw input into this type's ``Settings``.

        Returns the model. Raises ``UserInputError`` naming each bad field.
        """
        if isinstance(data, self.Settings):
            return data
        try:
            return self.Settings.model_validate(data)
        except ValidationError as exc:
            raise UserInputError(
                f"Invalid settings for auth type {self.name!r}: "
                + format_validation_error(exc, prefix="settings."),
                field="settings",
                fix=f"see `plugwire connections fields {self.name}` for the fields and their types",
            ) from None

    @abstractmethod
    def build_auth(self, settings: BaseModel, context: AuthContext) -> httpx2.Auth | None:
        """Return the ``httpx2.Auth`` that authenticates requests, or None for no auth.

        Raises ``AuthorizationRequired`` when an interactive type has no token yet.
        """

    # Interactive flows ---------------------------------------------------------
    def start_authorization(self, settings: BaseModel, redirect_uri: str | None = None) -> PendingAuthorization:
        """Return the URL the user must visit and the state to finish with.

        Only interactive types implement this (or :meth:`begin_authorization`);
        others raise ``PlugwireError``.
        """
        raise PlugwireError(f"Auth type {self.name!r} has no interactive authorization.", field="auth_type")

    def begin_authorization(
        self, settings: BaseModel, redirect_uri: str | None, context: AuthContext
    ) -> PendingAuthorization:
        """Start an authorization: what plugwire calls. Returns what
        :meth:`start_authorization` returns, which this default calls.

        Override this instead when starting makes a request on the connection's
        behalf (OAuth 1.0a's request token): build its client from
        ``context.client_options()`` so that it goes through the connection's TLS,
        route and the server's network policy. ``state`` of the result is what the
        callback brings back (``state``, or ``oauth_token`` for OAuth 1.0a).
        """
        return self.start_authorization(settings, redirect_uri)

    def finish_authorization(
        self,
        settings: BaseModel,
        pending: PendingAuthorization,
        callback_url: str,
        context: AuthContext,
    ) -> dict[str, Any]:
        """Exchange the callback for a token, save it in ``context.tokens`` and return it.

        Raises ``PlugwireError`` (state mismatch, provider error) with the provider's message.
        """
        raise PlugwireError(f"Auth type {self.name!r} has no interactive authorization.", field="auth_type")

    def describe_fields(self) -> list[dict[str, Any]]:
        """Return the Settings fields as ``{name, type, required, secret, description, default}``."""
        out = []
        schema = self.Settings.model_json_schema()
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        for fname, finfo in self.Settings.model_fields.items():
            prop = props.get(fname, {})
            out.append(
                {
                    "name": fname,
                    "type": _type_label(prop),
                    "required": fname in required,
                    "secret": _is_secret(finfo.annotation),
                    "description": finfo.description or prop.get("description", ""),
                    "default": None if finfo.is_required() else _jsonable_default(finfo.get_default(call_default_factory=True)),
                }
            )
        return out


def _type_label(prop: dict[str, Any]) -> str:
    if "type" in prop:
        t = prop["type"]
        if t == "object":
            return "mapping"
        return t
    if "anyOf" in prop:
        return " | ".join(_type_label(p) for p in prop["anyOf"] if p.get("type") != "null")
    return "value"


def _is_secret(annotation: Any) -> bool:
    from pydantic import SecretStr

    text = repr(annotation)
    return annotation is SecretStr or "SecretStr" in text


def _jsonable_default(value: Any) -> Any:
    from pydantic import SecretStr

    if isinstance(value, SecretStr):  # never show a secret default
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (dict, list)):
        return value
    return str(value)
