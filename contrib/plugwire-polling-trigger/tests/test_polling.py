"""The polling trigger against a local paginated API: new items once each, oldest
first, none missed and none repeated across restarts and crashes, whether
``plugwire serve`` polls (a real server process, restarted and killed with -9 in the
middle of a poll) or ``plugwire recipes poll --once`` does; loopback refused by the server's
network policy unless the connection is private-network or the policy is off."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from plugwire import UserInputError, testing
from plugwire.testing import CURSOR_TABLE, Home, JobStore, Recipes, StorePollContext, poll_status
from plugwire_polling_trigger import Poller, PollError, PollingConfig

BIN = Path(sys.executable).parent


def config(items_api, **kw) -> PollingConfig:
    return PollingConfig(url=items_api.url, items_path="data", next_path="next_page", **kw)


class Context(StorePollContext):
    """plugwire's own poll context on the test's data folder, with a plain client."""

    def __init__(self, home_path, key="orders", crash_after: int | None = None):
        self.store_jobs = JobStore(home_path)
        super().__init__(Home(home_path), self.store_jobs, key, make_client=lambda: httpx2.Client(timeout=10))
        self.crash_after = crash_after

    def emit(self, event, event_id):
        if self.crash_after is not None and len(self.created) == self.crash_after:
            raise KeyboardInterrupt("the process dies here")
        return super().emit(event, event_id)


def poll(home_path, cfg, key="orders", **kw):
    # A new context each time: what a restarted process would have.
    context = Context(home_path, key, **kw)
    try:
        return Poller(cfg, context).poll()
    finally:
        context.close()
        context.store_jobs.close()


def stored(home_path, recipe="orders") -> list[dict]:
    """Return the events of the recipe's jobs, oldest first."""
    jobs = JobStore(home_path)
    try:
        return [jobs.get(j["id"])["event"] for j in reversed(jobs.list(recipe=recipe, limit=1000))]
    finally:
        jobs.close()


def test_new_items_are_emitted_once_oldest_first_across_pages(items_api, plugwire_home):
    items_api.add(4)
    first = poll(plugwire_home, config(items_api))
    assert first.first_poll and first.emitted == [] and stored(plugwire_home) == []  # what was there is not "new"
    new = items_api.add(7)
    result = poll(plugwire_home, config(items_api))
    assert result.emitted == new and [e["item_id"] for e in stored(plugwire_home)] == new
    assert result.pages == 3  # 7 new on pages 1-3; page 3 holds a known item: stop
    event = stored(plugwire_home)[0]
    assert event["item"]["title"] == "Item 4" and event["source"] == items_api.url
    assert poll(plugwire_home, config(items_api)).emitted == []


def test_the_cursor_survives_a_restart_in_the_plugwire_store(items_api, plugwire_home):
    items_api.add(5)
    assert len(poll(plugwire_home, config(items_api, emit_existing=True)).emitted) == 5
    saved = Home(plugwire_home).store.get(CURSOR_TABLE, "orders")["cursor"]
    assert saved["seen"] == [f"it-{n:04d}" for n in range(5)] and saved["polls"] == 1
    assert "it-0004" in (Path(plugwire_home) / "plugwire.json").read_text()
    new = items_api.add(2)
    assert poll(plugwire_home, config(items_api, emit_existing=True)).emitted == new
    assert [e["item_id"] for e in stored(plugwire_home)] == [f"it-{n:04d}" for n in range(7)]


def test_a_crash_between_emitting_and_saving_neither_loses_nor_repeats(items_api, plugwire_home):
    poll(plugwire_home, config(items_api))
    new = items_api.add(6)
    with pytest.raises(KeyboardInterrupt):
        poll(plugwire_home, config(items_api), crash_after=3)
    assert len(stored(plugwire_home)) == 3
    restarted = poll(plugwire_home, config(items_api))
    assert restarted.emitted == new  # offered again: the cursor was not saved ...
    assert sorted(e["item_id"] for e in stored(plugwire_home)) == new  # ... and the job store kept one job per item


