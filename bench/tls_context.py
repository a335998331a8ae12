"""How long building a connection's client costs, with and without the shared TLS
context: prints figures, asserts nothing.

    python bench/tls_context.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import trustme

from plugwire.core.connections import tls
from plugwire.core.connections.model import Connections
from plugwire.core.http import client as http
from plugwire.core.storage.home import Home


def _ms(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1000


def main(n: int = 30) -> None:
    folder = Path(tempfile.mkdtemp(prefix="plugwire-bench-"))
    ca = trustme.CA()
    leaf = ca.issue_cert("client@bench.test")
    connections = Connections(Home(folder / "home"))
    conn = connections.create({
        "name": "bench", "auth_type": "none",
        "client_certificate": {
            "certificate": leaf.cert_chain_pems[0].bytes().decode(),
            "private_key": leaf.private_key_pem.bytes().decode(),
            "ca_bundle": ca.cert_pem.bytes().decode(),
        },
    })
    print(f"build a TLS context (system CAs + CA bundle + client cert): {_ms(lambda: tls._build_tls_context(conn), n):7.2f} ms")
    tls.tls_context(conn)
    print(f"tls_context, shared (same settings):                       {_ms(lambda: tls.tls_context(conn), n):7.2f} ms")

    def client() -> None:
        with http.client_for(conn, connections):
            pass

    print(f"client_for with the shared context:                        {_ms(client, n):7.2f} ms")


if __name__ == "__main__":
    main()
