"""The configuration store in PostgreSQL, against the local server: the embedded store's
semantics (transactions that exclude every writer, in any process; nested ones join;
a failed one writes nothing), named locks and held locks across real processes, the
change watch, versioned migrations on start, sealed secrets, and failures that name
the variable without showing the password."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import psycopg
import pytest

from pgutil import make_pg_database, pg_url  # noqa: F401  (the fixture)
from plugwire.core.base.errors import AlreadyExistsError, StorageError, UserInputError
from plugwire.core.connections.model import Connections
from plugwire.core.storage.home import Home
from plugwire.core.storage.pg import MIGRATIONS, SCHEMA_VERSION, advisory_key, migrate, redact
from plugwire.core.storage.pgjobs import PgJobStore
from plugwire.core.storage.pgstore import PgStore

SECRET = "PW-in-postgres-planted-7c2d90"


@pytest.fixture
def store(pg_url):  # noqa: F811
    s = PgStore(pg_url)
    yield s
    s.close()


def spawn(script: str, *args: str) -> subprocess.Popen:
    """Start a Python process running ``script`` with ``args`` (it talks on stdin/stdout)."""
    env = {**os.environ, "PLUGWIRE_TESTING": "1"}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)


def say(proc: subprocess.Popen, line: str = "go") -> None:
    proc.stdin.write(line + "\n")
    proc.stdin.flush()


def raw(url: str) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=True)


def test_records_transactions_and_a_failed_transaction_writes_nothing(store):
    store.put("things", "a", {"v": 1})
    store.insert("things", "b", {"v": 2, "nested": {"x": [1, 2.5, None, "é"]}})
    with pytest.raises(AlreadyExistsError, match="A thing named 'a' already exists") as info:
        store.insert("things", "a", {"v": 9})
    assert info.value.field == "name"
    assert store.all("things") == {"a": {"v": 1}, "b": {"v": 2, "nested": {"x": [1, 2.5, None, "é"]}}}
    assert store.delete("things", "a") is True and store.delete("things", "a") is False
    assert store.update("things", "b", lambda old: None) is None and store.get("things", "b") is None

    store.put("things", "keep", {"v": 1})
    before = store.version()
    with pytest.raises(RuntimeError):
        with store.transaction() as tx:
            tx.put("things", "keep", {"v": 2})
            tx.put("things", "new", {"v": 3})
            with store.transaction() as inner:  # joins the outer one
                assert inner is tx and inner.get("things", "new") == {"v": 3}
            assert store.get("things", "new") == {"v": 3}  # the conveniences see the open transaction
            raise RuntimeError("half-way")
    assert store.all("things") == {"keep": {"v": 1}} and store.version() == before
    with store.transaction() as tx:  # an insert refused inside a transaction leaves it usable
        with pytest.raises(AlreadyExistsError):
            tx.insert("things", "keep", {})
        tx.put("things", "after", {"v": 4})
    assert store.get("things", "after") == {"v": 4} and store.version() == before + 1
    store.all("things")  # reading writes nothing
    assert store.version() == before + 1


def test_a_nul_character_is_refused_naming_the_field_and_nothing_is_written(store):
    # jsonb cannot hold U+0000; the user gets the field, not a driver traceback.
    store.put("actions", "a", {"headers": {"X": "ok"}})
    with pytest.raises(UserInputError) as caught:
        store.put("actions", "a", {"headers": {"X": "a\x00b"}})
    assert caught.value.field == "headers.X" and "NUL" in str(caught.value)
    assert store.get("actions", "a") == {"headers": {"X": "ok"}}
    store.put("actions", "b", {"text": "a literal \\u0000 is only text"})  # not a NUL: kept
    assert store.get("actions", "b") == {"text": "a literal \\u0000 is only text"}


def test_all_keeps_the_order_records_were_first_written_in(store):
    for key in ("zeta", "alpha", "mid"):
        store.put("t", key, {"k": key})
    store.put("t", "alpha", {"k": "again"})
    assert list(store.all("t")) == ["zeta", "alpha", "mid"] and store.all("other") == {}


_BUMPER = """
    import sys, threading
    from plugwire.core.storage.pgstore import PgStore
    store = PgStore(sys.argv[1])
    store.get("counters", "hits")  # connected (and migrated) before the start
    print("ready", flush=True)
    sys.stdin.readline()
    def bump():
        for _ in range(int(sys.argv[2])):
            store.update("counters", "hits", lambda old: {"n": (old or {"n": 0})["n"] + 1})
    threads = [threading.Thread(target=bump) for _ in range(int(sys.argv[3]))]
    [t.start() for t in threads]
    [t.join() for t in threads]
    store.close()
    print("done", flush=True)
