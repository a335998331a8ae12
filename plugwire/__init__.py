"""plugwire: connect any application that has an HTTP API.

This module is the public plugin API: everything a plugin (built in or third-party)
imports comes from here, so that plugwire's internal modules can move without
breaking a plugin::

    from plugwire import AuthContext, AuthType, hookimpl

    @hookimpl
    def register_auth_types(register):
        register(MyAuthType())

Tests of a plugin also use :mod:`plugwire.testing`. The repository's folders
``core/``, ``plugins/`` and ``knowledge/`` are mapped into this package as
``plugwire.core``, ``plugwire.plugins`` and ``plugwire.knowledge`` (see
pyproject.toml); those are internals.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from plugwire.core.base import VERSION as __version__

# Name -> the module that defines it. Imported on first use (PEP 562): plugwire's own
# helper processes (the job store's writer) import plugwire.* without needing httpx2
# or pydantic, `plugwire --help` needs not even pluggy, and every plugwire.* import
# runs this file first.
_EXPORTS = {
    # every hook
    "PLUGIN_API_VERSION": "plugwire.core.plugincore.hookspecs",
    "hookimpl": "plugwire.core.plugincore.hookspecs",
    # auth types: register_auth_types
    "AuthContext": "plugwire.core.plugincore.auth",
    "AuthType": "plugwire.core.plugincore.auth",
    "PendingAuthorization": "plugwire.core.plugincore.auth",
    "TokenStore": "plugwire.core.plugincore.auth",
    # triggers: register_triggers
    "InboundRequest": "plugwire.core.plugincore.triggers",
    "PollCancelled": "plugwire.core.plugincore.triggers",
    "PollContext": "plugwire.core.plugincore.triggers",
    "Received": "plugwire.core.plugincore.triggers",
    "TriggerRefused": "plugwire.core.plugincore.triggers",
    "TriggerType": "plugwire.core.plugincore.triggers",
    # request suggesters: register_suggesters
    "BodyFormat": "plugwire.core.plugincore.suggesters",
    "FieldConstraint": "plugwire.core.plugincore.suggesters",
    "SampleRequest": "plugwire.core.plugincore.suggesters",
    "Suggester": "plugwire.core.plugincore.suggesters",
    "Suggestion": "plugwire.core.plugincore.suggesters",
    "suggest_data_from_catalogue": "plugwire.knowledge.suggestions",
    "suggest_from_catalogue": "plugwire.knowledge.suggestions",
    # errors a plugin raises (or catches)
    "AuthorizationRequired": "plugwire.core.base.errors",
    "NotFoundError": "plugwire.core.base.errors",
    "PluginError": "plugwire.core.base.errors",
    "PlugwireError": "plugwire.core.base.errors",
    "UserInputError": "plugwire.core.base.errors",
    "format_validation_error": "plugwire.core.base.errors",
    # helpers plugins share with the engine
    "MASK": "plugwire.core.base.redact",  # not .secrets, which imports cryptography
    "Outcome": "plugwire.core.http.outcomes",
    "classify_error": "plugwire.core.http.outcomes",
    "loads_json": "plugwire.core.base.jsontext",
    "validate_absolute_url": "plugwire.core.base.urls",
    "xml_to_data": "plugwire.core.http.body",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'plugwire' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # the same names, for type checkers and editors
    from plugwire.core.base.errors import (
        AuthorizationRequired,
        NotFoundError,
        PluginError,
        PlugwireError,
        UserInputError,
        format_validation_error,
    )
    from plugwire.core.base.jsontext import loads_json
    from plugwire.core.base.redact import MASK
    from plugwire.core.base.urls import validate_absolute_url
    from plugwire.core.http.body import xml_to_data
    from plugwire.core.http.outcomes import Outcome, classify_error
    from plugwire.core.plugincore.auth import AuthContext, AuthType, PendingAuthorization, TokenStore
    from plugwire.core.plugincore.hookspecs import PLUGIN_API_VERSION, hookimpl
    from plugwire.core.plugincore.suggesters import BodyFormat, FieldConstraint, SampleRequest, Suggester, Suggestion
    from plugwire.core.plugincore.triggers import (
        InboundRequest,
        PollCancelled,
        PollContext,
        Received,
        TriggerRefused,
        TriggerType,
    )
    from plugwire.knowledge.suggestions import suggest_data_from_catalogue, suggest_from_catalogue
