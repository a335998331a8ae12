"""Every extension point of plugwire, declared in one place.

Each hook is named ``register_*`` and receives a ``register`` callback. The core
builds one callback per plugin, so whatever a plugin hands over is validated (type,
unique name) and any problem is reported with the plugin's name. Every
implementation of a hook is called; there is no "first answer wins".

Plugin authors import the marker from the package root::

    from plugwire import hookimpl

    @hookimpl
    def register_auth_types(register):
        register(MyAuthType())
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import pluggy

if TYPE_CHECKING:  # annotations only: the package root imports this module, and must stay light
    from pathlib import Path

    from plugwire.core.plugincore.auth import AuthType
    from plugwire.core.plugincore.suggesters import Suggester
    from plugwire.core.plugincore.triggers import TriggerType

__all__ = [
    "PLUGIN_API_VERSION",
    "hookimpl",
    "hookspec",
    "register_auth_types",
    "register_catalogue_sources",
    "register_suggesters",
    "register_triggers",
]

#: The version of the plugin API this plugwire offers. A plugin module may set
#: ``PLUGWIRE_PLUGIN_API = 1`` (an int, or a ``"1"``/``">=1"`` string) to declare
#: what it needs; an incompatible plugin is refused at load, naming the reason.
PLUGIN_API_VERSION = 1

hookspec = pluggy.HookspecMarker("plugwire")
hookimpl = pluggy.HookimplMarker("plugwire")


@hookspec
def register_auth_types(register: Callable[[AuthType], None]) -> None:
    """Register the auth types a connection can use.

    Called once (lazily) when plugwire first needs the list of auth types, and again
    after plugins are registered or unregistered.

    :param register: call it once per auth type with an instance of a
        :class:`plugwire.AuthType` subclass. A non-AuthType or a name
        another plugin already registered is refused with a ``PluginError`` naming
        this plugin.
    :returns: nothing; every implementation is called.
    """


@hookspec
def register_triggers(register: Callable[[TriggerType], None]) -> None:
    """Register the trigger types a recipe can start from.

    Called once (lazily) when plugwire first needs the list of trigger types.

    :param register: call it once per trigger type with an instance of a
        :class:`plugwire.TriggerType` subclass; names are unique.
        A trigger type delivers events in one of three ways: over HTTP
        (``receives_http`` and ``receive``: the server passes it each request to the
        recipe's URL), on a clock (``next_fire`` and ``event_at``: the server's
        scheduler asks it, no I/O), or by polling (``polls``, ``poll_interval`` and
        ``poll``: the server's poller calls ``poll(config, context)`` in a worker
        thread at each interval, never twice at once for one recipe; the
        ``PollContext`` gives a client that sends as the recipe's connection under
        the network policy, the cursor in the store, and ``emit(event, event_id)``,
        which stores a pending job once per id; emit first, save the cursor last).
    :returns: nothing; every implementation is called.
    """


@hookspec
def register_suggesters(register: Callable[[Suggester], None]) -> None:
    """Register request suggesters: objects that, given a method, a URL and a
    connection, propose sample requests.

    Called once (lazily) when plugwire first needs to suggest a request. At
    suggestion time every registered suggester is asked; the answers are merged and
    ranked by score.

    :param register: call it once per suggester with an instance of a
        :class:`plugwire.Suggester` subclass; names are unique.
    :returns: nothing; every implementation is called.
    """


@hookspec
def register_catalogue_sources(register: Callable[[Path | str], None]) -> None:
    """Register extra endpoint-catalogue files that a plugin ships.

    Called when the knowledge base loads its catalogue.

    :param register: call it with the path of one catalogue file (YAML or JSON, one
        provider per file) or of a folder whose ``*.yaml``/``*.yml``/``*.json`` files
        are all catalogue files. A path that does not exist is refused with a
        ``PluginError`` naming this plugin.
    :returns: nothing; every implementation is called.
    """
