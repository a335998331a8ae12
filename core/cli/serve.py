"""``plugwire serve``: the server, announced once it listens."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from plugwire.core.cli.common import err_console, home

__all__ = ["serve"]

ALLOW_HELP = (
    "Let the network policy reach this private host, host:port, IP address or network (CIDR), "
    "e.g. an internal API; repeatable (also $PLUGWIRE_ALLOW_HOSTS, comma-separated)."
)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    no_network_policy: bool = typer.Option(
        False, "--no-network-policy", help="Allow requests to loopback and private networks (local use only)."
    ),
    allow_hosts: list[str] = typer.Option([], "--allow-host", help=ALLOW_HELP),
    workers: int = typer.Option(16, "--workers", min=0, max=256, help="Jobs run at the same time; 0 only accepts events (jobs wait for a server that runs them)."),
    public_url: Optional[str] = typer.Option(None, "--public-url", help="URL the server is reached at (webhook and OAuth2 callback URLs; default: $PLUGWIRE_BASE_URL, else where it listens)."),
    synchronous: str = typer.Option("FULL", "--synchronous", help="Job store durability: FULL (power-cut safe) or NORMAL (crash safe)."),
    max_body_bytes: Optional[int] = typer.Option(
        None, "--max-body-bytes", help="Largest webhook body in bytes for a recipe that sets no limit of its own, up to 52428800 (default: $PLUGWIRE_MAX_BODY_BYTES, else 1048576)."),
    body_timeout: Optional[float] = typer.Option(
        None, "--body-timeout", help="Seconds a sender has to deliver a webhook's whole body (default: $PLUGWIRE_BODY_TIMEOUT, else 30)."),
) -> None:
    """Run the server: webhooks, schedules, jobs, the OAuth2 callback, the JSON API and the web console."""
    from plugwire.core.server import API_TOKEN_ENV, api_token
    from plugwire.core.server import serve as run
    from plugwire.core.server.intake import IntakeLimits
    from plugwire.core.server.listen import allowed_hosts, listen_url

    IntakeLimits.from_settings(max_body_bytes, body_timeout)  # a bad limit stops here, before anything is bound
    allow = allowed_hosts(allow_hosts)
    h = home()
    api_token(h)

    def ready(base_url: str) -> None:
        # Said only once the port is bound and the server accepts connections.
        policy = "OFF" if no_network_policy else "on" + (f", allowing {', '.join(allow)}" if allow else "")
        listening = listen_url(host, port)
        public = f" (reached at {base_url})" if base_url != listening else ""
        err_console.print(
            f"plugwire serving on {listening}{public}, web console at {base_url}/console/ (data folder {h.path}); "
            f"network policy {policy}; API token in ${API_TOKEN_ENV} or {Path(h.path) / 'api-token'}",
            markup=False, highlight=False,
        )

    run(h, host=host, port=port, network_policy=not no_network_policy, synchronous=synchronous, workers=workers,
        public_url=public_url, max_body_bytes=max_body_bytes, body_timeout=body_timeout, allow=allow, on_ready=ready)
