"""The polling trigger against a local paginated API: new items once each, oldest
first, none missed and none repeated across restarts and crashes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from plugwire.core import plugins
from plugwire.core.errors import UserInputError
from plugwire.core.home import Home
from plugwire.core.jobs import JobStore
from plugwire.core.recipes import Recipes
from plugwire_polling_trigger import Poller, PollError, PollingConfig
from plugwire_polling_trigger.poller import STATE_TABLE
from plugwire_polling_trigger.runner import dedupe_key

POLL = str(Path(sys.executable).with_name("plugwire-poll"))


def config(items_api, **kw) -> PollingConfig:
    return PollingConfig(url=items_api.url, items_path="data", next_path="next_page", **kw)


def poller(home_path, cfg, key="orders") -> Poller:
    # A new Home and client each time: what a restarted process would have.
    return Poller(Home(home_path), key, cfg, httpx2.Client(timeout=10))


def collect():
    got: list[tuple[str, dict]] = []
    return got, lambda event, item_id: got.append((item_id, event))


def test_new_items_are_emitted_once_oldest_first_across_pages(items_api, plugwire_home):
    items_api.add(4)
    got, emit = collect()
    first = poller(plugwire_home, config(items_api)).poll(emit)
    assert first.first_poll and got == []  # what was there before is not "new"
    new = items_api.add(7)
    result = poller(plugwire_home, config(items_api)).poll(emit)
    assert [i for i, _ in got] == new and result.emitted == new
    assert result.pages == 3  # 7 new on pages 1-3; page 3 holds a known item: stop
    assert got[0][1]["item"]["title"] == "Item 4" and got[0][1]["source"] == items_api.url
    assert poller(plugwire_home, config(items_api)).poll(emit).emitted == []


def test_the_cursor_survives_a_restart_in_the_plugwire_store(items_api, plugwire_home):
    got, emit = collect()
    items_api.add(5)
    poller(plugwire_home, config(items_api, emit_existing=True)).poll(emit)
    assert len(got) == 5
    stored = Home(plugwire_home).store.get(STATE_TABLE, "orders")
    assert stored["seen"] == [f"it-{n:04d}" for n in range(5)] and stored["polls"] == 1
    assert "it-0004" in (Path(plugwire_home) / "plugwire.json").read_text()
    new = items_api.add(2)
    assert poller(plugwire_home, config(items_api, emit_existing=True)).poll(emit).emitted == new
    assert [i for i, _ in got] == [f"it-{n:04d}" for n in range(7)]


def test_a_crash_between_emitting_and_saving_neither_loses_nor_repeats(items_api, plugwire_home):
    jobs = JobStore(plugwire_home)
    poller(plugwire_home, config(items_api)).poll(lambda e, i: None)
    new = items_api.add(6)
    stored: list[str] = []

    def crashing(event, item_id):
        if len(stored) == 3:
            raise KeyboardInterrupt("the process dies here")
        jobs.add("orders", event, dedupe=dedupe_key("orders", item_id))
        stored.append(item_id)

    with pytest.raises(KeyboardInterrupt):
        poller(plugwire_home, config(items_api)).poll(crashing)
    restarted = poller(plugwire_home, config(items_api)).poll(
        lambda e, i: jobs.add("orders", e, dedupe=dedupe_key("orders", i)))
    assert restarted.emitted == new  # offered again: the state was not saved ...
    events = [jobs.get(j["id"])["event"]["item_id"] for j in jobs.list(recipe="orders", limit=100)]
    assert sorted(events) == new  # ... and the job store kept one job per item
    jobs.close()


def test_a_failing_page_changes_nothing(items_api, plugwire_home, plugwire_api):
    got, emit = collect()
    poller(plugwire_home, config(items_api)).poll(emit)
    items_api.add(2)
    plugwire_api.route("GET", "/v1/items", status=503, body="maintenance")
    with pytest.raises(PollError, match="answered 503: maintenance"):
        poller(plugwire_home, config(items_api)).poll(emit)
    plugwire_api.route("GET", "/v1/items", handler=items_api.page)
    assert len(poller(plugwire_home, config(items_api)).poll(emit).emitted) == 2
    with pytest.raises(PollError) as wrong:
        poller(plugwire_home, PollingConfig(url=items_api.url, items_path="results")).poll(emit)
    assert wrong.value.field == "trigger.config.items_path"


def test_link_headers_tokens_and_a_since_cursor(plugwire_api, plugwire_home):
    events = [{"uid": n, "ts": f"2024-05-01T10:00:{n:02d}Z"} for n in range(5)]

    def page(req):  # oldest first, filtered by ?since=, paged by ?cursor= tokens
        since = req.query.get("since", "")
        rows = [e for e in events if e["ts"] > since]
        start = int(req.query.get("cursor", "0"))
        chunk = rows[start : start + 2]
        headers = {"Link": f'<{plugwire_api.url}/events?cursor={start + 2}&since={since}>; rel="next"'} if start + 2 < len(rows) else {}
        from plugwire.core.testing import Reply

        return Reply(json={"events": chunk}, headers=headers)

    plugwire_api.route("GET", "/events", handler=page)
    cfg = PollingConfig(url=f"{plugwire_api.url}/events", items_path="events", id_field="uid", order="oldest_first",
                        since_param="since", since_field="ts", emit_existing=True)
    got, emit = collect()
    assert poller(plugwire_home, cfg).poll(emit).emitted == ["0", "1", "2", "3", "4"]
    events.append({"uid": 5, "ts": "2024-05-01T10:00:05Z"})
    assert poller(plugwire_home, cfg).poll(emit).emitted == ["5"]
    assert plugwire_api.requests[-1].query["since"] == "2024-05-01T10:00:04Z"


def test_the_trigger_type_and_its_recipe(polling, plugwire_connections, items_api):
    trigger = plugins.triggers.get("polling")
    cfg = trigger.Config(url=items_api.url, sample_item={"id": "o-1", "total": 12.5})
    assert trigger.sample_event(cfg)["item"]["total"] == 12.5 and trigger.sample_event(cfg)["item_id"] == "o-1"
    recipes = Recipes(plugwire_connections.home)
    with pytest.raises(UserInputError, match="trigger.config.url"):
        recipes.create({"name": "bad", "trigger": {"type": "polling", "config": {"url": "not a url"}}})
    recipe = recipes.create({"name": "orders", "trigger": {"type": "polling", "config": {"url": items_api.url}}})
    assert recipe.trigger_config().interval_seconds == 300


def _poll_once(home: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("PLUGWIRE_TESTING", "PLUGWIRE_LOAD_PLUGINS")}
    env["PLUGWIRE_HOME"] = str(home)
    return subprocess.Popen([POLL, "--once"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_plugwire_poll_processes_restart_and_kill_9(polling, plugwire_home, items_api):
    recipes = Recipes(Home(plugwire_home))
    recipes.create({"name": "orders", "trigger": {"type": "polling", "config": {
        "url": items_api.url, "items_path": "data", "next_path": "next_page", "emit_existing": True, "interval_seconds": 1}}})
    recipes.start("orders")
    items_api.add(4)
    first = _poll_once(plugwire_home)
    assert first.wait(60) == 0, first.stderr.read()
    assert "orders: 4 new item(s)" in first.stdout.read()
    items_api.add(5)  # 9 items: 5 new ones across pages 1 and 2
    items_api.hold_page = 2
    killed = _poll_once(plugwire_home)
    while not any(r.query.get("page") == "2" for r in items_api.api.requests):
        assert killed.poll() is None, killed.stderr.read()
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)  # in the middle of a poll
    killed.wait(30)
    items_api.hold_page = None
    items_api.release.set()
    items_api.add(1)
    again = _poll_once(plugwire_home)
    assert again.wait(60) == 0, again.stderr.read()
    jobs = JobStore(plugwire_home)
    ids = [jobs.get(j["id"])["event"]["item_id"] for j in jobs.list(recipe="orders", limit=100)]
    jobs.close()
    assert sorted(ids) == [f"it-{n:04d}" for n in range(10)]  # each item once, none missed
