"""What the processes of tests/test_races.py do: each is a fresh interpreter (the
'spawn' start method) that opens the shared data folder, warms up, waits at a barrier
with the others so that they really overlap, then edits, renames, removes, starts,
stops or polls, and reports what it saw.

Each worker writes values that grow with its own count (``d0``, ``d1``... in a field
no other worker writes), so before every edit it can tell whether its last write was
lost: the field must still hold it. Removed records are checked by the test."""

from __future__ import annotations

import time
import traceback
from typing import Any, Callable

from pydantic import BaseModel

from plugwire import hookimpl
from plugwire.core.base.errors import NotFoundError
from plugwire.core.connections.model import Connections
from plugwire.core.http.netpolicy import NetworkPolicy
from plugwire.core.plugincore.manager import auth_types, get_plugin_manager, triggers
from plugwire.core.plugincore.triggers import TriggerType
from plugwire.core.recipes.model import Recipes
from plugwire.core.recipes.polling import poll_once
from plugwire.core.storage.home import Home
from plugwire.core.wizard.actions import Actions

BARRIER_TIMEOUT = 60
# Between two edits of one worker that owns a field: the embedded store's lock is not
# fair (a waiting process tries again every 50 ms), so without a pause one worker could
# make all its edits while the others wait, and a lost edit would go unseen by its
# worker's checks. (Removal races go without: there editors should crowd the lock.)
PAUSE = 0.02


# -- a polling trigger, registered in the test process and in each poller ---------------------
class TickConfig(BaseModel):
    interval_seconds: float = 60


class TickTrigger(TriggerType):
    """Polls nothing: each poll moves its cursor on by one."""

    name = "race_tick"
    title = "Counts its polls"
    Config = TickConfig
    polls = True

    def sample_event(self, config: TickConfig) -> dict:
        return {"tick": 1}

    def poll_interval(self, config: TickConfig) -> float:
        return config.interval_seconds

    def poll(self, config: TickConfig, context) -> None:
        context.save_cursor((context.load_cursor() or 0) + 1)


class TickPlugin:
    @hookimpl
    def register_triggers(self, register):
        register(TickTrigger())


# -- the fields each worker owns: (changes for its i-th edit, read it back, its i-th value) ------
def _header(conn) -> str | None:
    value = conn.settings.headers.get("X-Worker")
    return value.get_secret_value() if value is not None else None


CONNECTION_FIELDS: dict[str, tuple[Callable[[int], dict], Callable[[Any], Any], Callable[[int], Any]]] = {
    "timeout": (lambda i: {"timeout": 1.0 + i}, lambda c: c.options.timeout, lambda i: 1.0 + i),
    "test_url": (lambda i: {"test_url": f"https://api.example.com/me/{i}"}, lambda c: c.options.test_url,
                 lambda i: f"https://api.example.com/me/{i}"),
    "description": (lambda i: {"description": f"d{i}"}, lambda c: c.options.description, lambda i: f"d{i}"),
    "header": (lambda i: {"settings": {"headers": {"X-Worker": f"h{i}"}}}, _header, lambda i: f"h{i}"),
}

ACTION_FIELDS = {
    "timeout": (lambda i: {"timeout": 1.0 + i}, lambda a: a.timeout, lambda i: 1.0 + i),
    "description": (lambda i: {"description": f"d{i}"}, lambda a: a.description, lambda i: f"d{i}"),
    "header": (lambda i: {"headers": {"X-Worker": f"h{i}"}}, lambda a: a.headers.get("X-Worker"), lambda i: f"h{i}"),
    "query": (lambda i: {"query": {"page": str(i)}}, lambda a: a.query.get("page"), lambda i: str(i)),
}

RECIPE_FIELDS = {
    "description": (lambda i: {"description": f"d{i}"}, lambda r: r.description, lambda i: f"d{i}"),
    "trigger": (lambda i: {"trigger": {"type": "scheduler", "config": {"interval_seconds": 60 + i}}},
                lambda r: r.trigger.config.get("interval_seconds"), lambda i: 60 + i),
    "steps": (lambda i: {"steps": [{"action": "ping", "headers": {"X-Step": f"s{i}"}}]},
              lambda r: r.steps[0].headers.get("X-Step") if r.steps else None, lambda i: f"s{i}"),
    # start and stop in turn: 'started' after an even edit, 'stopped' after an odd one
    "status": (lambda i: {"status": "started" if i % 2 == 0 else "stopped"}, lambda r: r.status,
               lambda i: "started" if i % 2 == 0 else "stopped"),
}

FIELDS = {"connections": CONNECTION_FIELDS, "actions": ACTION_FIELDS, "recipes": RECIPE_FIELDS}


def edit(home: Home, kind: str, name: str, changes: dict[str, Any]) -> Any:
    """Make one edit of the record ``name`` through the service of ``kind``; returns the record."""
    if kind == "connections":
        return Connections(home).edit(name, changes)
    if kind == "actions":
        return Actions(home).edit(name, changes)
    recipes = Recipes(home)
    if "status" in changes:
        return recipes.start(name) if changes["status"] == "started" else recipes.stop(name)
    return recipes.update(name, changes)


def get(home: Home, kind: str, name: str) -> Any:
    service = {"connections": Connections, "actions": Actions, "recipes": Recipes}[kind]
    return service(home).get(name)


def remove(home: Home, kind: str, name: str) -> None:
    service = {"connections": Connections, "actions": Actions, "recipes": Recipes}[kind]
    service(home).remove(name)


