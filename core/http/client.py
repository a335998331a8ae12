"""One ``httpx2`` client per connection: its auth, TLS context, agent route
(private network) and timeout, from the connection's settings.

What went wrong is named by :mod:`plugwire.core.http.outcomes`; Test connection
(:mod:`plugwire.core.http.testconn`) and sending an action's request
(:mod:`plugwire.core.http.send`) are built on these.
"""

from __future__ import annotations

from typing import Any

import httpx2

from plugwire.core.base.errors import UserInputError
from plugwire.core.connections.model import Connection, Connections
from plugwire.core.http.outcomes import safe_url

__all__ = ["client_for"]


def client_for(conn: Connection, connections: Connections, *, asynchronous: bool = False, **kwargs: Any):
    """Return an ``httpx2.Client`` (or ``AsyncClient``) that sends as ``conn``:
    its auth, TLS context, agent route (private network) and timeout. Extra
    ``kwargs`` go to the client.

    Raises ``AuthorizationRequired`` when an interactive auth has no token yet, and
    ``UserInputError`` when the client certificate does not load or a SOCKS agent
    is named without SOCKS support installed.
    """
    context = connections.auth_context(conn)
    auth = conn.auth_type_plugin().build_auth(conn.settings, context)
    options: dict[str, Any] = {
        "verify": context.verify,
        "timeout": httpx2.Timeout(conn.options.timeout),
        "follow_redirects": True,
        # The route is the connection's decision alone, never the environment's
        # HTTP(S)_PROXY: a private-network connection must go through its agent and
        # a normal one must not.
        "trust_env": False,
        "headers": {"User-Agent": "plugwire"},
    }
    if context.proxy:
        options["proxy"] = context.proxy
    if auth is not None:
        options["auth"] = auth
    options.update(kwargs)
    cls = httpx2.AsyncClient if asynchronous else httpx2.Client
    try:
        return cls(**options)
    except ImportError as exc:
        if "socks" not in str(exc).lower():
            raise
        raise UserInputError(
            f"agent_url {safe_url(context.proxy)} is a SOCKS agent, and SOCKS support is not installed.",
            field="agent_url",
            fix="install it with `pip install socksio`, or give the agent's http:// address",
        ) from None
