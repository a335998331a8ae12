"""The public testing kit for plugin authors: what a plugin's own tests import,
besides the plugin API in :mod:`plugwire` and the pytest fixtures
(``plugwire_home``, ``plugwire_plugin``, ``plugwire_api``, ``plugwire_connections``,
``plugwire_catalogue``, ``plugwire_cli``; see docs/plugins.md), so that they keep
working when plugwire's internal modules move::

    from plugwire import testing

    def test_registered(plugwire_plugin):
        plugwire_plugin(my_plugin)
        assert "my_auth" in testing.auth_types.names()
"""

from __future__ import annotations

from plugwire.core import testing as _kit
from plugwire.core.plugincore.manager import auth_types, catalogue_sources, suggesters, triggers
from plugwire.core.recipes.model import Recipes
from plugwire.core.recipes.polling import CURSOR_TABLE, StorePollContext, poll_status
from plugwire.core.storage.home import Home
from plugwire.core.storage.jobs import JobStore
from plugwire.core.testing import (
    CatalogueLoader,
    ConnectionFactory,
    PluginRegistrar,
    ProgrammableAPI,
    RecordedRequest,
    Reply,
)

__all__ = [
    # what plugins registered, by name: .get(name), .names(), .owners()
    "auth_types",
    "catalogue_sources",
    "suggesters",
    "triggers",
    # a test data folder's stores, to see what a plugin's work became
    "Home",
    "JobStore",
    "Recipes",
    # polling triggers: the poll context plugwire hands to poll(), on a data folder;
    # the table its cursor is kept in; the recorded outcome of a recipe's last poll
    "CURSOR_TABLE",
    "StorePollContext",
    "poll_status",
    # the classes behind the fixtures
    *_kit.__all__,
]
