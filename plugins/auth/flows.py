"""The ``httpx2.Auth`` flows of the auth types ``header``, ``query`` and ``custom``:
fixed headers, query parameters and Basic credentials set on every request, with no
I/O, so each serves sync and async clients.

They live apart from their auth types because subclassing ``httpx2.Auth`` imports
httpx2: an auth type's module is loaded with every plugin (``plugwire suggest`` loads
them all to ask the suggesters) and imports this one only when it builds an auth.
"""

from __future__ import annotations

from typing import Any, Callable, Generator

import httpx2
from pydantic import SecretStr

__all__ = ["CustomAuth", "HeadersAuth", "QueryParamsAuth", "apply_headers", "apply_params"]


def apply_headers(request: httpx2.Request, headers: dict[str, SecretStr]) -> None:
    """Set ``headers`` on ``request``, replacing any header of the same name."""
    for name, value in headers.items():
        request.headers[name] = value.get_secret_value()


def apply_params(request: httpx2.Request, params: dict[str, SecretStr]) -> None:
    """Merge ``params`` into ``request``'s URL: its other parameters are kept, a
    parameter of the same name is replaced by the auth's value."""
    plain = {name: value.get_secret_value() for name, value in params.items()}
    request.url = request.url.copy_merge_params(plain)


class _FixedAuth(httpx2.Auth):
    """Sets the same secret values on every request with ``_apply``; no I/O."""

    _apply: Callable[[httpx2.Request, dict[str, SecretStr]], None]

    def __init__(self, values: dict[str, SecretStr]):
        self._values = dict(values)

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        type(self)._apply(request, self._values)
        yield request


class HeadersAuth(_FixedAuth):
    """Adds fixed headers to every request; no I/O, so it serves sync and async clients."""

    _apply = staticmethod(apply_headers)


class QueryParamsAuth(_FixedAuth):
    """Adds fixed query parameters to every request; no I/O (sync and async)."""

    _apply = staticmethod(apply_params)


class CustomAuth(httpx2.Auth):
    """Applies headers, query parameters and Basic credentials; no I/O (sync and async).

    ``settings`` is a :class:`plugwire.plugins.auth.custom.CustomSettings` (not
    imported here: that module imports this one when it builds an auth).
    """

    def __init__(self, settings: Any):
        self._headers = dict(settings.headers)
        self._params = dict(settings.params)
        self._basic: httpx2.BasicAuth | None = None
        if settings.uses_basic:
            password = settings.password.get_secret_value() if settings.password else ""
            self._basic = httpx2.BasicAuth(settings.username or "", password)

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        apply_headers(request, self._headers)
        if self._params:
            apply_params(request, self._params)
        if self._basic is not None:
            # BasicAuth's flow only sets a header before its single yield.
            next(self._basic.auth_flow(request))
        yield request