"""


def run_together(procs: list[subprocess.Popen]) -> None:
    """Start ``procs`` (each says "ready", then waits for a line) at once and wait until each says "done"."""
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    for p in procs:
        say(p)
    for p in procs:
        out, _ = p.communicate(timeout=60)
        assert p.returncode == 0 and out.strip() == "done"


def test_processes_and_threads_updating_one_record_lose_no_increment(pg_url):  # noqa: F811
    run_together([spawn(_BUMPER, pg_url, "10", "3") for _ in range(3)] + [spawn(_BUMPER, pg_url, "30", "1")])
    store = PgStore(pg_url)
    assert store.get("counters", "hits") == {"n": 120}
    store.close()


def test_a_store_locked_by_another_session_times_out_with_a_clear_error(pg_url):  # noqa: F811
    store = PgStore(pg_url, lock_timeout=0.2)
    store.put("t", "k", {"v": 1})
    with raw(pg_url) as other:
        with other.transaction():
            other.execute("SELECT pg_advisory_xact_lock(%s)", (advisory_key("store"),))
            t0 = time.monotonic()
            with pytest.raises(StorageError, match="stayed locked by another process") as info:
                store.put("t", "k", {"v": 2})
            assert time.monotonic() - t0 < 3 and info.value.field == "PLUGWIRE_DATABASE_URL"
            assert store.get("t", "k") == {"v": 1}  # one-statement reads take no lock
    store.put("t", "k", {"v": 3})
    assert store.get("t", "k") == {"v": 3}
    store.close()


_LOCKER = """
    import sys
    from plugwire.core.storage.pgstore import PgStore
    store = PgStore(sys.argv[1])
    with store.lock(sys.argv[2]):
        print("held", flush=True)
        sys.stdin.readline()
    print("released", flush=True)
    sys.stdin.readline()
"""


def test_a_named_lock_excludes_other_processes_and_threads_until_released(store, pg_url):  # noqa: F811
    holder = spawn(_LOCKER, pg_url, "recipe:r1")
    try:
        assert holder.stdout.readline().strip() == "held"
        t0 = time.monotonic()
        with pytest.raises(StorageError, match="'recipe:r1' stayed held by another process") as info:
            with store.lock("recipe:r1", timeout=0.3):
                pass
        assert 0.25 < time.monotonic() - t0 < 3 and info.value.field == "PLUGWIRE_DATABASE_URL"
        with pytest.raises(StorageError):
            with store.lock("recipe:r1", timeout=0):  # no wait at all
                pass
        with store.lock("recipe:r2", timeout=1):  # another name is free
            pass
        say(holder)
        assert holder.stdout.readline().strip() == "released"
        with store.lock("recipe:r1", timeout=5):
            seen = []
            thread = threading.Thread(target=lambda: seen.append(_try_lock(store, "recipe:r1")))
            thread.start()
            thread.join()
            assert seen == ["timed out"]  # another thread of this process waits too
        assert _try_lock(store, "recipe:r1") == "held"
    finally:
        holder.kill()
        holder.wait()


def _try_lock(store: PgStore, name: str) -> str:
    try:
        with store.lock(name, timeout=0.2):
            return "held"
    except StorageError:
        return "timed out"


_HOLDER = """
    import sys
    from plugwire.core.storage.pgstore import PgStore
    held = PgStore(sys.argv[1]).try_hold("plugwire-leader")
    print("held" if held else "refused", flush=True)
    sys.stdin.readline()
