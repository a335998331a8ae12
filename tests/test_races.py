"""State is transactional across processes: real OS processes (spawned, each its own
interpreter) share one data folder, are released together by a barrier, and edit,
rename, remove, start, stop, save tokens and poll at once. Every edit reads the
current record in the transaction that writes it, so:

- edits of different fields of one connection, action or recipe all survive (each
  worker also checks, before each edit, that its last one is still there);
- a record removed while others edit it stays removed (their edits end in
  NotFoundError), and a save of a removed action does not bring it back;
- renames racing with edits leave one connection with every edit and its tokens;
- a token saved, or a poll's cursor and status written, after their connection or
  recipe was removed is not inherited by a new one of the same name.

The data folder comes from ``race_home``, parametrized over the storage backends.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

import race_workers
from pgutil import pg_url  # noqa: F401  (the fixture, for race_home)
from plugwire.core.base.errors import NotFoundError, UserInputError
from plugwire.core.connections.model import Connections
from plugwire.core.recipes.model import POLL_CURSORS, POLL_STATUS, Recipes
from plugwire.core.recipes.polling import poll_status
from plugwire.core.storage.home import Home
from plugwire.core.wizard.actions import Actions, build_action
from recipes_support import save_action

RACE_TIMEOUT = 60  # seconds for a whole race; each takes a few


class RaceHome:
    """The shared data folder: ``where`` tells each racing process how to open it
    (``Home(path, database=database)``), ``home`` is the test's own."""

    def __init__(self, path: Path, database: str | None):
        self.where = {"path": str(path), "database": database}
        self.home = Home(path, database=database)


@pytest.fixture(params=["embedded", "postgresql"])
def race_home(request, tmp_path) -> Iterator[RaceHome]:
    """The data folder the racing processes share, with its configuration in each
    backend in turn: the embedded store in the folder, or a fresh PostgreSQL database
    (``pg_url``: skipped without a server, unless CI=true)."""
    database = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    shared = RaceHome(tmp_path / "shared-home", database)
    try:
        yield shared
    finally:
        shared.home.store.close()


def race(where: dict[str, Any], *workers: tuple[str, tuple]) -> list[dict[str, Any]]:
    """Run each ``(work, args)`` of ``workers`` in its own spawned process on the data
    folder ``where``, all released together; return their results in order. Fails
    the test on any worker's error or when the race outlasts ``RACE_TIMEOUT``."""
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(len(workers)), ctx.Queue()
    procs = [ctx.Process(target=race_workers.run, args=(where, barrier, results, i, work, args), daemon=True)
             for i, (work, args) in enumerate(workers)]
    for p in procs:
        p.start()
    out: dict[int, dict[str, Any]] = {}
    deadline = time.monotonic() + RACE_TIMEOUT
    try:
        while len(out) < len(procs):
            index, result = results.get(timeout=max(0.1, deadline - time.monotonic()))
            out[index] = result
    except queue.Empty:
        pytest.fail(f"the race did not end within {RACE_TIMEOUT} s ({len(out)} of {len(procs)} workers did)")
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
                p.join()
    errors = [f"worker {i} ({workers[i][0]}):\n{r['error']}" for i, r in sorted(out.items()) if "error" in r]
    assert not errors, "\n".join(errors)
    return [out[i] for i in range(len(procs))]


# -- records to race over -------------------------------------------------------------------------
def _create(home: Home, kind: str, names: list[str]) -> None:
    if kind == "connections":
        for name in names:
            Connections(home).create({
                "name": name, "auth_type": "header", "settings": {"headers": {"Authorization": "Bearer t0k3n"}},
                "base_url": "https://api.example.com", "test_url": "https://api.example.com/me", "timeout": 30,
            })
        return
    save_action(home, "ping", url="https://api.example.com/ping")  # proven: the recipes run it
    for name in names:
        if kind == "actions":
            Actions(home).create(build_action({"name": name, "url": "https://api.example.com/items"}))
        else:
            Recipes(home).create({"name": name, "trigger": {"type": "scheduler", "config": {"interval_seconds": 60}},
                                  "steps": [{"action": "ping"}]})


