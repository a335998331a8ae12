"""Errors a user (or a plugin author) can cause.

Every one names the field at fault and how to fix it; the CLI prints the message
without a traceback. Tracebacks are reserved for plugwire's own bugs.
"""

from __future__ import annotations

__all__ = [
    "PlugwireError",
    "UserInputError",
    "NotFoundError",
    "AlreadyExistsError",
    "PluginError",
    "AuthorizationRequired",
    "StorageError",
]


class PlugwireError(Exception):
    """Base class of every error plugwire raises on purpose."""

    #: Name of the input field at fault, when there is one.
    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None, fix: str | None = None):
        #: The message alone; ``str(error)`` adds the fix ("... Fix: ...").
        self.message = message
        self.field = field
        self.fix = fix
        text = message
        if fix:
            text = f"{message} Fix: {fix}"
        super().__init__(text)


class UserInputError(PlugwireError):
    """A value the user gave is missing or wrong; ``field`` names it."""


class NotFoundError(PlugwireError):
    """The named thing (connection, action, recipe...) does not exist."""


class AlreadyExistsError(PlugwireError):
    """A thing with that unique name already exists."""


class PluginError(PlugwireError):
    """A plugin registered something malformed or clashing; the message names the plugin."""


class AuthorizationRequired(PlugwireError):
    """An interactive auth (OAuth2) has no usable token: the user must (re)connect."""


class StorageError(PlugwireError):
    """The data folder or key cannot be read or written."""


def format_validation_error(exc, *, prefix: str = "") -> str:
    """Render a pydantic ``ValidationError`` as one line per field: ``field: problem``.

    Returns the text; the input values are never included (they may be secrets).
    """
    lines = []
    for err in exc.errors(include_input=False, include_url=False):
        # "[key]" marks an error in a mapping's key, which the part before already names.
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("__root__", "[key]"))
        name = f"{prefix}{loc}" if loc else (prefix.rstrip(".") or "value")
        lines.append(f"{name}: {err.get('msg', 'invalid')}")
    return "; ".join(lines)