"""


def test_a_held_lock_goes_with_its_holders_process_or_session(store, pg_url):  # noqa: F811
    holder = spawn(_HOLDER, pg_url)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert store.try_hold("plugwire-leader") is None
        holder.send_signal(signal.SIGKILL)  # no release: the session ends with the process
        holder.wait()
        deadline = time.monotonic() + 10
        held = None
        while held is None and time.monotonic() < deadline:
            held = store.try_hold("plugwire-leader")
            time.sleep(0.05)
        assert held is not None and held.alive()
    finally:
        holder.kill()
        holder.wait()
    second = spawn(_HOLDER, pg_url)
    assert second.stdout.readline().strip() == "refused"
    second.kill()
    second.wait()
    with raw(pg_url) as admin:  # the holder's session is cut: its lock is gone, and it knows
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND pid <> pg_backend_pid()")
    assert held.alive() is False
    held.release()  # harmless when gone
    again = store.try_hold("plugwire-leader")
    assert again is not None and again.alive()
    again.release()
    assert again.alive() is False
    taken = store.try_hold("plugwire-leader")
    assert taken is not None
    taken.release()


def test_the_watch_sees_writes_of_any_process_once(store, pg_url):  # noqa: F811
    watch = store.watch(refresh_seconds=0.01)

    def settled() -> bool:  # its thread has read the counter, and nothing moved since
        time.sleep(0.1)
        while watch.changed():
            time.sleep(0.1)
        return True

    assert watch.changed()  # the first look: nothing seen yet
    assert settled() and not watch.changed()
    store.put("t", "a", {"v": 1})
    assert _eventually(watch.changed) and settled()
    other = PgStore(pg_url)
    other.put("t", "b", {"v": 1})
    other.close()
    assert _eventually(watch.changed) and settled()
    store.get("t", "a")
    with store.transaction() as tx:
        tx.get("t", "a")
    time.sleep(0.1)
    assert not watch.changed()  # reads are not changes
    watch.forget()
    assert watch.changed() and not watch.changed()


def test_the_watch_never_waits_for_a_database_that_is_away():
    # A server asks its watch on every webhook: with the database gone it answers at
    # once (nothing changed), and the cached records serve meanwhile.
    away = PgStore("postgresql://postgres@127.0.0.1:1/none")
    watch = away.watch(refresh_seconds=0.01)
    t0 = time.monotonic()
    results = [watch.changed() for _ in range(200)]
    assert time.monotonic() - t0 < 0.5
    assert results[0] and not any(results[1:])
    away.close()


def _eventually(check, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_sealed_secret_is_not_in_the_table_in_clear_text(tmp_path, pg_url, monkeypatch):  # noqa: F811
    monkeypatch.setenv("PLUGWIRE_DATABASE_URL", pg_url)
    home = Home(tmp_path / "h")
    assert isinstance(home.store, PgStore) and isinstance(home.jobs(), PgJobStore)
    service = Connections(home)
    service.create({"name": "c", "auth_type": "basic", "settings": {"username": "u", "password": SECRET}})
    with raw(pg_url) as conn:
        rows = conn.execute("SELECT tbl, key, doc::text FROM plugwire_records").fetchall()
    assert rows and SECRET not in json.dumps(rows)
    (doc,) = [json.loads(text) for tbl, key, text in rows if tbl == "connections"]
    assert set(doc["settings"]["password"]) == {"$sealed"}
    assert Connections(Home(tmp_path / "h")).get("c").settings.password.get_secret_value() == SECRET
    home.store.close()


def _schema(url: str) -> list[tuple]:
    with raw(url) as conn:
        return conn.execute("SELECT version, name, applied_at FROM plugwire_schema ORDER BY version").fetchall()


def test_a_fresh_database_gets_every_migration_and_a_second_start_applies_none(store, pg_url):  # noqa: F811
    store.get("t", "k")  # the first use connects and migrates
    first = _schema(pg_url)
    assert [(v, n) for v, n, _ in first] == [(v, n) for v, n, _ in MIGRATIONS] and first[-1][0] == SCHEMA_VERSION
    with raw(pg_url) as conn:
        assert migrate(conn) == []
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"plugwire_records", "plugwire_jobs", "plugwire_workers", "plugwire_record_version"} <= tables
    again = PgJobStore(pg_url)
    again.counts()
    again.close()
    assert _schema(pg_url) == first


_STARTER = """
    import sys
    from plugwire.core.storage.pgjobs import PgJobStore
    from plugwire.core.storage.pgstore import PgStore
    store = PgStore(sys.argv[1]) if sys.argv[2] == "store" else PgJobStore(sys.argv[1])
    print("ready", flush=True)
    sys.stdin.readline()
    store.counts() if sys.argv[2] == "jobs" else store.all("t")
    store.close()
    print("done", flush=True)
