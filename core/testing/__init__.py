"""Test helpers for plugin authors, and plugwire's pytest plugin (:mod:`.plugin`).

The fixtures are documented in :mod:`plugwire.core.testing.plugin`; the classes
behind them can be used without pytest::

    from plugwire.core.testing import ProgrammableAPI, Reply
"""

from plugwire.core.testing.helpers import CatalogueLoader, ConnectionFactory, PluginRegistrar
from plugwire.core.testing.server import ProgrammableAPI, RecordedRequest, Reply

__all__ = [
    "CatalogueLoader",
    "ConnectionFactory",
    "PluginRegistrar",
    "ProgrammableAPI",
    "RecordedRequest",
    "Reply",
]
