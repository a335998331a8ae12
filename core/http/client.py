"""One ``httpx2`` client per connection: its auth, TLS context, agent route
(private network) and timeout, from the connection's settings.

What went wrong is named by :mod:`plugwire.core.http.outcomes`; Test connection
(:mod:`plugwire.core.http.testconn`) and sending an action's request
(:mod:`plugwire.core.http.send`) are built on these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import httpx2

from plugwire.core.base.errors import UserInputError
from plugwire.core.connections.model import Connection, Connections
from plugwire.core.http.outcomes import safe_url
from plugwire.core.http.stream import capped_transport

if TYPE_CHECKING:  # annotations only
    from plugwire.core.http.netpolicy import NetworkPolicy

__all__ = ["client_for", "policed_transport", "public_client"]

_PUBLIC_TIMEOUT = 30.0  # seconds, for a request that goes through no connection


def policed_transport(policy: "NetworkPolicy | None", conn: Connection | None) -> Callable[[bool, Any], Any] | None:
    """Return a maker of transports (``(asynchronous, verify) -> transport``) that put
    every connection opened for ``conn`` (None: no connection) through ``policy``,
    or None when the policy is off or does not apply to ``conn``."""
    if policy is None or not policy.applies(conn):
        return None
    name = conn.name if conn is not None else "(none)"
    return lambda asynchronous, verify: policy.transport(name, asynchronous=asynchronous, verify=verify)


def public_client(*, asynchronous: bool = False, policy: "NetworkPolicy | None" = None, **kwargs: Any):
    """Return a plain ``httpx2`` client for a request through no connection, checked
    by ``policy`` when given; extra ``kwargs`` go to the client."""
    options: dict[str, Any] = {
        "timeout": httpx2.Timeout(_PUBLIC_TIMEOUT), "follow_redirects": True, "trust_env": False,
        "headers": {"User-Agent": "plugwire"},
    }
    make = policed_transport(policy, None)
    if make is not None:
        options["transport"] = make(asynchronous, True)
    options.update(kwargs)
    return (httpx2.AsyncClient if asynchronous else httpx2.Client)(**options)


#: A token endpoint's answer is a few hundred bytes; one past this is cut off.
TOKEN_RESPONSE_LIMIT = 1 << 20


def _auth_transport(policed: Callable[[bool, Any], Any] | None, conn: Connection) -> Callable[[bool, Any], Any]:
    """Return the maker of an auth type's transports for ``conn`` (its token and
    refresh requests): through the policy when it applies, else straight or through
    the agent, and their answers capped at ``TOKEN_RESPONSE_LIMIT``."""
    proxy = conn.options.agent_url if conn.options.private_network else None

    def make(asynchronous: bool, verify: Any):
        if policed is not None:
            inner = policed(asynchronous, verify)
        else:
            cls = httpx2.AsyncHTTPTransport if asynchronous else httpx2.HTTPTransport
            inner = cls(verify=verify, proxy=proxy, trust_env=False)
        return capped_transport(inner, TOKEN_RESPONSE_LIMIT)

    return make


def client_for(conn: Connection, connections: Connections, *, asynchronous: bool = False,
               policy: "NetworkPolicy | None" = None, **kwargs: Any):
    """Return an ``httpx2.Client`` (or ``AsyncClient``) that sends as ``conn``:
    its auth, TLS context, agent route (private network) and timeout. Extra
    ``kwargs`` go to the client.

    With ``policy``, every connection the client opens (redirects, an auth's second
    attempt) and every token or refresh request its auth makes is checked and
    pinned to the checked address (a refusal raises ``NetworkPolicyError``).

    Raises ``AuthorizationRequired`` when an interactive auth has no token yet, and
    ``UserInputError`` when the client certificate does not load or a SOCKS agent
    is named without SOCKS support installed.
    """
    make = policed_transport(policy, conn)
    context = connections.auth_context(conn, transport=_auth_transport(make, conn))
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
    if make is not None:
        options["transport"] = make(asynchronous, context.verify)
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