KINDS = ["connections", "actions", "recipes"]  # each also the name of its table in the store


# -- edits of different fields ---------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_edits_of_different_fields_all_survive(race_home, kind):
    """Four processes each edit their own field of one record 20 times (for a recipe,
    one of them starts and stops it): every field ends with its last value, and no
    worker ever found its previous edit gone."""
    home = race_home.home
    _create(home, kind, ["shared"])
    fields = list(race_workers.FIELDS[kind])
    results = race(race_home.where, *[("edit_own_field", (kind, "shared", f, 20)) for f in fields])
    assert [r["lost"] for r in results] == [0] * len(fields), f"edits lost (per field {fields})"
    record = race_workers.get(home, kind, "shared")
    for field, result in zip(fields, results):
        _changes, read, _value = race_workers.FIELDS[kind][field]
        assert read(record) == result["last"], field


# -- removal racing with edits ---------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_records_removed_while_edited_stay_removed(race_home, kind):
    """Two processes remove 30 records one by one while three others keep editing the
    next one still there (an action also read and saved whole; a recipe also started
    and stopped): none comes back, and the edits of removed ones ended in NotFoundError."""
    home = race_home.home
    names = [f"r{k:02d}" for k in range(30)]
    _create(home, kind, names)
    done = multiprocessing.get_context("spawn").Value("i", 0)
    results = race(
        race_home.where,
        ("remove_in_turn", (kind, names[0::2], done)),
        ("remove_in_turn", (kind, names[1::2], done)),
        *[("edit_until_removed", (kind, names, 2, done, use_save)) for use_save in (False, True, False)],
    )
    left = sorted(set(names) & set(home.store.all(kind)))
    assert left == [], f"removed {kind} came back"
    editors = results[2:]
    assert [e["found_after"] for e in editors] == [[], [], []]
    assert sum(e["edited"] for e in editors) > 0, "the editors never overlapped the removals"
    assert [r["missing"] for r in results[:2]] == [0, 0], "a remover found its record gone already"


# -- renames ---------------------------------------------------------------------------------------
def test_renames_racing_with_edits_keep_one_connection_with_every_edit_and_its_tokens(race_home):
    """One process renames a connection back and forth 20 times while three others
    edit their own field under whichever name it has: one connection is left, under
    the name the renames end on, with every last edit and the tokens it started with."""
    home = race_home.home
    names = ("ren-a", "ren-b")
    _create(home, "connections", [names[0]])
    service = Connections(home)
    service.tokens(names[0]).save({"access_token": "kept", "token_type": "Bearer"})
    fields = ["timeout", "description", "header"]
    results = race(
        race_home.where,
        ("rename_back_and_forth", (names, 20)),
        *[("edit_while_renamed", (names, f, 20)) for f in fields],
    )
    assert [r["lost"] for r in results[1:]] == [0, 0, 0], "edits lost across renames"
    assert sorted(set(names) & set(home.store.all("connections"))) == [names[0]], "both names, or neither, exist"
    conn = service.get(names[0])  # 20 renames: back where it started
    for field, result in zip(fields, results[1:]):
        assert race_workers.CONNECTION_FIELDS[field][1](conn) == result["last"], field
    assert service.tokens(names[0]).load()["access_token"] == "kept"
    assert service.tokens(names[1]).load() is None