def test_a_failing_page_changes_nothing(items_api, plugwire_home, plugwire_api):
    poll(plugwire_home, config(items_api))
    items_api.add(2)
    plugwire_api.route("GET", "/v1/items", status=503, body="maintenance")
    with pytest.raises(PollError, match="answered 503: maintenance"):
        poll(plugwire_home, config(items_api))
    plugwire_api.route("GET", "/v1/items", handler=items_api.page)
    assert len(poll(plugwire_home, config(items_api)).emitted) == 2
    with pytest.raises(PollError) as wrong:
        poll(plugwire_home, PollingConfig(url=items_api.url, items_path="results"))
    assert wrong.value.field == "trigger.config.items_path"


def test_link_headers_tokens_and_a_since_cursor(plugwire_api, plugwire_home):
    events = [{"uid": n, "ts": f"2024-05-01T10:00:{n:02d}Z"} for n in range(5)]

    def page(req):  # oldest first, filtered by ?since=, paged by ?cursor= tokens
        since = req.query.get("since", "")
        rows = [e for e in events if e["ts"] > since]
        start = int(req.query.get("cursor", "0"))
        chunk = rows[start : start + 2]
        headers = {"Link": f'<{plugwire_api.url}/events?cursor={start + 2}&since={since}>; rel="next"'} if start + 2 < len(rows) else {}
        from plugwire.testing import Reply

        return Reply(json={"events": chunk}, headers=headers)

    plugwire_api.route("GET", "/events", handler=page)
    cfg = PollingConfig(url=f"{plugwire_api.url}/events", items_path="events", id_field="uid", order="oldest_first",
                        since_param="since", since_field="ts", emit_existing=True)
    assert poll(plugwire_home, cfg).emitted == ["0", "1", "2", "3", "4"]
    events.append({"uid": 5, "ts": "2024-05-01T10:00:05Z"})
    assert poll(plugwire_home, cfg).emitted == ["5"]
    assert plugwire_api.requests[-1].query["since"] == "2024-05-01T10:00:04Z"


def test_the_trigger_type_and_its_recipe(polling, plugwire_connections, items_api):
    trigger = testing.triggers.get("polling")
    cfg = trigger.Config(url=items_api.url, sample_item={"id": "o-1", "total": 12.5})
    assert trigger.sample_event(cfg)["item"]["total"] == 12.5 and trigger.sample_event(cfg)["item_id"] == "o-1"
    assert trigger.polls and trigger.poll_interval(cfg) == 300 and trigger.poll_connection(cfg) is None
    recipes = Recipes(plugwire_connections.home)
    with pytest.raises(UserInputError, match="trigger.config.url"):
        recipes.create({"name": "bad", "trigger": {"type": "polling", "config": {"url": "not a url"}}})
    recipe = recipes.create({"name": "orders", "trigger": {"type": "polling", "config": {"url": items_api.url, "connection": "crm"}}})
    assert trigger.poll_connection(recipe.trigger_config()) == "crm"


# -- real processes ------------------------------------------------------------------------
def _env(home: Path) -> dict[str, str]:
    # Not PLUGWIRE_TESTING: the process must load this package's entry point like any install.
    env = {k: v for k, v in os.environ.items() if k not in ("PLUGWIRE_TESTING", "PLUGWIRE_LOAD_PLUGINS")}
    env["PLUGWIRE_HOME"] = str(home)
    return env


class Serve:
    """``plugwire serve`` on the test's data folder, in a process of its own."""

    def __init__(self, home: Path, log: Path, *args: str):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.log = log
        with open(log, "a") as err:
            self.proc = subprocess.Popen([str(BIN / "plugwire"), "serve", "--port", str(self.port), *args],
                                         env=_env(home), stdout=subprocess.DEVNULL, stderr=err)
        wait_for(self._up, "plugwire serve to start")

    def _up(self) -> bool:
        assert self.proc.poll() is None, self.log.read_text()
        try:
            return httpx2.get(f"http://127.0.0.1:{self.port}/health", timeout=1).status_code == 200
        except httpx2.HTTPError:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        self.proc.send_signal(sig)
        self.proc.wait(30)


