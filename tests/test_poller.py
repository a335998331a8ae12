"""Polling triggers driven by the server: an in-test trigger plugin that polls a real
feed on 127.0.0.1 through the PollContext (cursor in the store, emit into the job
store, the connection's client under the network policy), run by ``plugwire serve``'s
poller at its interval, one poll of a recipe at a time, stopped with the recipe."""

from __future__ import annotations

import json
import threading
from typing import Callable

import pytest
from pydantic import BaseModel

from plugwire import hookimpl
from plugwire.core.base.errors import PluginError, PlugwireError
from plugwire.core.http.netpolicy import NetworkPolicy
from plugwire.core.plugincore.triggers import PollCancelled, TriggerType
from plugwire.core.recipes.model import Recipes
from plugwire.core.recipes.polling import CURSOR_TABLE, StorePollContext, poll_once, poll_status
from plugwire.core.storage.jobs import JobStore
from plugwire.core.testing import ProgrammableAPI
from proxy_server import ForwardProxy
from recipes_support import plugwire_server, wait_for


class FeedConfig(BaseModel):
    url: str
    connection: str | None = None
    interval_seconds: float = 0.2


class FeedTrigger(TriggerType):
    """New items of a feed that answers ``?after=ID`` with the items after ID, oldest first."""

    name = "test_feed"
    title = "New feed items"
    Config = FeedConfig
    polls = True

    def __init__(self) -> None:
        self.calls = 0
        self.active = 0
        self.most_at_once = 0
        self.gate: threading.Event | None = None
        self.entered = threading.Event()
        self._lock = threading.Lock()

    def sample_event(self, config: FeedConfig) -> dict:
        return {"item": {"id": 1, "title": "First"}}

    def poll_interval(self, config: FeedConfig) -> float:
        return config.interval_seconds

    def poll(self, config: FeedConfig, context) -> None:
        with self._lock:
            self.calls += 1
            self.active += 1
            self.most_at_once = max(self.most_at_once, self.active)
        self.entered.set()
        try:
            if self.gate is not None:
                self.gate.wait(30)
            after = context.load_cursor() or 0
            response = context.client.get(config.url, params={"after": after})
            if response.status_code >= 400:
                raise PlugwireError(f"GET {config.url} answered {response.status_code}.", field="trigger.config.url")
            items = response.json()["items"]
            for item in items:
                context.emit({"item": item}, str(item["id"]))
            if items:
                context.save_cursor(items[-1]["id"])
        finally:
            with self._lock:
                self.active -= 1


class FeedPlugin:
    def __init__(self) -> None:
        self.trigger = FeedTrigger()

    @hookimpl
    def register_triggers(self, register):
        register(self.trigger)


class Feed:
    """The feed's items on a programmable API on 127.0.0.1."""

    def __init__(self, api) -> None:
        self.api = api
        self.items: list[dict] = []
        api.route("GET", "/feed", handler=self.page)

    @property
    def url(self) -> str:
        return f"{self.api.url}/feed"

    def add(self, count: int) -> list[int]:
        start = len(self.items) + 1
        self.items += [{"id": n, "title": f"Item {n}"} for n in range(start, start + count)]
        return list(range(start, start + count))

    def page(self, req):
        after = int(req.query.get("after", "0"))
        return {"items": [i for i in self.items if i["id"] > after]}

    def polls(self) -> int:
        return len(self.api.requests_to("GET", "/feed"))


@pytest.fixture
def feed(plugwire_api):
    return Feed(plugwire_api)


@pytest.fixture
def plugin(register_plugin):
    return register_plugin(FeedPlugin(), name="test-feed-plugin")


def _recipe(home, feed, name="feed", **config):
    recipes = Recipes(home)
    recipes.create({"name": name, "trigger": {"type": "test_feed", "config": {"url": feed.url, **config}}})
    return recipes.start(name)


def _item_ids(jobs, recipe="feed") -> list[int]:
    return sorted(jobs.get(j["id"])["event"]["item"]["id"] for j in jobs.list(recipe=recipe, limit=1000))


@pytest.mark.hook("register_triggers")
def test_the_server_polls_a_started_recipe_and_each_new_item_becomes_one_job(home, plugin, feed):
    feed.add(3)
    _recipe(home, feed)
    with plugwire_server(home) as (state, _):
        wait_for(lambda: len(state.jobs.list(recipe="feed")) == 3, what="the first three items")
        new = feed.add(2)
        wait_for(lambda: len(state.jobs.list(recipe="feed")) == 5, what="two more items")
        polls = feed.polls()
        wait_for(lambda: feed.polls() >= polls + 3, what="three more polls with nothing new")
        assert _item_ids(state.jobs) == [1, 2, 3, *new]  # each item once
        job = state.jobs.get(state.jobs.list(recipe="feed")[0]["id"])
        assert job["event"]["item"] == {"id": 5, "title": "Item 5"}
        wait_for(lambda: state.jobs.counts("feed").get("succeeded") == 5, what="the jobs to run")
    assert home.store.get(CURSOR_TABLE, "feed")["cursor"] == 5
    status = poll_status(home, "feed")
    assert status["ok"] and status["error"] is None and status["failures"] == 0
    assert plugin.trigger.most_at_once == 1


