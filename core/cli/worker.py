"""``plugwire worker``: a Celery worker that runs the jobs the servers publish
(``PLUGWIRE_BROKER_URL``), against the shared database (``PLUGWIRE_DATABASE_URL``).
A thin wrapper over Celery's own worker: prefork processes, ``--concurrency`` of them."""

from __future__ import annotations

import typer

from plugwire.core.cli.common import err_console, home

__all__ = ["attach", "worker"]


def worker(
    concurrency: int = typer.Option(2, "--concurrency", "-c", min=1, max=256, help="Worker processes (one per core is a good start)."),
    no_network_policy: bool = typer.Option(
        False, "--no-network-policy", help="Allow requests to loopback and private networks (local use only)."
    ),
    loglevel: str = typer.Option("warning", "--loglevel", help="Celery's log level: debug, info, warning, error."),
) -> None:
    """Run jobs published by `plugwire serve` (needs PLUGWIRE_BROKER_URL and PLUGWIRE_DATABASE_URL)."""
    from plugwire.core.server.broker import BROKER_URL_ENV, WorkerRuntime, broker_url, celery_app, queue_name

    h = home()
    url = broker_url(database_url=h.database_url)
    if url is None:
        from plugwire.core.base.errors import UserInputError

        raise UserInputError(
            f"{BROKER_URL_ENV} is not set: there is no broker to take jobs from.",
            field=BROKER_URL_ENV,
            fix="set PLUGWIRE_BROKER_URL=redis://... (and PLUGWIRE_DATABASE_URL) for the servers and the workers",
        )
    h.store.get("recipes", "")  # the database answers (and its schema is current) before Celery starts
    WorkerRuntime.network_policy = not no_network_policy
    app = celery_app(url)
    queue = queue_name()
    err_console.print(
        f"plugwire worker: {concurrency} process(es) taking jobs from queue {queue!r}; network policy "
        f"{'OFF' if no_network_policy else 'on'}"
    )
    app.worker_main([
        "worker", f"--concurrency={concurrency}", "--pool=prefork", f"--queues={queue}", f"--loglevel={loglevel}",
        "--without-gossip", "--without-mingle", "--hostname", f"plugwire-{queue}@%h",
    ])


def attach(app: typer.Typer) -> None:
    """Add ``worker`` to the ``plugwire`` command."""
    app.command("worker")(worker)
