"""Running a recipe's steps for one event: datapills filled in, each request sent
through its connection (retried as its action says), and the job recorded.

A job record keeps, per step, the input (the request actually sent, with the
connection's credentials masked) and the output (status, headers, body) or the
error. Every secret value of the recipe's actions and connections (those of the
steps that did not run included) is also scrubbed from the whole record, in case
an API echoed one back.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import httpx2

from plugwire.core.base.errors import PlugwireError
from plugwire.core.connections.model import Connection, Connections
from plugwire.core.http.client import client_for, public_client
from plugwire.core.http.exchange import RequestSpec, now_iso
from plugwire.core.http.netpolicy import NetworkPolicy
from plugwire.core.http.outcomes import redact
from plugwire.core.http.pages import fetch_pages_async
from plugwire.core.http.send import send_async
from plugwire.core.recipes.datapills import MissingValue, render
from plugwire.core.recipes.model import Recipe, Step, draft_refused
from plugwire.core.storage.home import Home
from plugwire.core.wizard.actions import Action, Actions

__all__ = ["ConfigCache", "Runner", "scrub"]


class ConfigCache:
    """Configuration records (actions, connections, recipes) read once and kept
    until the store file changes: reading and decrypting the store for every job
    would cost more than the request itself."""

    def __init__(self, home: Home):
        self._watch = home.store.watch()
        self._items: dict[tuple[str, str], Any] = {}

    def get(self, kind: str, name: str, load: Callable[[str], Any]) -> Any:
        """Return ``load(name)``, cached under ``(kind, name)`` while the store is unchanged."""
        if self._watch.changed():
            self._items = {}
        key = (kind, name)
        if key not in self._items:
            self._items[key] = load(name)
        return self._items[key]


def scrub(value: Any, secrets: list[str]) -> Any:
    """Return ``value`` (JSON-like data) with every secret string masked wherever it appears."""
    if not secrets:
        return value
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {k: scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, secrets) for v in value]
    return value


def _step_request(spec: RequestSpec, step: Step, context: dict[str, Any]) -> RequestSpec:
    """Return the request of ``step``: the action's ``spec``, with the step's values, pills filled in.

    Raises ``MissingValue`` naming the field a pill found no value for.
    """
    values: dict[str, Any] = {
        "url": step.url if step.url is not None else spec.url,
        "headers": {**spec.headers, **step.headers},
        "query": {**spec.query, **step.query},
        "body": step.body if "body" in step.model_fields_set else spec.body,
    }
    rendered = render(values, context)
    headers = {k: "" if v is None else str(v) if not isinstance(v, str) else v for k, v in rendered["headers"].items()}
    url = rendered["url"] if isinstance(rendered["url"], str) else str(rendered["url"])
    return spec.model_copy(update={"url": url, "headers": headers, "query": rendered["query"], "body": rendered["body"]})


def _paged_record(record: dict[str, Any], paged: Any) -> None:
    """Complete a paginated step's record: the first page stays whole in ``output``,
    which gains the gathered ``items`` and the ``pages`` count; ``pages`` summarises
    every page (URL, status, item count) and why paging stopped. A page that failed
    fails the step, naming the page: nothing gathered is reported as a success."""
    report = paged.report()
    if "output" in record:
        record["output"].update(items=paged.pager.items, pages=report["pages"])
    record["pages"] = {"count": report["pages"], "items": report["items"], "stopped": report["stopped"],
                       "summaries": report["summaries"]}
    if paged.ok:
        record["status"] = "succeeded"
    else:
        record["error"] = str(paged.error) if paged.error else paged.first.message


class Runner:
    """Runs recipes' steps; keeps one HTTP client per connection for the server's life."""

    def __init__(self, home: Home, *, policy: NetworkPolicy | None = None):
        self.home = home
        self.policy = policy or NetworkPolicy(enabled=False)
        self.connections = Connections(home)
        self.actions = Actions(home)
        self.cache = ConfigCache(home)
        self._clients: dict[tuple[str | None, str], httpx2.AsyncClient] = {}

    def _client(self, conn: Connection | None) -> httpx2.AsyncClient:
        key = (conn.name, conn.updated_at) if conn is not None else (None, "")
        client = self._clients.get(key)
        if client is None:
            if conn is not None:
                client = client_for(conn, self.connections, asynchronous=True, policy=self.policy)
            else:
                client = public_client(asynchronous=True, policy=self.policy)
            self._clients[key] = client
        return client

    async def aclose(self) -> None:
        """Close every HTTP client."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    def _load_action(self, name: str) -> tuple[Action, RequestSpec, Connection | None, list[str]]:
        """Return an action, its request part, its connection and the secrets to scrub (cached together)."""
        action = self.actions.get(name)
        conn = self.connections.get(action.connection) if action.connection else None
        secrets = action.secret_values() + (conn.secret_values() if conn is not None else [])
        return action, action.spec(), conn, secrets

    def _secrets_of(self, step: Step) -> list[str]:
        """Return the secrets of a step that did not run: an earlier step may have
        carried them (an event that holds one, an API that echoes it); [] when its
        action or connection is gone (its error is the failed step's, not this one's)."""
        try:
            return self.cache.get("step", step.action, self._load_action)[3]
        except PlugwireError:
            return []

    async def run_step(self, step: Step, context: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """Run one step; returns its record and the secret values to scrub from it.

        Never raises for what a user or an API can cause: a missing pill value, a
        refused destination, an error status or a network failure is the step's error.
        """
        started, t0 = now_iso(), time.perf_counter()
        record: dict[str, Any] = {"name": step.name, "action": step.action, "status": "failed", "started_at": started}
        secrets: list[str] = []
        spec = None
        try:
            action, base, conn, found = self.cache.get("step", step.action, self._load_action)
            secrets += found
            if not action.proven:  # made a draft (edited) after the recipe was saved: nothing is sent
                raise draft_refused(step.name, action)
            spec = _step_request(base, step, context)
            args = dict(connection=conn, connections=self.connections, response_format=action.response_format,
                        timeout=action.timeout, retry=action.retry, client=self._client(conn), secrets=found, pretty=False,
                        max_response_bytes=action.max_response_bytes)
            paged = await fetch_pages_async(spec, action.pagination, **args) if action.pagination else None
            exchange = paged.first if paged is not None else await send_async(spec, **args)
        except MissingValue as exc:
            record.update(error=str(exc), field=exc.field)
        except PlugwireError as exc:
            record["error"] = str(exc)
            if spec is not None:
                record["input"] = {"method": spec.method, "url": spec.url}
        else:
            # The sent request's fields are already JSON data (built from the rendered
            # values); a plain copy of them is the record, without a model_dump per step.
            record["input"] = dict(exchange.request.__dict__)
            record["attempts"] = exchange.attempts
            record["outcome"] = exchange.outcome
            if exchange.response is not None:
                r = exchange.response
                record["output"] = {
                    "status": r.status, "reason": r.reason, "headers": r.headers, "content_type": r.content_type,
                    "format": r.format, "body": r.body if r.format in ("json", "xml") else r.text, "size": r.size,
                    "elapsed_ms": r.elapsed_ms,
                }
            if paged is not None:
                _paged_record(record, paged)
            elif exchange.ok:
                record["status"] = "succeeded"
            else:
                record["error"] = exchange.message
        record["duration_ms"] = round((time.perf_counter() - t0) * 1000, 3)
        return record, secrets

    async def run(self, recipe: Recipe, event: dict[str, Any]) -> dict[str, Any]:
        """Run ``recipe``'s steps in order for ``event``; stops at the first failed step.

        Returns ``{"status", "error", "steps"}`` with every secret scrubbed.
        """
        context: dict[str, Any] = {"trigger": event, "steps": {}}
        steps: list[dict[str, Any]] = []
        secrets: list[str] = []
        error = None
        for step in recipe.steps:
            record, found = await self.run_step(step, context)
            secrets += found
            steps.append(record)
            if record["status"] != "succeeded":
                error = f"Step {step.name!r} failed: {record.get('error')}"
                break
            out = record.get("output") or {}
            context["steps"][step.name] = {
                "request": record.get("input"),
                "response": {"status": out.get("status"), "headers": out.get("headers", {}), "body": out.get("body")},
            }
            if "items" in out:
                context["steps"][step.name].update(items=out["items"], pages=out["pages"])
        for step in recipe.steps[len(steps):]:
            steps.append({"name": step.name, "action": step.action, "status": "skipped"})
            secrets += self._secrets_of(step)
        result = {"status": "failed" if error else "succeeded", "error": error, "steps": steps}
        return scrub(result, sorted(set(secrets)))
