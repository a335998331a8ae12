"""The job store's writer process, seen from a real ``plugwire serve`` (issue 17
items 5 and 7).

Acknowledged only after commit: with the embedded store, the writer process (the
server's child) is made to die on every batch holding a webhook's job, before its
commit (``PLUGWIRE_TEST_WRITER_DIES``). No webhook may then be answered with a 2xx,
and none of them may be in the store; the moment the writer commits again, a webhook
is acknowledged and its job is there. An intake that answers before the commit is
known (the insert not awaited) answers 202 for jobs that were never stored.

The writer exits when the server dies: after ``kill -9`` of the server, its writer
reads the end of its pipe and exits, checked by its pid with a deadline.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from plugwire.core.storage.jobprocess import DIES_ENV
from plugwire.core.storage.jobs import JobStore
from recipes_support import wait_for
from test_lost_finish import _recipe, _rule, _serve, _settled, target  # noqa: F401  (target: a fixture)

WRITER_MODULE = "plugwire.core.storage.jobprocess"


def test_no_webhook_is_acknowledged_while_its_job_is_not_committed(home, target, tmp_path):  # noqa: F811
    """Catches an acknowledgement sent before the commit: every writer dies before
    committing an insert, so every answer is a 503 and the store holds no job."""
    token = _recipe(home, target.url)
    rule = _rule(tmp_path, "insert before 1000")
    with _serve(home, **{DIES_ENV: rule}) as client:
        for n in range(3):
            answer = client.post(f"/hooks/{token}", json={"n": n})
            assert answer.status_code == 503, (answer.status_code, answer.text)
            assert "x-plugwire-job" not in answer.headers and "send it again" in answer.json()["error"]
        assert Path(rule).read_text() == "insert before 997"  # a writer died on each of them
        assert client.get("/api/jobs").json() == [] and target.seen == {}
        Path(rule).write_text("insert before 0")  # the writer commits again
        answer = client.post(f"/hooks/{token}", json={"n": 3})
        assert answer.status_code == 202, answer.text
        job, _ = _settled(client, answer.headers["x-plugwire-job"], 20)
        assert job["status"] == "succeeded" and job["event"]["payload"] == {"n": 3}
    store = JobStore(home.path)
    try:
        assert [store.get(j["id"])["event"]["payload"] for j in store.list(limit=100)] == [{"n": 3}]
    finally:
        store.close()


def _writers_of(home) -> dict[int, int]:
    """The writer processes of ``home``'s job store (the store's path is in their
    command line): pid -> parent pid, from /proc."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            line = _cmdline(int(entry))
            if WRITER_MODULE in line and str(home.path) in line:
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                found[int(entry)] = int(stat.rpartition(")")[2].split()[1])
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _gone(pid: int) -> bool:
    """True once ``pid`` has exited (a zombie waiting for its new parent counts as exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] in ("Z", "X")


def test_the_writer_exits_when_the_server_is_killed(home, target):  # noqa: F811
    """Catches a writer that outlives its server (one that does not stop at the end of
    its pipe): after kill -9 of ``plugwire serve``, its writer process is gone within
    the deadline."""
    token = _recipe(home, target.url)
    writer = None
    try:
        with _serve(home) as client:
            answer = client.post(f"/hooks/{token}", json={"n": 1})
            assert answer.status_code == 202, answer.text
            _settled(client, answer.headers["x-plugwire-job"], 20)
            writers = {pid: parent for pid, parent in _writers_of(home).items() if not _gone(pid)}
            assert len(writers) == 1, writers
            (writer, server_pid), = writers.items()
            assert "serve" in _cmdline(server_pid)
            os.kill(server_pid, signal.SIGKILL)
            wait_for(lambda: _gone(writer), 15, f"the writer process {writer} to exit after its server's kill -9")
    finally:
        if writer is not None and not _gone(writer):
            os.kill(writer, signal.SIGKILL)  # the leftover this test is about; never kept past it
