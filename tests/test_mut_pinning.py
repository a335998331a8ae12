"""Survivors of the mutation run over core/http/pinning.py (issue 17, bench/README.md).

- The pinned transports are built with ``trust_env=False``: the environment's
  ``SSL_CERT_FILE`` never decides which certificates a policed request trusts (as
  for every other client plugwire builds). ``trust_env=True`` in either transport
  passed every test.
- When httpcore2's connection pool no longer has the attribute the pinned backend
  is put into, ``pinned_transport`` refuses to build a transport (fail closed)
  instead of setting an attribute nobody reads, which would connect to whatever a
  second lookup answers. Removing that ``raise`` passed every test.
"""

from __future__ import annotations

import asyncio
import ssl

import httpx2
import pytest
import trustme
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from plugwire.core.http.client import public_client
from plugwire.core.http.netpolicy import NetworkPolicy
from plugwire.core.http.pinning import pinned_transport

NAME = "api.pinned.test"


@pytest.fixture
def tls_server(live_server, tmp_path):
    """An HTTPS server on 127.0.0.1 whose certificate (for ``NAME``) comes from a CA
    of the test's own, written to ``server.ca_file``."""
    authority = trustme.CA()
    leaf = authority.issue_cert(NAME)
    cert, key, ca_file = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    authority.cert_pem.write_to_path(str(ca_file))
    server = live_server(Starlette(routes=[Route("/hello", lambda request: JSONResponse({"ok": True}))]),
                         ssl_options={"ssl_certfile": str(cert), "ssl_keyfile": str(key)})
    server.ca_file = ca_file
    return server


def _policy() -> NetworkPolicy:
    # The name stands for a public host answering 127.0.0.1, which is allowed here.
    return NetworkPolicy(allow=["127.0.0.1/32"], resolver=lambda host: ["127.0.0.1"] if host == NAME else [])


async def _get_async(url: str, policy: NetworkPolicy) -> httpx2.Response:
    async with public_client(asynchronous=True, policy=policy) as client:
        return await client.get(url)


def _get_sync(url: str, policy: NetworkPolicy) -> httpx2.Response:
    with public_client(policy=policy) as client:
        return client.get(url)


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_ssl_cert_file_in_the_environment_does_not_make_a_policed_request_trust_its_ca(
        tls_server, monkeypatch, asynchronous):
    url = f"https://{NAME}:{tls_server.port}/hello"
    policy = _policy()
    # The same server is reachable through the pinned transport when the caller trusts its CA.
    trusted = ssl.create_default_context(cafile=str(tls_server.ca_file))
    with httpx2.Client(transport=pinned_transport(policy, "t", asynchronous=False, verify=trusted)) as client:
        assert client.get(url).json() == {"ok": True}
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_server.ca_file))
    with pytest.raises(httpx2.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        if asynchronous:
            asyncio.run(_get_async(url, policy))
        else:
            _get_sync(url, policy)


def test_a_connection_pool_without_the_pinned_backends_attribute_is_refused(monkeypatch):
    """A release of httpcore2 that renamed ``_network_backend`` must stop policed
    requests, not let them connect unpinned."""

    class RenamedPool(httpx2.HTTPTransport):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            del self._pool._network_backend

    monkeypatch.setattr(httpx2, "HTTPTransport", RenamedPool)
    with pytest.raises(RuntimeError, match="cannot pin addresses"):
        pinned_transport(_policy(), "t", asynchronous=False)
