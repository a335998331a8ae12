"""What one running server holds: the data folder, the job store, the runner, the
worker, scheduler and poller, and a cache of the recipes by webhook token."""

from __future__ import annotations

import time
from typing import Any, Iterator

from pydantic import BaseModel

from plugwire.core.auth import PendingAuthorization
from plugwire.core.errors import NotFoundError
from plugwire.core.home import Home
from plugwire.core.jobs import JobStore
from plugwire.core.netpolicy import NetworkPolicy
from plugwire.core.recipes import Recipe, Recipes
from plugwire.core.runner import Runner
from plugwire.core.server.poller import Poller
from plugwire.core.server.worker import Scheduler, Worker
from plugwire.core.storage import StoreWatch
from plugwire.core.triggers import TriggerType

__all__ = ["ServerState"]


class ServerState:
    """Everything the routes and background tasks share."""

    def __init__(
        self,
        home: Home,
        *,
        policy: NetworkPolicy | None = None,
        api_token: str | None = None,
        synchronous: str = "FULL",
        workers: int = 16,
        public_url: str | None = None,
    ):
        self.home = home
        self.policy = policy if policy is not None else NetworkPolicy(enabled=True)
        self.api_token = api_token
        self.public_url = public_url
        self.jobs = JobStore(home.path, synchronous=synchronous)
        self.recipes = Recipes(home)
        self.runner = Runner(home, policy=self.policy)
        self.worker = Worker(self, concurrency=workers)
        self.scheduler = Scheduler(self)
        self.poller = Poller(self)
        self.pending_auth: dict[str, tuple[str, PendingAuthorization, float]] = {}
        self._watch = StoreWatch(home.store.path)
        self._by_name: dict[str, tuple[Recipe, BaseModel | None, TriggerType | None]] = {}
        self._by_token: dict[str, str] = {}

    # -- recipes, cached while the store file is unchanged -------------------------------
    # A change made elsewhere (the CLI) is seen within the watch's quarter second;
    # changes made through this server call invalidate() and are seen at once.
    def invalidate(self) -> None:
        """Forget the cached recipes (after a change made through this server)."""
        self._watch.forget()

    def _refresh(self) -> None:
        if not self._watch.changed():
            return
        try:
            self._load_recipes()
        except BaseException:
            self._watch.forget()  # read again at the next lookup
            raise

    def _load_recipes(self) -> None:
        by_name: dict[str, tuple[Recipe, BaseModel | None, TriggerType | None]] = {}
        for recipe in self.recipes.list():
            try:
                kind, config = recipe.trigger_type(), recipe.trigger_config()
            except Exception:  # its trigger plugin is gone: it cannot take events
                kind = config = None
            by_name[recipe.name] = (recipe, config, kind)
        self._by_name = by_name
        self._by_token = {r.token: name for name, (r, _, _) in by_name.items()}

    def by_token(self, token: str) -> tuple[Recipe, BaseModel | None, TriggerType | None] | None:
        """Return the recipe whose webhook token is ``token`` with its trigger config
        and type (None when the trigger's plugin is gone), or None."""
        self._refresh()
        name = self._by_token.get(token)
        return self._by_name.get(name) if name else None

    def recipe(self, name: str) -> Recipe:
        """Return the recipe ``name``; raises ``NotFoundError`` (a job of a removed recipe)."""
        self._refresh()
        found = self._by_name.get(name)
        if found is None:
            raise NotFoundError(f"The recipe {name!r} no longer exists.", field="recipe", fix="recreate it, or ignore this job")
        return found[0]

    def started_recipes(self) -> Iterator[tuple[Recipe, BaseModel]]:
        """Yield the started recipes with their trigger configs."""
        self._refresh()
        for recipe, config, _ in self._by_name.values():
            if recipe.status == "started" and config is not None:
                yield recipe, config

    # -- OAuth2 authorizations started through this server --------------------------------
    def remember_authorization(self, connection: str, pending: PendingAuthorization) -> None:
        """Keep ``pending`` (for ten minutes) until its callback arrives."""
        now = time.monotonic()
        self.pending_auth = {k: v for k, v in self.pending_auth.items() if v[2] > now}
        self.pending_auth[pending.state] = (connection, pending, now + 600)

    def take_authorization(self, state: str) -> tuple[str, PendingAuthorization] | None:
        """Return and forget the pending authorization with ``state``, or None."""
        found = self.pending_auth.pop(state, None)
        if found is None or found[2] < time.monotonic():
            return None
        return found[0], found[1]

    def describe(self) -> dict[str, Any]:
        return {"network_policy": self.policy.enabled, "jobs": self.jobs.counts()}
