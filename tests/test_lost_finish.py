"""A write the job store lost does not leave a job 'running' until the next restart.

A real ``plugwire serve`` process runs a webhook recipe whose step calls a local API.
With the embedded store, the job store's writer process (its child) is killed -9 at a
chosen moment by ``PLUGWIRE_TEST_WRITER_DIES``: on the batch holding a job's outcome
(before its commit) or its start (after its commit, the answer lost). With PostgreSQL,
the database refuses the outcome (a trigger). Either way the job settles within the
bound (``PLUGWIRE_STALE_SECONDS``): its real outcome once the write goes through, or
'interrupted' saying why, never run twice; and the server keeps taking webhooks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from conftest import free_port
from pgutil import pg_url  # noqa: F401  (a fixture)
from plugwire.core.recipes.model import Recipes
from plugwire.core.storage.home import Home
from plugwire.core.storage.jobprocess import DIES_ENV
from recipes_support import save_action, wait_for

TOKEN = "lost-finish-api-token"
BOUND = 2.0  # PLUGWIRE_STALE_SECONDS for these servers


@pytest.fixture
def target(live_server):
    """A local API that counts the requests of each event."""
    seen: dict[str, int] = {}

    async def count(request: Request) -> JSONResponse:
        event_id = (await request.json())["event"]
        seen[event_id] = seen.get(event_id, 0) + 1
        return JSONResponse({"ok": True})

    server = live_server(Starlette(routes=[Route("/count", count, methods=["POST"])]))
    server.seen = seen
    return server


def _recipe(home: Home, target_url: str) -> str:
    save_action(home, "count", method="POST", url=f"{target_url}/count", body_format="json", body={"event": "x"}, sample={"ok": True})
    recipes = Recipes(home)
    recipes.create({"name": "counted", "trigger": {"type": "webhook"},
                    "steps": [{"action": "count", "body": {"event": "{{trigger.event_id}}"}}]})
    return recipes.start("counted").token


@contextmanager
def _serve(home: Home, **env: str) -> Iterator[httpx2.Client]:
    """Run ``plugwire serve`` on the data folder; yields a client with the API token."""
    port = free_port()
    full = {**os.environ, "PLUGWIRE_HOME": str(home.path), "PLUGWIRE_API_TOKEN": TOKEN,
            "PLUGWIRE_STALE_SECONDS": str(BOUND), **env}
    cmd = [sys.executable, "-c", "from plugwire.core.cli import main; main()", "serve", "--port", str(port), "--no-network-policy"]
    proc = subprocess.Popen(cmd, env=full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    client = httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=10, headers={"Authorization": f"Bearer {TOKEN}"})

    def up() -> bool:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "the server exited"
        try:
            return client.get("/health", timeout=0.5).status_code == 200
        except httpx2.HTTPError:
            return False

    try:
        wait_for(up, 30, "plugwire serve to start")
        yield client
    finally:
        client.close()
        proc.kill()
        proc.wait(timeout=10)
        if proc.stderr:
            proc.stderr.close()


def _job(client: httpx2.Client, job_id: str) -> dict:
    return client.get(f"/api/jobs/{job_id}").json()


def _settled(client: httpx2.Client, job_id: str, timeout: float) -> tuple[dict, float]:
    """Wait until the job is neither pending nor running; returns it and how long it took."""
    t0 = time.monotonic()
    def settled() -> dict | None:
        job = _job(client, job_id)
        return job if job.get("status") in ("succeeded", "failed") else None

    job = wait_for(settled, timeout, f"job {job_id} to settle")
    return job, time.monotonic() - t0


def _hook(client: httpx2.Client, token: str, n: int) -> str:
    answer = client.post(f"/hooks/{token}", json={"n": n})
    assert answer.status_code == 202, answer.text
    return answer.headers["x-plugwire-job"]


def _rule(tmp_path, text: str) -> str:
    path = tmp_path / "writer-dies"
    path.write_text(text)
    return str(path)


def test_an_outcome_lost_with_the_writer_is_written_again(home, target, tmp_path):
    """The writer dies on the batch holding the outcome, before its commit: the server
    writes it again through a new writer, so the job ends as it ran (succeeded)."""
    token = _recipe(home, target.url)
    rule = _rule(tmp_path, "finish before 1")
    with _serve(home, **{DIES_ENV: rule}) as client:
        job_id = _hook(client, token, 1)
        job, took = _settled(client, job_id, 10 * BOUND)
        assert Path(rule).read_text() == "finish before 0"  # the writer did die on it
        assert job["status"] == "succeeded" and job["error"] is None and took < 2 * BOUND
        assert job["steps"] and target.seen == {job["event"]["event_id"]: 1}
        after = _hook(client, token, 2)  # a new writer takes webhooks and outcomes
        assert _settled(client, after, 10 * BOUND)[0]["status"] == "succeeded"


def test_an_outcome_that_cannot_be_written_ends_the_job_as_interrupted(home, target, tmp_path):
    """Every writer dies on the outcome: past the bound the job is marked interrupted
    (written on a connection of its own), saying it ran and what was lost; webhooks are still taken."""
    token = _recipe(home, target.url)
    rule = _rule(tmp_path, "finish before 1000")
    with _serve(home, **{DIES_ENV: rule}) as client:
        job_id = _hook(client, token, 1)
        job, took = _settled(client, job_id, 10 * BOUND)
        assert job["status"] == "failed" and took < BOUND + 5
        assert job["error"].startswith("interrupted: the job ran to its end (succeeded)"), job["error"]
        assert "outcome was not stored" in job["error"] and "not run again" in job["error"]
        assert target.seen == {job["event"]["event_id"]: 1}
        after = _hook(client, token, 2)
        assert _settled(client, after, 10 * BOUND)[0]["status"] == "failed"  # its outcome lost the same way
        assert len(target.seen) == 2 and set(target.seen.values()) == {1}


def test_a_start_committed_with_its_answer_lost_runs_the_job_once(home, target, tmp_path):
    """The writer dies after committing a job's take, before answering: the job is
    'running' in the store and nobody runs it. The server puts it back and runs it, once."""
    token = _recipe(home, target.url)
    rule = _rule(tmp_path, "take after 1")
    with _serve(home, **{DIES_ENV: rule}) as client:
        job_id = _hook(client, token, 1)
        job, _ = _settled(client, job_id, 10 * BOUND)
        assert Path(rule).read_text() == "take after 0"
        assert job["status"] == "succeeded" and target.seen == {job["event"]["event_id"]: 1}


def test_postgresql_outcome_refused_ends_the_job_as_interrupted(tmp_path, target, pg_url, monkeypatch):  # noqa: F811
    """With PostgreSQL the outcome is written by the server itself; a database that refuses
    it leaves the same trace: written again until the bound, then interrupted."""
    import psycopg

    monkeypatch.setenv("PLUGWIRE_HOME", str(tmp_path / "pg-home"))
    home = Home(tmp_path / "pg-home", database=pg_url)
    token = _recipe(home, target.url)
    with _serve(home, PLUGWIRE_DATABASE_URL=pg_url) as client:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("CREATE FUNCTION refuse_outcome() RETURNS trigger AS $$ BEGIN "
                         "RAISE EXCEPTION 'outcome refused by the test'; END $$ LANGUAGE plpgsql")
            conn.execute("CREATE TRIGGER refuse BEFORE UPDATE ON plugwire_jobs FOR EACH ROW "
                         "WHEN (NEW.status = 'succeeded') EXECUTE FUNCTION refuse_outcome()")
        job_id = _hook(client, token, 1)
        job, took = _settled(client, job_id, 10 * BOUND)
        assert job["status"] == "failed" and took < BOUND + 5
        assert job["error"].startswith("interrupted: the job ran to its end (succeeded)") and "refused by the test" in job["error"]
        assert target.seen == {job["event"]["event_id"]: 1}
        assert _hook(client, token, 2)
    home.store.close()