@pytest.mark.hook("register_triggers")
def test_a_restarted_server_goes_on_from_the_saved_cursor(home, plugin, feed):
    feed.add(2)
    _recipe(home, feed)
    with plugwire_server(home) as (state, _):
        wait_for(lambda: len(state.jobs.list(recipe="feed")) == 2, what="the first items")
    new = feed.add(3)  # while the server is down
    before = feed.polls()
    with plugwire_server(home) as (state, _):
        wait_for(lambda: len(state.jobs.list(recipe="feed")) == 5, what="the items added while down")
        assert _item_ids(state.jobs) == [1, 2, *new]
    first = feed.api.requests_to("GET", "/feed")[before]
    assert first.query["after"] == "2"  # the restarted server asked from the saved cursor


@pytest.mark.hook("register_triggers")
def test_a_failing_poll_is_recorded_and_retried_at_the_next_interval(home, plugin, feed, plugwire_api):
    feed.add(1)
    _recipe(home, feed)
    plugwire_api.route("GET", "/feed", status=503, body="maintenance")
    with plugwire_server(home) as (state, _):
        failed = wait_for(lambda: (s := poll_status(home, "feed")) and s["failures"] >= 2 and s, what="two failed polls")
        assert failed["ok"] is False and "answered 503" in failed["error"] and failed["last_success"] is None
        assert state.jobs.list(recipe="feed") == []
        plugwire_api.route("GET", "/feed", handler=feed.page)  # the API is back
        wait_for(lambda: len(state.jobs.list(recipe="feed")) == 1, what="the item after recovery")
        ok = wait_for(lambda: (s := poll_status(home, "feed")) and s["ok"] and s, what="a good poll")
        assert ok["failures"] == 0 and ok["error"] is None and ok["last_success"]


def _tick_counter(poller) -> Callable[[int], None]:
    """Count the running server's poller ticks; returns ``wait(n)``, which returns once
    ``n`` more ticks have run (the loop's own pace, no fixed sleep in the test)."""
    done = threading.Condition()
    count = [0]
    tick = poller.tick

    def counted(now):
        tick(now)
        with done:
            count[0] += 1
            done.notify_all()

    poller.tick = counted  # looked up on the instance by the loop at every tick

    def wait(n: int) -> None:
        with done:
            target = count[0] + n
            assert done.wait_for(lambda: count[0] >= target, 10), "the poller stopped ticking"

    return wait


@pytest.mark.hook("register_triggers")
def test_polls_of_one_recipe_never_overlap_and_stop_with_the_recipe(home, plugin, feed):
    trigger = plugin.trigger
    trigger.gate = threading.Event()
    feed.add(2)
    recipe = _recipe(home, feed, interval_seconds=0.1)
    with plugwire_server(home) as (state, _):
        # Ticks as long as the interval, counted: every tick finds the recipe due.
        state.poller.tick_seconds = 0.1
        ticks = _tick_counter(state.poller)
        assert trigger.entered.wait(10)
        # Another process's poll of the same recipe (a cron job) is skipped, not run alongside.
        other = poll_once(home, state.jobs, recipe, policy=NetworkPolicy(enabled=False))
        assert other.skipped and other.created == []
        ticks(5)  # five ticks, each past the interval, while the first poll is held
        assert trigger.calls == 1 and trigger.most_at_once == 1
        trigger.gate.set()
        wait_for(lambda: trigger.calls >= 3, what="the next polls")
        assert trigger.most_at_once == 1
        Recipes(home).stop("feed")
        state.invalidate()
        wait_for(lambda: not state.poller.running(), what="the last poll to end")
        calls = trigger.calls
        ticks(3)  # three ticks past the interval of a stopped recipe
        assert trigger.calls == calls
    assert _item_ids(JobStore(home.path)) == [1, 2]


def test_emit_stores_once_per_id_and_refuses_after_a_stop(home):
    jobs = JobStore(home.path)
    cancelled = threading.Event()
    context = StorePollContext(home, jobs, "feed", make_client=lambda: pytest.fail("no client needed"), cancelled=cancelled)
    assert context.load_cursor() is None
    assert context.emit({"item": {"id": 1}}, "1") is True
    assert context.emit({"item": {"id": 1}}, "1") is False  # a repeat adds nothing
    context.save_cursor({"after": 1})
    assert StorePollContext(home, jobs, "feed", make_client=lambda: None).load_cursor() == {"after": 1}
    with pytest.raises(PluginError, match="event_id"):
        context.emit({"item": {}}, "")
    with pytest.raises(PluginError, match="not a dict"):
        context.emit(["not", "a", "dict"], "2")  # type: ignore[arg-type]
    cancelled.set()
    with pytest.raises(PollCancelled):
        context.emit({"item": {"id": 2}}, "2")
    assert len(jobs.list(recipe="feed")) == 1
    jobs.close()


