"""``plugwire-poll``: one poll of every started recipe whose trigger polls, for cron
or for a data folder whose server does not run (``plugwire serve`` polls by itself).

It runs exactly what the server runs (:func:`plugwire.core.server.poller.poll_once`):
the same cursor, the same job-store dedupe, the same lock per recipe (a recipe the
server is polling right now is skipped) and the same network policy, on by default
as in ``plugwire serve``. The jobs it stores are pending: the server runs them::

    plugwire-poll --once             # from cron: the recipes that are due, once
    plugwire-poll                    # or keep polling at each recipe's interval
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone

from plugwire.core.errors import PlugwireError
from plugwire.core.home import Home
from plugwire.core.jobs import JobStore
from plugwire.core.netpolicy import NetworkPolicy
from plugwire.core.recipes import Recipes
from plugwire.core.server.poller import PollReport, poll_due_at, poll_once, poll_status

__all__ = ["main", "poll_due"]


def poll_due(home: Home, jobs: JobStore, *, policy: NetworkPolicy, force: bool = False) -> dict[str, PollReport | str]:
    """Poll every started recipe whose trigger polls and whose interval has passed
    since its last poll (every one of them with ``force``).

    Returns, per recipe polled, its :class:`PollReport`, or the message of an error
    that kept the poll from starting; one recipe's failure does not stop the others.
    """
    out: dict[str, PollReport | str] = {}
    now = datetime.now(timezone.utc)
    for recipe in Recipes(home).list():
        if recipe.status != "started":
            continue
        try:
            kind, config = recipe.trigger_type(), recipe.trigger_config()
            if not kind.polls:
                continue
            due = poll_due_at(poll_status(home, recipe.name), float(kind.poll_interval(config)), recipe.started_at)
            if force or due <= now:
                out[recipe.name] = poll_once(home, jobs, recipe, policy=policy)
        except PlugwireError as exc:  # the trigger's plugin is gone, or its config no longer validates
            out[recipe.name] = str(exc)
    return out


def _say(name: str, result: PollReport | str) -> bool:
    """Print one recipe's outcome; returns whether it failed."""
    if isinstance(result, str) or not result.ok:
        print(f"{name}: poll failed: {result if isinstance(result, str) else result.error}", file=sys.stderr, flush=True)
        return True
    if result.skipped:
        print(f"{name}: skipped, another poll of it is under way", flush=True)
    else:
        print(f"{name}: {len(result.created)} new item(s)", flush=True)
    return False


def main(argv: list[str] | None = None) -> int:
    """Run the polls; returns the exit code (0, or 1 when ``--once`` met a failed poll)."""
    parser = argparse.ArgumentParser(prog="plugwire-poll", description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", help="the data folder (default: PLUGWIRE_HOME or the per-user default)")
    parser.add_argument("--once", action="store_true", help="poll every polling recipe once, then exit")
    parser.add_argument("--tick", type=float, default=1.0, help="seconds between looks for due polls")
    parser.add_argument("--no-network-policy", action="store_true",
                        help="allow polls into loopback and private networks (local use only, as plugwire serve --no-network-policy)")
    args = parser.parse_args(argv)
    home = Home(args.home)
    jobs = JobStore(home.path)
    policy = NetworkPolicy(enabled=not args.no_network_policy)
    failed = False
    try:
        while True:
            for name, result in poll_due(home, jobs, policy=policy, force=args.once).items():
                failed = _say(name, result) or failed
            if args.once:
                return 1 if failed else 0
            time.sleep(args.tick)
    except KeyboardInterrupt:
        return 0
    finally:
        jobs.close()
