"""Connections: a named account on an HTTP API, with its auth type and settings.

The :class:`Connections` service is the only way connection records are created,
read, changed and removed; it validates input against the chosen auth type's
model, seals secrets before they reach the store, and masks them when shown.
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Callable, ClassVar, Iterator

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from plugwire.core.base.errors import (
    AuthorizationRequired,
    NotFoundError,
    PlugwireError,
    UserInputError,
    format_validation_error,
)
from plugwire.core.base.secrets import mask, redact_in_logs, seal, unseal
from plugwire.core.connections.checks import CHECKS, record_check
from plugwire.core.connections.listing import TABLE
from plugwire.core.connections.options import ClientCertificate, ConnectionOptions, PlugwireDeprecationWarning
from plugwire.core.connections.tls import tls_context
from plugwire.core.plugincore.auth import AuthContext, AuthType, TokenStore
from plugwire.core.plugincore.manager import auth_types
from plugwire.core.storage.home import Home

__all__ = [
    "ClientCertificate",
    "Connection",
    "ConnectionOptions",
    "Connections",
    "PlugwireDeprecationWarning",
    "StoredTokens",
]

TOKENS = "tokens"


class Connection(BaseModel):
    """A connection as used at run time: options plus validated auth settings."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    options: ConnectionOptions
    settings: BaseModel
    created_at: str
    updated_at: str
    #: The last check of each kind (``test``, ``refresh``): see ``connections.checks``.
    checks: dict[str, Any] = {}

    @property
    def name(self) -> str:
        return self.options.name

    @property
    def auth_type(self) -> str:
        return self.options.auth_type

    def auth_type_plugin(self) -> AuthType:
        """Return the registered auth type; raises ``UserInputError`` when it is gone."""
        return _auth_type(self.options.auth_type)

    def secret_values(self) -> list[str]:
        """Return every secret string of this connection (to redact them from text)."""
        found: list[str] = []
        _collect_secrets(self.settings, found)
        _collect_secrets(self.options.client_certificate, found)
        return [s for s in found if len(s) >= 4]

    def public(self) -> dict[str, Any]:
        """Return the connection as a JSON-able dict with every secret masked."""
        opts = self.options.model_dump(mode="python")
        if self.options.client_certificate is not None:
            opts["client_certificate"] = {
                "certificate": _cert_summary(self.options.client_certificate.certificate)
                if self.options.client_certificate.certificate
                else None,
                "private_key": mask(self.options.client_certificate.private_key) or None,
                "key_password": mask(self.options.client_certificate.key_password) or None,
                "ca_bundle": "(PEM CA bundle)" if self.options.client_certificate.ca_bundle else None,
            }
        return {
            **opts,
            "settings": mask(self.settings.model_dump(mode="python")),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


def _collect_secrets(value: Any, out: list[str]) -> None:
    if isinstance(value, SecretStr):
        out.append(value.get_secret_value())
    elif isinstance(value, BaseModel):
        for k in type(value).model_fields:
            _collect_secrets(getattr(value, k), out)
    elif isinstance(value, dict):
        for v in value.values():
            _collect_secrets(v, out)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _collect_secrets(v, out)


def _cert_summary(pem: str) -> str:
    try:
        from cryptography import x509

        cert = x509.load_pem_x509_certificate(pem.encode())
        return f"subject {cert.subject.rfc4514_string()}, expires {cert.not_valid_after_utc:%Y-%m-%d}"
    except Exception:
        return "(PEM certificate)"


def _auth_type(name: str) -> AuthType:
    found = auth_types.get(name)
    if found is None:
        known = ", ".join(auth_types.names()) or "none are installed"
        raise UserInputError(
            f"auth_type: unknown auth type {name!r}.", field="auth_type", fix=f"use one of: {known}"
        )
    return found


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class StoredTokens(TokenStore):
    """The tokens of one connection in the store, sealed, and the lock they are
    renewed under: the store's lock ``tokens:<connection>`` (a lock file in the data
    folder, or a PostgreSQL advisory lock), which every process shares."""

    # Threads of one process queue here first, so that one of them at a time waits
    # on the store's lock (which may hold a database session while it waits).
    _process_locks: ClassVar[dict[tuple[str, str], threading.Lock]] = {}
    _process_locks_guard: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, home: Home, connection: str):
        self._home = home
        self._name = connection

    def load(self) -> dict[str, Any] | None:
        rec = self._home.store.get(TOKENS, self._name)
        if not rec:
            return None
        return json.loads(unseal(rec["token"], self._home.cipher))

    def save(self, token: dict[str, Any]) -> None:
        """Replace the token, in one transaction that checks the connection is still
        there. Raises ``NotFoundError`` (and stores nothing) when it was removed or
        renamed meanwhile."""
        sealed = seal(SecretStr(json.dumps(dict(token))), self._home.cipher)
        with self._home.store.transaction() as tx:
            if tx.get(TABLE, self._name) is None:
                raise NotFoundError(
                    f"Connection {self._name!r} was removed or renamed, so its new token was not stored.",
                    field="connection",
                    fix="list the connections with `plugwire connections list`",
                )
            tx.put(TOKENS, self._name, {"token": sealed, "saved_at": _now()})
            # A token that was just obtained (renewed, or given after Connect) ends a
            # failed renewal's warning, in the same transaction.
            record_check(self._home, self._name, "refresh", ok=True, outcome="ok", message="A new token was stored.")

    def record_refresh_failure(self, error: PlugwireError) -> None:
        """Note on the connection that renewing its token failed with ``error`` (an
        ``AuthorizationRequired`` means it must be connected again). The message is
        stored without the connection's secrets; a connection that is gone is skipped."""
        outcome = "not_connected" if isinstance(error, AuthorizationRequired) else "refresh_failed"
        Connections(self._home).record_check(self._name, "refresh", ok=False, outcome=outcome, message=str(error))

    def clear(self) -> None:
        self._home.store.delete(TOKENS, self._name)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the connection's renewal lock: first among this process's threads,
        then the store's lock across processes. Raises ``StorageError`` when the
        store's lock stays held past its timeout."""
        with self._process_locks_guard:
            local = self._process_locks.setdefault((str(self._home.path), self._name), threading.Lock())
        with local, self._home.store.lock(f"tokens:{self._name}"):
            yield


