"""plugwire trigger type ``polling``: new items of a paginated list API, each once,
with the cursor kept in the plugwire store across restarts. ``plugwire serve`` runs
the polls; ``plugwire recipes poll --once`` runs them once, from cron."""

from __future__ import annotations

from plugwire import hookimpl
from plugwire_polling_trigger.poller import Poller, PollError, PollResult
from plugwire_polling_trigger.trigger import PollingConfig, PollingTrigger

__all__ = ["PollError", "PollResult", "Poller", "PollingConfig", "PollingTrigger"]

#: The plugwire plugin API this plugin is written for.
PLUGWIRE_PLUGIN_API = 1


@hookimpl
def register_triggers(register):
    register(PollingTrigger())