# -- what outlives a removal -----------------------------------------------------------------------
def test_a_token_saved_after_its_connection_was_removed_is_not_inherited(race_home):
    """Token saves of two connections race with their removal, one save ending after
    it: a new connection of either name, created or renamed into it, has no token."""
    home = race_home.home
    _create(home, "connections", ["tok-1", "tok-2", "fresh"])
    removed = multiprocessing.get_context("spawn").Event()
    race(
        race_home.where,
        ("save_tokens_until", ("tok-1", removed)),
        ("save_tokens_until", ("tok-2", removed)),
        ("remove_after", ("connections", ["tok-1", "tok-2"], removed, 0.05)),
    )
    service = Connections(home)
    _create(home, "connections", ["tok-1"])
    service.edit("fresh", {"name": "tok-2"})
    assert service.tokens("tok-1").load() is None, "a new connection inherited a removed one's token"
    assert service.tokens("tok-2").load() is None, "a renamed connection inherited a removed one's token"


def test_a_poll_that_outlives_its_recipe_leaves_nothing_for_a_new_one(race_home, register_plugin):
    """A process polls a recipe (cursor and status saved each poll) while another
    removes it, one poll ending after the removal: no cursor or status is left, and
    a new recipe of that name starts afresh."""
    register_plugin(race_workers.TickPlugin(), name="race-tick")
    home = race_home.home
    recipes = Recipes(home)
    recipes.create({"name": "polled", "trigger": {"type": "race_tick", "config": {}}})
    recipes.start("polled")
    removed = multiprocessing.get_context("spawn").Event()
    results = race(
        race_home.where,
        ("poll_until", ("polled", removed)),
        ("remove_after", ("recipes", ["polled"], removed, 0.1)),
    )
    assert results[0]["polls"] > 1
    assert home.store.get(POLL_CURSORS, "polled") is None, "a removed recipe's cursor came back"
    assert home.store.get(POLL_STATUS, "polled") is None, "a removed recipe's poll status came back"
    recipes.create({"name": "polled", "trigger": {"type": "race_tick", "config": {}}})
    assert poll_status(home, "polled") is None


# -- the same promises, one process at a time ---------------------------------------------------
REFUSED_EDITS = {
    "connections": ({"timeout": -1}, "timeout"),
    "actions": ({"timeout": -1}, "timeout"),
    "recipes": ({"steps": [{"action": "gone"}]}, "steps[0].action"),
}


@pytest.mark.parametrize("kind", KINDS)
def test_an_edit_refused_by_validation_names_the_field_and_writes_nothing(race_home, kind):
    home = race_home.home
    _create(home, kind, ["shared"])
    before = home.store.all(kind)
    changes, field = REFUSED_EDITS[kind]
    with pytest.raises(UserInputError) as info:
        race_workers.edit(home, kind, "shared", changes)
    assert info.value.field == field and info.value.fix
    assert home.store.all(kind) == before


def test_action_edits_merge_headers_and_query_and_refuse_what_is_not_an_edit(race_home):
    home = race_home.home
    _create(home, "actions", ["a"])
    actions = Actions(home)
    actions.edit("a", {"headers": {"X-One": "1"}, "query": {"page": "1"}})
    edited = actions.edit("a", {"headers": {"X-Two": "2"}, "description": "two headers"}, unset=["query.page"])
    assert (edited.headers, edited.query, edited.description) == ({"X-One": "1", "X-Two": "2"}, {}, "two headers")
    assert actions.get("a") == edited
    for changes, unset, field in (({"colour": "red"}, (), "colour"), ({}, ["headers.X-Gone"], "headers.X-Gone"),
                                  ({}, ["timeout"], "timeout"), ({"name": "b"}, (), "name")):
        with pytest.raises(UserInputError) as info:
            actions.edit("a", changes, unset=unset)
        assert info.value.field == field and info.value.fix
    assert actions.get("a") == edited
    actions.remove("a")
    with pytest.raises(NotFoundError):
        actions.save(edited)  # a save never brings a removed action back; create does
    with pytest.raises(NotFoundError):
        actions.edit("a", {"description": "again"})
    assert "a" not in home.store.all("actions")
    assert actions.create(edited) == edited
