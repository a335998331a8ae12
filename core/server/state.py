"""What one running server shares between its routes and background tasks: the data
folder, the job store, the runner, the network policy and a cache of the recipes by
webhook token."""

from __future__ import annotations

import time
from typing import Any, Iterator

from pydantic import BaseModel, SecretStr

from plugwire.core.base.errors import NotFoundError
from plugwire.core.base.jsontext import dumps_json, loads_json
from plugwire.core.base.secrets import seal, unseal
from plugwire.core.http.netpolicy import NetworkPolicy
from plugwire.core.plugincore.auth import PendingAuthorization
from plugwire.core.plugincore.triggers import TriggerType
from plugwire.core.recipes.model import Recipe, Recipes
from plugwire.core.recipes.runner import Runner
from plugwire.core.server.intake import IntakeLimits
from plugwire.core.storage.home import Home
from plugwire.core.storage.jobs import JobStore

__all__ = ["PENDING_AUTH", "SharedState"]

PENDING_AUTH = "oauth_pending"  # the store's table of authorizations waiting for their callback


class SharedState:
    """What the routes and the background tasks share: the data folder, the job store,
    the runner, the network policy, the webhook body limits (``intake``), the recipes
    (cached) and pending authorizations.
    The background tasks themselves are added by
    :class:`plugwire.core.server.runtime.ServerState`."""

    def __init__(
        self,
        home: Home,
        *,
        policy: NetworkPolicy | None = None,
        api_token: str | None = None,
        synchronous: str = "FULL",
        public_url: str | None = None,
        max_body_bytes: int | None = None,
        body_timeout: float | None = None,
    ):
        self.home = home
        # Read (and checked) before anything is opened: a bad setting stops the start.
        self.intake = IntakeLimits.from_settings(max_body_bytes, body_timeout)
        self.policy = policy if policy is not None else NetworkPolicy(enabled=True)
        self.api_token = api_token
        self.public_url = public_url
        self.jobs: JobStore = home.jobs(synchronous=synchronous)
        self.recipes = Recipes(home)
        self.runner = Runner(home, policy=self.policy)
        self._watch = home.store.watch()
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

    # -- OAuth2 authorizations started through a server ---------------------------------
    # Kept in the store (the secret state sealed), not in this process: with several
    # servers behind a load balancer, the callback may reach another one.
    def remember_authorization(self, connection: str, pending: PendingAuthorization) -> None:
        """Keep ``pending`` (for ten minutes) until its callback arrives, at any server."""
        now = time.time()
        record = {"connection": connection, "url": pending.url, "redirect_uri": pending.redirect_uri,
                  "secret_state": seal(SecretStr(dumps_json(pending.secret_state)), self.home.cipher),
                  "expires_at": now + 600}
        with self.home.store.transaction() as tx:
            for state, old in tx.all(PENDING_AUTH).items():
                if old.get("expires_at", 0) < now:
                    tx.delete(PENDING_AUTH, state)
            tx.put(PENDING_AUTH, pending.state, record)

    def take_authorization(self, state: str) -> tuple[str, PendingAuthorization] | None:
        """Return and forget the pending authorization with ``state`` (once, whichever
        server asks first), or None when there is none or it expired."""
        if not state:
            return None
        with self.home.store.transaction() as tx:
            found = tx.get(PENDING_AUTH, state)
            if found is not None:
                tx.delete(PENDING_AUTH, state)
        if found is None or found["expires_at"] < time.time():
            return None
        secret_state = loads_json(unseal(found["secret_state"], self.home.cipher))
        return found["connection"], PendingAuthorization(url=found["url"], state=state,
                                                         redirect_uri=found["redirect_uri"], secret_state=secret_state)

    def describe(self) -> dict[str, Any]:
        return {"network_policy": self.policy.enabled, "jobs": self.jobs.counts()}