# -- the workers -------------------------------------------------------------------------------
def edit_own_field(home: Home, kind: str, name: str, field: str, count: int) -> dict[str, Any]:
    """Edit the field ``field`` of ``name`` ``count`` times; before each edit, check
    that the last one is still there (``lost`` counts those that were not)."""
    changes, read, value = FIELDS[kind][field]
    lost = 0
    for i in range(count):
        if i and read(get(home, kind, name)) != value(i - 1):
            lost += 1
        edit(home, kind, name, changes(i))
        time.sleep(PAUSE)
    return {"lost": lost, "last": value(count - 1)}


def remove_in_turn(home: Home, kind: str, names: list[str], done) -> dict[str, Any]:
    """Remove ``names`` one by one, pausing between them so that editors are at work
    on each; then count this remover in ``done``."""
    missing = 0
    try:
        for name in names:
            time.sleep(0.01)
            try:
                remove(home, kind, name)
            except NotFoundError:
                missing += 1
    finally:
        with done.get_lock():
            done.value += 1
    return {"missing": missing}


def edit_until_removed(home: Home, kind: str, names: list[str], removers: int, done, use_save: bool) -> dict[str, Any]:
    """Edit the first of ``names`` still there until it is removed, then the next,
    while the removers work; then try each name once more. Returns how many edits
    succeeded and how many met NotFoundError, and which names an edit found after
    every remover had finished (none should be)."""
    edited = not_found = 0
    k = 0
    while k < len(names) and done.value < removers:
        try:
            _edit_once(home, kind, names[k], edited, use_save)
            edited += 1
        except NotFoundError:
            not_found += 1
            k += 1
    found_after = []
    for name in names:
        try:
            _edit_once(home, kind, name, edited, use_save)
            found_after.append(name)
        except NotFoundError:
            not_found += 1
    return {"edited": edited, "not_found": not_found, "found_after": found_after}


def _edit_once(home: Home, kind: str, name: str, n: int, use_save: bool) -> None:
    if kind == "recipes" and n % 3:  # starts and stops race with removal too
        recipes = Recipes(home)
        recipes.start(name) if n % 3 == 1 else recipes.stop(name)
    elif use_save:  # an action read, changed and saved whole: a save must not bring it back
        actions = Actions(home)
        actions.save(actions.get(name).model_copy(update={"description": f"saved {n}"}))
    else:
        edit(home, kind, name, {"description": f"edit {n}"})


def rename_back_and_forth(home: Home, names: tuple[str, str], count: int) -> dict[str, Any]:
    """Rename the connection ``names[0]`` to ``names[1]`` and back, ``count`` times."""
    service = Connections(home)
    for i in range(count):
        time.sleep(0.005)
        service.edit(names[i % 2], {"name": names[(i + 1) % 2]})
    return {"renames": count}


def edit_while_renamed(home: Home, names: tuple[str, str], field: str, count: int) -> dict[str, Any]:
    """As :func:`edit_own_field`, for a connection renamed under the editor's feet:
    each edit and each check looks the connection up under either name."""
    changes, read, value = CONNECTION_FIELDS[field]
    service = Connections(home)
    lost = 0
    for i in range(count):
        if i and read(_either(service.get, names)) != value(i - 1):
            lost += 1
        _either(lambda name: service.edit(name, changes(i)), names)
    return {"lost": lost, "last": value(count - 1)}


def _either(call: Callable[[str], Any], names: tuple[str, str]) -> Any:
    for attempt in range(200):
        try:
            return call(names[attempt % 2])
        except NotFoundError:
            continue
    raise AssertionError(f"neither {names} was there in 200 tries")


def save_tokens_until(home: Home, name: str, removed) -> dict[str, Any]:
    """Save tokens of ``name`` as a refresh would until it is removed, then one more
    (a refresh that ends just after the removal); counts the saves refused because
    the connection was gone."""
    tokens = Connections(home).tokens(name)
    saves = refused = 0
    while True:
        last = removed.is_set()
        try:
            tokens.save({"access_token": f"at-{saves}", "token_type": "Bearer"})
        except NotFoundError:
            refused += 1
        saves += 1
        if last:
            return {"saves": saves, "refused": refused}


def remove_after(home: Home, kind: str, names: list[str], removed, delay: float) -> dict[str, Any]:
    """Wait ``delay`` seconds, remove ``names`` and say so in ``removed``."""
    time.sleep(delay)
    for name in names:
        remove(home, kind, name)
    removed.set()
    return {"removed": len(names)}


def poll_until(home: Home, name: str, removed) -> dict[str, Any]:
    """Poll the recipe ``name`` (as the poller holds it, read once) until it is removed,
    then once more (a poll that outlives the removal)."""
    get_plugin_manager().register(TickPlugin(), name="race-tick")
    recipe = Recipes(home).get(name)
    jobs = home.jobs()
    polls = 0
    try:
        while not removed.is_set():
            assert poll_once(home, jobs, recipe, policy=NetworkPolicy(enabled=False)).ok
            polls += 1
        assert poll_once(home, jobs, recipe, policy=NetworkPolicy(enabled=False)).ok
    finally:
        jobs.close()
    return {"polls": polls + 1}


# -- the process around a worker -----------------------------------------------------------------
def run(where: dict[str, Any], barrier, results, index: int, work: str, args: tuple) -> None:
    """Open the data folder, warm up, wait at ``barrier``, run ``work(home, *args)``
    and put ``(index, result)`` (or ``(index, {"error": traceback})``) on ``results``."""
    home = None
    try:
        home = Home(where["path"], database=where["database"])
        home.cipher, home.store.all("connections"), auth_types.names(), triggers.names()
        barrier.wait(BARRIER_TIMEOUT)
        results.put((index, globals()[work](home, *args)))
    except BaseException:
        barrier.abort()  # the others stop waiting for this one
        results.put((index, {"error": traceback.format_exc()}))
    finally:
        if home is not None:
            home.store.close()