class Connections:
    """Create, read, change and remove connections in one data folder."""

    def __init__(self, home: Home):
        self.home = home

    # -- validation --------------------------------------------------------------
    def build(self, data: dict[str, Any], *, created_at: str | None = None) -> Connection:
        """Validate raw input (``name``, ``auth_type``, ``settings`` and options)
        into a :class:`Connection` without saving it.

        Raises ``UserInputError`` naming each bad field.
        """
        data = dict(data)
        settings_raw = data.pop("settings", None) or {}
        if not data.get("auth_type"):
            known = ", ".join(auth_types.names())
            raise UserInputError("auth_type is missing.", field="auth_type", fix=f"choose one of: {known}")
        auth = _auth_type(str(data["auth_type"]))
        try:
            options = ConnectionOptions.model_validate(data)
        except ValidationError as exc:
            raise UserInputError(
                "Invalid connection: " + format_validation_error(exc),
                field=_first_field(exc),
                fix="correct the field named above",
            ) from None
        settings = auth.parse_settings(settings_raw)
        now = _now()
        return Connection(options=options, settings=settings, created_at=created_at or now, updated_at=now)

    # -- persistence ------------------------------------------------------------
    def _record(self, conn: Connection) -> dict[str, Any]:
        cipher = self.home.cipher
        opts = conn.options.model_dump(mode="python")
        return {
            "options": seal(opts, cipher),
            "settings": seal(conn.settings.model_dump(mode="python"), cipher),
            "created_at": conn.created_at,
            "updated_at": conn.updated_at,
            CHECKS: conn.checks,
        }

    def _from_record(self, rec: dict[str, Any]) -> Connection:
        cipher = self.home.cipher
        options = ConnectionOptions.model_validate(unseal(rec["options"], cipher))
        auth = _auth_type(options.auth_type)
        settings = auth.parse_settings(unseal(rec["settings"], cipher))
        return Connection(
            options=options, settings=settings, created_at=rec["created_at"], updated_at=rec["updated_at"],
            checks=rec.get(CHECKS) or {},
        )

    def record_check(self, name: str, kind: str, *, ok: bool, outcome: str, message: str, status: int | None = None) -> None:
        """Keep the outcome of the last check of ``kind`` (``test``, ``refresh``) on
        connection ``name``: see :func:`plugwire.core.connections.checks.record_check`.
        A connection that is gone is skipped; raises ``StorageError``."""
        record_check(
            self.home, name, kind, ok=ok, outcome=outcome, message=message, status=status,
            secrets_of=lambda rec: self._from_record(rec).secret_values(),
        )

    def create(self, data: dict[str, Any]) -> Connection:
        """Validate and save a new connection; returns it.

        Raises ``UserInputError`` for bad input, ``AlreadyExistsError`` for a taken name.
        """
        conn = self.build(data)
        with self.home.store.transaction() as tx:
            tx.insert(TABLE, conn.name, self._record(conn))
            # A token saved under this name after its last connection was removed (a
            # refresh that finished late) belongs to no one: a new connection starts without.
            tx.delete(TOKENS, conn.name)
        return conn

    def get(self, name: str) -> Connection:
        """Return the connection ``name``; raises ``NotFoundError``."""
        rec = self.home.store.get(TABLE, name)
        if rec is None:
            raise NotFoundError(
                f"No connection named {name!r}.", field="name", fix="list them with `plugwire connections list`"
            )
        return self._from_record(rec)

    def list(self) -> list[Connection]:
        """Return every connection, sorted by name."""
        return [self._from_record(r) for _, r in sorted(self.home.store.all(TABLE).items())]

    def edit(self, name: str, changes: dict[str, Any], *, unset: list[str] | tuple[str, ...] = ()) -> Connection:
        """Apply ``changes`` (options and/or a partial ``settings`` dict) and save.

        A setting left out keeps its value, secrets included; renaming is allowed.
        ``unset`` names settings to remove, dotted for one entry of a mapping
        (``headers.X-Old``). Returns the updated connection. Raises
        ``UserInputError`` (also for an ``unset`` key that is not there) or ``NotFoundError``.
        """
        # One transaction reads, merges, validates and writes: an edit made meanwhile by
        # another process is kept, and a connection removed meanwhile is not recreated.
        with self.home.store.transaction() as tx:
            current = self.get(name)
            merged = current.options.model_dump(mode="python")
            changes = dict(changes)
            settings_changes = changes.pop("settings", None) or {}
            merged.update(changes)
            if merged.get("auth_type") != current.auth_type:
                settings = settings_changes  # another auth type: its own fields only
            else:
                settings = _merge_settings(current.settings.model_dump(mode="python"), settings_changes)
            for dotted in unset:
                _unset(settings, dotted)
            merged["settings"] = settings
            updated = self.build(_plain(merged), created_at=current.created_at)
            updated.checks = current.checks  # shown as older than the edit
            if updated.name != name:
                tx.insert(TABLE, updated.name, self._record(updated))
                tx.delete(TABLE, name)
                tok = tx.get(TOKENS, name)
                tx.delete(TOKENS, updated.name)  # an orphan under the new name is not inherited
                if tok is not None:
                    tx.put(TOKENS, updated.name, tok)
                    tx.delete(TOKENS, name)
            else:
                tx.put(TABLE, name, self._record(updated))
        return updated

    def remove(self, name: str) -> None:
        """Delete the connection and its tokens; raises ``NotFoundError``."""
        with self.home.store.transaction() as tx:
            if not tx.delete(TABLE, name):
                raise NotFoundError(
                    f"No connection named {name!r}.", field="name", fix="list them with `plugwire connections list`"
                )
            tx.delete(TOKENS, name)

    def tokens(self, name: str) -> StoredTokens:
        """Return the token store of connection ``name``."""
        return StoredTokens(self.home, name)

    def auth_context(self, conn: Connection, *, transport: Callable[[bool, Any], Any] | None = None) -> AuthContext:
        """Return the context an auth type needs for ``conn`` (token store, TLS, proxy).

        ``transport`` (``(asynchronous, verify) -> transport``) is how the caller's
        network policy reaches the auth type's own requests (token, refresh).
        """
        redact_in_logs(conn.secret_values())
        verify = tls_context(conn)
        return AuthContext(
            connection_name=conn.name,
            tokens=self.tokens(conn.name),
            verify=verify,
            proxy=conn.options.agent_url if conn.options.private_network else None,
            timeout=conn.options.timeout,
            transport=(lambda asynchronous: transport(asynchronous, verify)) if transport is not None else None,
        )


def _plain(value: Any) -> Any:
    """Unwrap SecretStr values so merged input can be validated again."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, BaseModel):
        return _plain(value.model_dump(mode="python"))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _merge_settings(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    out = dict(old)
    for k, v in new.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out


def _unset(settings: dict[str, Any], dotted: str) -> None:
    top, _, sub = dotted.partition(".")
    target = settings.get(top)
    if sub and isinstance(target, dict) and sub in target:
        settings[top] = {k: v for k, v in target.items() if k != sub}
    elif not sub and top in settings:
        del settings[top]
    else:
        raise UserInputError(
            f"settings.{dotted} is not set, so it cannot be removed.",
            field=f"settings.{dotted}",
            fix="see the current settings with `plugwire connections show NAME`",
        )


def _first_field(exc: ValidationError) -> str | None:
    for err in exc.errors(include_input=False):
        loc = ".".join(str(p) for p in err.get("loc", ()))
        if loc:
            return loc
    return None
