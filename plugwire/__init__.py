"""plugwire: connect any application that has an HTTP API.

The repository's top-level folders ``core/``, ``plugins/`` and ``knowledge/`` are
mapped into this package as ``plugwire.core``, ``plugwire.plugins`` and
``plugwire.knowledge`` (see pyproject.toml). Plugin authors need only::

    from plugwire import hookimpl
"""

from plugwire.core.hookspecs import PLUGIN_API_VERSION, hookimpl

__all__ = ["PLUGIN_API_VERSION", "__version__", "hookimpl"]

__version__ = "0.1.0"