@pytest.mark.hook("register_triggers")
def test_the_network_policy_refuses_a_poll_into_loopback(home, plugin, feed):
    feed.add(1)
    _recipe(home, feed)
    with plugwire_server(home, policy=NetworkPolicy(enabled=True)) as (state, _):
        status = wait_for(lambda: poll_status(home, "feed"), what="a poll")
    assert status["ok"] is False
    assert "Refused by the network policy: 127.0.0.1 is a loopback address" in status["error"]
    assert "'(none)'" in status["error"]
    assert feed.polls() == 0 and state.jobs.list(recipe="feed") == []


@pytest.mark.hook("register_triggers")
def test_a_redirect_into_loopback_is_refused_too(home, plugin, feed):
    feed.add(1)
    moved = ProgrammableAPI()  # the feed's old address, allowed explicitly, redirects to the feed's port
    moved.route("GET", "/old-feed", status=302, headers={"Location": feed.url})
    try:
        recipe = _recipe(home, feed, url=f"{moved.url}/old-feed")
        old, new = (u.removeprefix("http://") for u in (moved.url, feed.api.url))
        jobs = JobStore(home.path)
        refused = poll_once(home, jobs, recipe, policy=NetworkPolicy(allow=[old]))
        assert not refused.ok and "Refused by the network policy: 127.0.0.1 is a loopback address" in refused.error
        assert feed.polls() == 0 and len(moved.requests) == 1
        assert poll_once(home, jobs, recipe, policy=NetworkPolicy(allow=[old, new])).ok
        assert _item_ids(jobs) == [1]
        jobs.close()
    finally:
        moved.stop()


@pytest.mark.hook("register_triggers")
def test_a_private_network_connection_polls_through_its_agent(home, plugin, feed, connections):
    feed.add(2)
    with ForwardProxy() as agent:
        connections.create({"name": "onprem", "auth_type": "none", "private_network": True, "agent_url": agent.url})
        _recipe(home, feed, connection="onprem")
        with plugwire_server(home, policy=NetworkPolicy(enabled=True)) as (state, _):
            wait_for(lambda: len(state.jobs.list(recipe="feed")) == 2, what="the items through the agent")
            wait_for(lambda: (poll_status(home, "feed") or {}).get("ok"), what="the poll's status")  # recorded after its emits
        assert any(r.target.startswith(feed.url) for r in agent.records)


@pytest.mark.hook("register_triggers")
def test_the_api_shows_poll_status_and_removing_a_recipe_forgets_its_cursor(home, plugin, feed):
    import httpx2

    from recipes_support import API_TOKEN

    feed.add(2)
    _recipe(home, feed)
    with plugwire_server(home) as (state, url):
        wait_for(lambda: len(state.jobs.list(recipe="feed")) == 2, what="the first items")
        wait_for(lambda: poll_status(home, "feed"), what="a recorded poll")
        shown = httpx2.get(f"{url}/api/recipes/feed", headers={"Authorization": f"Bearer {API_TOKEN}"}).json()
        assert shown["poll_status"]["ok"] is True and shown["poll_status"]["failures"] == 0
    Recipes(home).stop("feed")
    Recipes(home).remove("feed")
    assert home.store.get(CURSOR_TABLE, "feed") is None and poll_status(home, "feed") is None
    before = feed.polls()
    new = feed.add(1)
    _recipe(home, feed)  # a new recipe of the same name: no inherited cursor
    with plugwire_server(home) as (state, _):
        wait_for(lambda: len(state.jobs.list(recipe="feed")) == 3, what="the new item")
        first = feed.api.requests_to("GET", "/feed")[before]
        assert first.query.get("after", "0") == "0"  # asked from the beginning
        # Items the old recipe already turned into jobs are not repeated (the job store's dedupe).
        assert _item_ids(state.jobs) == [1, 2, *new]


def test_recipes_poll_once_polls_outside_the_server_under_the_policy(home, plugin, feed, run_cli):
    code, out, _ = run_cli("recipes", "poll", "--once")
    assert code == 0 and "No started recipe has a polling trigger" in out
    feed.add(3)
    _recipe(home, feed)
    code, out, err = run_cli("recipes", "poll", "--once")  # the policy is on, as in plugwire serve
    assert code == 1 and "feed: poll failed: Refused by the network policy" in err and feed.polls() == 0
    code, out, err = run_cli("recipes", "poll", "--once", "--no-network-policy")
    assert code == 0 and "feed: 3 new item(s)" in out, err
    code, out, _ = run_cli("recipes", "poll", "--once", "--no-network-policy", "--json")
    assert code == 0 and json.loads(out) == {"polled": [{"recipe": "feed", "ok": True, "error": None, "skipped": False, "created": []}]}
    jobs = JobStore(home.path)
    try:
        assert _item_ids(jobs) == [1, 2, 3]  # each item once; the jobs wait, pending, for a server
        assert {j["status"] for j in jobs.list(recipe="feed")} == {"pending"}
    finally:
        jobs.close()
