"""The storage layer and secrets at rest: concurrent writers lose nothing, a failed
transaction writes nothing, the key file is private, an environment key works, a
wrong key says so plainly, and no secret is in the store file in clear text."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from filelock import FileLock

from plugwire.core.base.errors import AlreadyExistsError, StorageError
from plugwire.core.connections.model import Connections
from plugwire.core.storage.home import Home
from plugwire.core.storage.store import Store

SECRET = "PW-at-rest-planted-3e9a51"

_WRITER = textwrap.dedent(
    """
    import sys
    from plugwire.core.connections.model import Connections
    from plugwire.core.storage.home import Home
    from plugwire.core.plugincore.manager import auth_types

    home, tag, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    service = Connections(Home(home))
    # Warm up (plugins, key, store) so that the two writers really overlap.
    service.home.cipher, service.list(), auth_types.names()
    sys.stdout.write("ready\\n"); sys.stdout.flush()
    sys.stdin.readline()  # start together
    for i in range(count):
        service.create({"name": f"{tag}-{i:02d}", "auth_type": "basic",
                        "settings": {"username": tag, "password": f"{tag}-pw-{i}"}})
    print("done")
    """
)


def test_two_processes_adding_at_once_lose_nothing(tmp_path):
    folder = tmp_path / "shared-home"
    env = {**os.environ, "PLUGWIRE_TESTING": "1"}
    env.pop("PLUGWIRE_SECRET_KEY", None)
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(folder), tag, "25"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, env=env)
        for tag in ("alpha", "beta")
    ]
    for p in procs:  # both have imported plugwire and opened the store
        assert p.stdout.readline().strip() == "ready"
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0 and out.strip() == "done"
    service = Connections(Home(folder))
    names = [c.name for c in service.list()]
    assert len(names) == 50
    assert names == sorted([f"alpha-{i:02d}" for i in range(25)] + [f"beta-{i:02d}" for i in range(25)])
    # both processes shared one key: every secret decrypts
    assert service.get("beta-24").settings.password.get_secret_value() == "beta-pw-24"
    assert service.get("alpha-00").settings.password.get_secret_value() == "alpha-pw-0"


def test_threads_updating_one_record_lose_no_increment(tmp_path):
    store = Store(tmp_path / "s")

    def bump():
        for _ in range(20):
            store.update("counters", "hits", lambda old: {"n": (old or {"n": 0})["n"] + 1})

    threads = [threading.Thread(target=bump) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get("counters", "hits") == {"n": 100}


def test_store_records_and_failed_transactions(tmp_path):
    store = Store(tmp_path / "s")
    store.put("things", "a", {"v": 1})
    store.insert("things", "b", {"v": 2})
    with pytest.raises(AlreadyExistsError, match="'a' already exists"):
        store.insert("things", "a", {"v": 9})
    assert store.all("things") == {"a": {"v": 1}, "b": {"v": 2}}
    assert store.delete("things", "a") is True and store.delete("things", "a") is False
    store.update("things", "b", lambda old: None)
    assert store.get("things", "b") is None

    store.put("things", "keep", {"v": 1})
    before = store.path.read_bytes()
    with pytest.raises(RuntimeError):
        with store.transaction() as tx:
            tx.put("things", "keep", {"v": 2})
            tx.put("things", "new", {"v": 3})
            with store.transaction() as inner:  # joins the outer one
                assert inner.get("things", "new") == {"v": 3}
            raise RuntimeError("half-way")
    assert store.path.read_bytes() == before
    assert store.all("things") == {"keep": {"v": 1}}
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_store_locked_by_another_holder_times_out_with_a_clear_error(tmp_path):
    store = Store(tmp_path / "s", lock_timeout=0.2)
    store.put("t", "k", {})
    holder = FileLock(str(store.path) + ".lock")
    with holder:
        with pytest.raises(StorageError) as info:
            store.get("t", "k")
    assert info.value.field == "PLUGWIRE_HOME" and "locked by another process" in str(info.value)
    assert store.get("t", "k") == {}


def test_all_reads_the_last_committed_state_without_the_lock(tmp_path):
    store = Store(tmp_path / "s", lock_timeout=0.2)
    store.put("t", "a", {"v": 1})
    store.put("t", "b", {"v": 2})
    holder = FileLock(str(store.path) + ".lock")
    with holder:  # another process's transaction holds the lock
        assert store.all("t") == {"a": {"v": 1}, "b": {"v": 2}}
        assert store.all("none yet") == {}
        with pytest.raises(StorageError):
            store.get("t", "a")  # a transaction still waits for the lock
    with store.transaction() as tx:  # inside a transaction: its own, uncommitted view
        tx.put("t", "c", {"v": 3})
        tx.delete("t", "a")
        assert store.all("t") == {"b": {"v": 2}, "c": {"v": 3}}
        assert Store(tmp_path / "s").all("t") == {"a": {"v": 1}, "b": {"v": 2}}  # not committed yet
    assert store.all("t") == {"b": {"v": 2}, "c": {"v": 3}}
    assert not (tmp_path / "none").exists() and Store(tmp_path / "none").all("t") == {}


_PAIR_WRITER = textwrap.dedent(
    """
    import sys
    from plugwire.core.storage.store import Store

    store = Store(sys.argv[1])
    for i in range(1, int(sys.argv[2]) + 1):
        with store.transaction() as tx:  # two records and a growing one, always written together
            tx.put("pair", "left", {"n": i})
            tx.put("pair", "right", {"n": i})
            tx.put("pair", f"extra-{i}", {"pad": "x" * (i % 97)})
    """
)


def test_reads_without_the_lock_never_see_half_a_transaction(tmp_path):
    folder = tmp_path / "s"
    store = Store(folder)
    writer = subprocess.Popen([sys.executable, "-c", _PAIR_WRITER, str(folder), "300"],
                              env={**os.environ, "PLUGWIRE_TESTING": "1"})
    seen = set()
    try:
        while writer.poll() is None:
            pair = store.all("pair")
            if pair:
                n = pair["left"]["n"]
                assert pair["right"]["n"] == n and len(pair) == n + 2, n
                seen.add(n)
    finally:
        writer.wait(timeout=120)
    assert writer.returncode == 0
    assert store.all("pair")["left"] == {"n": 300} and len(seen) > 1  # the reads did overlap the writes


def test_corrupt_store_file_is_reported_plainly(tmp_path):
    store = Store(tmp_path / "s")
    store.path.write_text("{not json")
    with pytest.raises(StorageError, match="is not valid JSON") as info:
        store.all("connections")
    assert "PLUGWIRE_HOME" in str(info.value)


def _basic(name: str = "c", password: str = SECRET) -> dict:
    return {"name": name, "auth_type": "basic", "settings": {"username": "u", "password": password}}


def test_key_file_is_created_private_and_secrets_are_sealed(connections, home):
    connections.create(_basic())
    key = home.path / "secret.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    Fernet(key.read_bytes().strip())  # a valid key
    raw = home.store.path.read_text()
    assert SECRET not in raw
    record = json.loads(raw)["connections"]
    (doc,) = record.values()
    assert set(doc["settings"]["password"]) == {"$sealed"}
    assert connections.get("c").settings.password.get_secret_value() == SECRET


def test_environment_key_is_used_instead_of_a_key_file(tmp_path, monkeypatch):
    monkeypatch.setenv("PLUGWIRE_SECRET_KEY", Fernet.generate_key().decode())
    folder = tmp_path / "h"
    Connections(Home(folder)).create(_basic())
    assert not (folder / "secret.key").exists()
    assert Connections(Home(folder)).get("c").settings.password.get_secret_value() == SECRET
    assert SECRET not in (folder / "plugwire.json").read_text()


def test_wrong_key_gives_a_clear_error(tmp_path, monkeypatch):
    folder = tmp_path / "h"
    monkeypatch.setenv("PLUGWIRE_SECRET_KEY", Fernet.generate_key().decode())
    Connections(Home(folder)).create(_basic())
    monkeypatch.setenv("PLUGWIRE_SECRET_KEY", Fernet.generate_key().decode())
    with pytest.raises(StorageError) as info:
        Connections(Home(folder)).get("c")
    text = str(info.value)
    assert info.value.field == "PLUGWIRE_SECRET_KEY"
    assert "cannot be decrypted with the current key" in text and "secret.key" in text
    assert SECRET not in text


def test_malformed_environment_key_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("PLUGWIRE_SECRET_KEY", "not-a-fernet-key")
    with pytest.raises(StorageError, match="not a valid Fernet key") as info:
        Connections(Home(tmp_path / "h")).create(_basic())
    assert info.value.field == "PLUGWIRE_SECRET_KEY"


def test_wrong_key_in_the_cli_is_one_plain_line(tmp_path, monkeypatch, capsys):
    from plugwire.core.cli import main

    folder = tmp_path / "h"
    monkeypatch.setenv("PLUGWIRE_HOME", str(folder))
    Connections(Home(folder)).create(_basic())
    (folder / "secret.key").write_bytes(Fernet.generate_key())  # the key was replaced
    with pytest.raises(SystemExit) as info:
        main(["connections", "show", "c"])
    out, err = capsys.readouterr()
    assert info.value.code == 1 and out == ""
    assert err.startswith("Error: A stored secret cannot be decrypted") and "Traceback" not in err


def test_data_folder_comes_from_the_environment(tmp_path, monkeypatch):
    from plugwire.core.storage.home import default_home_path

    monkeypatch.setenv("PLUGWIRE_HOME", str(tmp_path / "x"))
    assert default_home_path() == tmp_path / "x"
    monkeypatch.delenv("PLUGWIRE_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_home_path() == tmp_path / "xdg" / "plugwire"


def test_unwritable_data_folder_names_the_variable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StorageError) as info:
        Store(Path(blocker) / "sub")
    assert info.value.field == "PLUGWIRE_HOME" and "PLUGWIRE_HOME" in str(info.value)


def test_store_watch_sees_each_write_once_and_forgets_on_demand(tmp_path):
    from plugwire.core.storage.store import Store, StoreWatch

    store = Store(tmp_path)
    watch = StoreWatch(store.path, refresh_seconds=0)
    assert watch.changed()  # the first look: nothing seen yet
    assert not watch.changed()
    store.put("t", "a", {"v": 1})  # replaced atomically: another inode
    assert watch.changed() and not watch.changed()
    watch.forget()
    assert watch.changed()
    slow = StoreWatch(store.path, refresh_seconds=60)
    assert slow.changed()
    store.put("t", "a", {"v": 2})
    assert not slow.changed()  # not looked at again within its refresh time
    slow.forget()
    assert slow.changed()
