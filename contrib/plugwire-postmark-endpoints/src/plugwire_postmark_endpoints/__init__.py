"""plugwire endpoint plugin for Postmark: a catalogue of the Postmark API (shipped as
package data, registered with ``register_catalogue_sources``) and the ``postmark``
suggester (``register_suggesters``)."""

from __future__ import annotations

from pathlib import Path

from plugwire import hookimpl
from plugwire_postmark_endpoints.suggester import PostmarkSuggester

__all__ = ["CATALOGUE", "PostmarkSuggester"]

#: The plugwire plugin API this plugin is written for.
PLUGWIRE_PLUGIN_API = 1

#: The folder of catalogue files shipped with the package.
CATALOGUE = Path(__file__).with_name("catalogue")


@hookimpl
def register_catalogue_sources(register):
    register(CATALOGUE)


@hookimpl
def register_suggesters(register):
    register(PostmarkSuggester())
