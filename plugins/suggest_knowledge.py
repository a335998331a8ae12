"""The knowledge base as a request suggester: it recommends sample requests from
the endpoint catalogue (built-in, contrib, plugin and the user's own files)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import plugwire
from plugwire import Suggester, hookimpl

if TYPE_CHECKING:
    from plugwire import Suggestion


class KnowledgeSuggester(Suggester):
    """Match the method and URL against the catalogue's index."""

    name = "knowledge"
    description = "Known endpoints from the catalogue: host, path template, sample body and constraints."

    def suggest(self, method: str, url: str, connection: Any = None, *, limit: int = 5) -> list[Suggestion]:
        """Return up to ``limit`` suggestions above the cutoff, best first; the
        connection's ``provider`` (if set) stands in for an unrecognised host.

        Raises ``UserInputError`` (field ``url``) when the URL is not absolute http(s).
        """
        # Looked up when asked, not at import: every command that loads the plugins
        # (`connections list` too) would otherwise load the knowledge base with them.
        return plugwire.suggest_from_catalogue(method, url, limit=limit, provider=_provider(connection))

    def suggest_data(self, method: str, url: str, connection: Any = None, *, limit: int = 5) -> list[dict[str, Any]]:
        """Return what :meth:`suggest` returns in the suggestions' JSON form, without
        building the models (``plugwire suggest`` then imports no pydantic)."""
        return plugwire.suggest_data_from_catalogue(method, url, limit=limit, provider=_provider(connection))


def _provider(connection: Any) -> str | None:
    # a connection made with --provider says which API a self-hosted host serves
    options = getattr(connection, "options", connection)
    return getattr(options, "provider", None)


@hookimpl
def register_suggesters(register):
    register(KnowledgeSuggester())