"""


def test_several_processes_starting_at_once_migrate_once():
    with make_pg_database() as url:
        run_together([spawn(_STARTER, url, kind) for kind in ("store", "jobs", "store", "jobs", "store")])
        schema = _schema(url)
        assert [v for v, _, _ in schema] == [v for v, _, _ in MIGRATIONS]
        assert len({at for _, _, at in schema}) == 1  # all in one transaction


def test_a_database_of_a_newer_plugwire_is_refused(pg_url):  # noqa: F811
    with raw(pg_url) as conn:
        conn.execute("CREATE TABLE plugwire_schema (version integer PRIMARY KEY, name text NOT NULL, "
                     "applied_at timestamptz NOT NULL DEFAULT now())")
        conn.execute("INSERT INTO plugwire_schema (version, name) VALUES (%s, 'from the future')", (SCHEMA_VERSION + 1,))
    store = PgStore(pg_url)
    with pytest.raises(StorageError, match="newer than this plugwire knows") as info:
        store.get("t", "k")
    assert "upgrade plugwire" in str(info.value) and info.value.field == "PLUGWIRE_DATABASE_URL"
    store.close()


def test_an_unreachable_database_is_a_storage_error_without_the_password():
    url = "postgresql://alice:s3cret%2Fpw@127.0.0.1:1/plugwire?password=other-s3cret"
    for use in (lambda: PgStore(url).get("t", "k"), lambda: PgJobStore(url).add("r", {})):
        with pytest.raises(StorageError) as info:
            use()
        text = str(info.value)
        assert info.value.field == "PLUGWIRE_DATABASE_URL" and "127.0.0.1:1" in text and "Fix:" in text
        assert "s3cret" not in text and "alice:***@" in text
    assert redact("postgres://bob@db/x") == "postgres://bob@db/x"
    assert redact("postgresql://bob:p%40ss@db:5432/x?sslmode=require") == "postgresql://bob:***@db:5432/x?sslmode=require"


def test_without_psycopg_the_error_says_what_to_install(tmp_path, pg_url):  # noqa: F811
    code = textwrap.dedent("""
        import sys
        sys.modules["psycopg"] = None  # as if not installed
        from plugwire.core.base.errors import UserInputError
        from plugwire.core.storage.home import Home
        try:
            Home(sys.argv[1], database=sys.argv[2])
        except UserInputError as exc:
            print(exc.field, "|", exc)
    """)
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "h"), pg_url], capture_output=True, text=True, timeout=60)
    assert done.stdout.startswith("PLUGWIRE_DATABASE_URL |"), done.stderr
    assert "pip install 'plugwire[scale]'" in done.stdout
