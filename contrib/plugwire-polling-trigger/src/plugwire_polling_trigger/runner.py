"""``plugwire-poll``: runs the polls of every started recipe whose trigger is
``polling`` and stores one pending job per new item in the data folder's job store.

``plugwire serve`` runs those jobs: its worker picks up pending jobs stored by
another process. Run both side by side on the same ``PLUGWIRE_HOME``::

    plugwire serve &
    plugwire-poll            # or: plugwire-poll --once, from cron
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx2

from plugwire.core.errors import PlugwireError
from plugwire.core.home import Home
from plugwire.core.jobs import JobStore
from plugwire.core.recipes import Recipes
from plugwire_polling_trigger.poller import Poller, PollResult
from plugwire_polling_trigger.trigger import PollingConfig

__all__ = ["dedupe_key", "main", "poll_due"]


def dedupe_key(recipe: str, item_id: str) -> str:
    """Return the job store's dedupe key of one item of one recipe."""
    return f"polling:{recipe}:{item_id}"


def _client(home: Home, config: PollingConfig) -> httpx2.Client:
    if config.connection is None:
        return httpx2.Client(timeout=30, follow_redirects=True, trust_env=False)
    from plugwire.core.connections import Connections
    from plugwire.core.http import client_for

    connections = Connections(home)
    return client_for(connections.get(config.connection), connections)


def _due(poller: Poller, config: PollingConfig, now: datetime) -> bool:
    last = poller.state().get("last_poll")
    return last is None or datetime.fromisoformat(last) + timedelta(seconds=config.interval_seconds) <= now


def poll_due(home: Home, jobs: JobStore, *, force: bool = False) -> dict[str, PollResult | str]:
    """Poll every started polling recipe that is due (all of them with ``force``).

    Returns, per recipe polled, its :class:`PollResult` or the error's message; one
    recipe's failure does not stop the others.
    """
    out: dict[str, Any] = {}
    now = datetime.now(timezone.utc)
    for recipe in Recipes(home).list():
        if recipe.status != "started" or recipe.trigger.type != "polling":
            continue
        try:
            config = PollingConfig.model_validate(recipe.trigger.config)
            with _client(home, config) as client:
                poller = Poller(home, recipe.name, config, client)
                if not force and not _due(poller, config, now):
                    continue
                out[recipe.name] = poller.poll(
                    lambda event, item_id, name=recipe.name: jobs.add(name, event, dedupe=dedupe_key(name, item_id))
                )
        except (PlugwireError, httpx2.HTTPError, ValueError) as exc:
            out[recipe.name] = f"{type(exc).__name__}: {exc}"
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the poller; returns the exit code (0, or 1 when ``--once`` met an error)."""
    parser = argparse.ArgumentParser(prog="plugwire-poll", description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", help="the data folder (default: PLUGWIRE_HOME or the per-user default)")
    parser.add_argument("--once", action="store_true", help="poll every polling recipe once, then exit")
    parser.add_argument("--tick", type=float, default=1.0, help="seconds between looks for due polls")
    args = parser.parse_args(argv)
    home = Home(args.home)
    jobs = JobStore(home.path)
    failed = False
    try:
        while True:
            for name, result in poll_due(home, jobs, force=args.once).items():
                if isinstance(result, str):
                    failed = True
                    print(f"{name}: poll failed: {result}", file=sys.stderr, flush=True)
                else:
                    print(f"{name}: {len(result.emitted)} new item(s), {result.pages} page(s)", flush=True)
            if args.once:
                return 1 if failed else 0
            time.sleep(args.tick)
    except KeyboardInterrupt:
        return 0
    finally:
        jobs.close()
