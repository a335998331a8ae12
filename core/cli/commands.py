"""The top-level commands of ``plugwire`` and what the root says about itself,
without typer: :mod:`.lazy` builds the typer root from these, and :mod:`.roothelp`
prints ``plugwire --help`` and ``--version`` from them without importing typer.
"""

from __future__ import annotations

import importlib.util

__all__ = ["COMMANDS", "ROOT_HELP", "VERSION_HELP", "available", "version_text"]

ROOT_HELP = "Connect any application that has an HTTP API."
VERSION_HELP = "Print plugwire's version and exit."

_PKG = "plugwire.core.cli"

#: Top-level command -> (module that attaches it, its one-line help), in the order
#: ``plugwire --help`` lists them. A module not in this tree yet is left out.
COMMANDS: dict[str, tuple[str, str]] = {
    "connections": (f"{_PKG}.connections", "Accounts on HTTP APIs: their auth, certificate and route."),
    "actions": (f"{_PKG}.actions", "Make-request actions: build one with the wizard, list, show, prove, edit, export."),
    "suggest": (f"{_PKG}.knowledge", "Recommend a sample request (body, headers, query) for METHOD and URL, and say why."),
    "knowledge": (f"{_PKG}.knowledge", "The endpoint catalogue behind request suggestions."),
    "recipes": (f"{_PKG}.recipes", "Recipes: a trigger and make-request steps wired with datapills."),
    "triggers": (f"{_PKG}.triggers", "List the trigger types and each one's settings (name, type, required, default, description), for `plugwire recipes new --trigger TYPE --set NAME=VALUE`."),
    "jobs": (f"{_PKG}.recipes", "Jobs: each run of a recipe, with what was sent and what came back."),
    "serve": (f"{_PKG}.recipes", "Run the server: webhooks, schedules, jobs, the OAuth2 callback, the JSON API and the web console."),
    "worker": (f"{_PKG}.worker", "Run jobs published by `plugwire serve` (needs PLUGWIRE_BROKER_URL and PLUGWIRE_DATABASE_URL)."),
    "plugins": (f"{_PKG}.plugins", "Installed plugins and what they provide."),
}

_exists: dict[str, bool] = {}


def available() -> list[str]:
    """Return the registered command names whose module is in this tree."""
    out = []
    for name, (module, _help) in COMMANDS.items():
        if module not in _exists:
            # find_spec looks for the file without importing it: cheap enough for --help.
            _exists[module] = importlib.util.find_spec(module) is not None
        if _exists[module]:
            out.append(name)
    return out


def version_text() -> str:
    """Return ``plugwire VERSION``: the installed distribution's version, or, for a
    source tree that was never installed, the version the package declares."""
    from importlib import metadata

    try:
        version = metadata.version("plugwire")
    except metadata.PackageNotFoundError:
        from plugwire.core.base import VERSION as version
    return f"plugwire {version}"