def wait_for(check, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


def _recipe(home: Path, name: str, url: str, **config) -> None:
    recipes = Recipes(Home(home))
    recipes.create({"name": name, "trigger": {"type": "polling", "config": {
        "url": url, "items_path": "data", "next_path": "next_page", "emit_existing": True, "interval_seconds": 1, **config}}})
    recipes.start(name)


def _ids(home: Path, recipe: str = "orders") -> list[str]:
    return [e["item_id"] for e in stored(home, recipe)]


def _counts(home: Path) -> dict[str, int]:
    jobs = JobStore(home)
    try:
        return jobs.counts("orders")
    finally:
        jobs.close()


def test_plugwire_serve_polls_across_a_restart_and_a_kill_9_mid_poll(polling, plugwire_home, items_api, tmp_path):
    _recipe(plugwire_home, "orders", items_api.url)
    items_api.add(4)
    log = tmp_path / "serve.log"
    server = Serve(plugwire_home, log, "--no-network-policy")
    wait_for(lambda: len(_ids(plugwire_home)) == 4, "the first four items")
    server.stop()  # a clean restart
    items_api.add(2)
    server = Serve(plugwire_home, log, "--no-network-policy")
    wait_for(lambda: len(_ids(plugwire_home)) == 6, "the items added while the server was down")
    items_api.hold_page = 2  # 5 new items span pages 1 and 2: the poll waits on page 2
    items_api.add(5)
    wait_for(lambda: any(r.query.get("page") == "2" for r in items_api.api.requests[-3:]), "the poll to reach page 2")
    server.stop(signal.SIGKILL)  # in the middle of a poll
    items_api.hold_page = None
    items_api.release.set()
    items_api.add(1)
    server = Serve(plugwire_home, log, "--no-network-policy")
    wait_for(lambda: len(_ids(plugwire_home)) == 12, "every item")
    wait_for(lambda: "pending" not in _counts(plugwire_home), "the jobs to run")
    server.stop()
    assert sorted(_ids(plugwire_home)) == [f"it-{n:04d}" for n in range(12)]  # each item once, none missed
    assert poll_status(Home(plugwire_home), "orders")["ok"]


def test_the_servers_network_policy_refuses_loopback_unless_private_network_or_off(
        polling, plugwire_home, plugwire_connections, items_api, agent, tmp_path):
    items_api.add(2)
    _recipe(plugwire_home, "orders", items_api.url)
    log = tmp_path / "serve.log"
    server = Serve(plugwire_home, log)  # the policy is on by default
    status = wait_for(lambda: poll_status(Home(plugwire_home), "orders"), "the first poll")
    assert not status["ok"] and "Refused by the network policy: 127.0.0.1 is a loopback address" in status["error"]
    assert "poll of recipe 'orders' failed: Refused by the network policy" in log.read_text()
    assert items_api.api.requests == [] and _ids(plugwire_home) == []
    # A private-network connection goes through its agent, which the policy exempts.
    plugwire_connections.create("none", name="onprem", private_network=True, agent_url=agent.url)
    _recipe(plugwire_home, "onprem-orders", items_api.url, connection="onprem")
    wait_for(lambda: len(_ids(plugwire_home, "onprem-orders")) == 2, "the items through the agent")
    assert agent.seen and all(url.startswith(items_api.url) for url in agent.seen)
    assert _ids(plugwire_home) == [] and poll_status(Home(plugwire_home), "orders")["failures"] >= 1
    server.stop()
    server = Serve(plugwire_home, log, "--no-network-policy")  # local use: the policy is off
    wait_for(lambda: len(_ids(plugwire_home)) == 2, "the items once the policy is off")
    server.stop()


def test_plugwire_recipes_poll_once_from_cron(polling, plugwire_home, items_api):
    _recipe(plugwire_home, "orders", items_api.url)
    items_api.add(4)
    refused = subprocess.run([str(BIN / "plugwire"), "recipes", "poll", "--once"], env=_env(plugwire_home), capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "orders: poll failed: Refused by the network policy" in refused.stderr
    done = subprocess.run([str(BIN / "plugwire"), "recipes", "poll", "--once", "--no-network-policy"], env=_env(plugwire_home),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "orders: 4 new item(s)" in done.stdout and len(_ids(plugwire_home)) == 4
