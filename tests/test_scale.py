"""The server-grade deployment, as processes: several ``plugwire serve`` and ``plugwire
worker`` processes sharing a PostgreSQL database and a broker (Redis, RabbitMQ), and
what happens to acknowledged webhooks when parts of it die: every acknowledged
webhook ends as exactly one job, and no job sends its request twice."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time

import pytest
from pgutil import pg_url  # noqa: F401  (fixture)
from recipes_support import save_action
from scale_support import Deployment, PrivateRedis, TcpRelay, post_many, rabbit_vhost, wait_until
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from plugwire.core.recipes.model import Recipes
from plugwire.core.storage.home import Home

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def counting_api(live_server):
    """An API that counts each event id it is sent (``seen``); ``delay`` slows it down."""
    seen: dict[str, int] = {}
    lock = threading.Lock()
    settings = {"delay": 0.0}

    async def count(request: Request) -> Response:
        event_id = (await request.json())["event"]
        with lock:
            seen[event_id] = seen.get(event_id, 0) + 1
        if settings["delay"]:
            await asyncio.sleep(settings["delay"])
        return JSONResponse({"ok": True})

    server = live_server(Starlette(routes=[Route("/count", count, methods=["POST"])]))
    return server.url, seen, settings


@pytest.fixture
def deployments():
    """Make :class:`Deployment` objects, closed (and their logs printed, shown on a failure) after the test."""
    made: list[Deployment] = []

    def make(*args, **kw) -> Deployment:
        made.append(Deployment(*args, **kw))
        return made[-1]

    yield make
    for deploy in made:
        print(deploy.logs())
        deploy.close()


@pytest.fixture
def redis_broker():
    redis = PrivateRedis().start()
    yield redis
    redis.close()


def _recipe(home: Home, api_url: str, name: str = "burst", trigger: dict | None = None, pill: str = "trigger.event_id") -> str:
    save_action(home, "count", method="POST", url=f"{api_url}/count", body_format="json", body={"event": "x"},
                sample={"ok": True})
    recipes = Recipes(home)
    recipes.create({"name": name, "trigger": trigger or {"type": "webhook"},
                    "steps": [{"action": "count", "body": {"event": "{{%s}}" % pill}}]})
    return recipes.start(name).token


def _settled(jobs, n_min: int = 0):
    counts = jobs.counts()
    return not counts.get("pending") and not counts.get("running") and sum(counts.values()) >= n_min


def _all_run_once(home: Home, acked: list[str], seen: dict[str, int], *, allow_interrupted: bool = False,
                  timeout: float = 60) -> dict:
    """Wait for every job to end; check each acknowledged webhook became exactly one job
    and sent its request at most once; returns the acknowledged jobs' count by status."""
    jobs = home.jobs()
    try:
        wait_until(lambda: _settled(jobs, len(acked)), timeout, "every acknowledged job to run")
        return _check_exactly_once(jobs, acked, seen, allow_interrupted=allow_interrupted)
    finally:
        jobs.close()


def _check_exactly_once(jobs, acked: list[str], seen: dict[str, int], *, allow_interrupted: bool) -> dict:
    found = {j["id"]: j for j in jobs.list(limit=100_000)}
    assert len(set(acked)) == len(acked), "a job id was acknowledged twice"
    missing = set(acked) - set(found)
    assert not missing, f"{len(missing)} acknowledged webhook(s) have no job"
    assert all(n == 1 for n in seen.values()), f"requests sent twice: {[k for k, n in seen.items() if n > 1][:5]}"
    statuses = {}
    for job_id in acked:
        job = found[job_id]
        statuses[job["status"]] = statuses.get(job["status"], 0) + 1
        if job["status"] == "failed":
            assert allow_interrupted and job["error"].startswith("interrupted"), job["error"]
    # A job that succeeded sent its request; one that was interrupted may have sent it, once.
    assert {i for i, j in found.items() if j["status"] == "succeeded"} <= set(seen) <= set(found)
    return statuses


def _started(deploy: Deployment, servers: int, workers: int) -> list[str]:
    """Start ``servers`` servers and ``workers`` workers (two processes each); returns the servers' URLs."""
    urls = [deploy.serve() for _ in range(servers)]
    for _ in range(workers):
        deploy.worker(2)
    return urls


def test_two_servers_and_two_workers_over_redis_run_each_webhook_once(tmp_path, pg_url, redis_broker, counting_api, deployments):
    api_url, seen, _ = counting_api
    home = Home(tmp_path / "data", database=pg_url)
    token = _recipe(home, api_url)
    urls = _started(deployments(home.path, pg_url, redis_broker.url), 2, 2)
    acked, statuses = asyncio.run(post_many(urls, token, 400))
    assert statuses == {202: 400}
    assert _all_run_once(home, acked, seen) == {"succeeded": 400}
    assert len(seen) == 400


def test_workers_over_rabbitmq(tmp_path, pg_url, counting_api, deployments):
    api_url, seen, _ = counting_api
    home = Home(tmp_path / "data", database=pg_url)
    token = _recipe(home, api_url)
    with rabbit_vhost() as amqp_url:
        deploy = deployments(home.path, pg_url, amqp_url)
        url = deploy.serve()
        deploy.worker(2)
        acked, statuses = asyncio.run(post_many([url], token, 150))
        assert statuses == {202: 150}
        assert _all_run_once(home, acked, seen) == {"succeeded": 150}
        deploy.close()  # before the vhost goes


def test_kill_9_of_a_worker_mid_burst_interrupts_its_jobs_and_the_other_runs_the_rest(tmp_path, pg_url, redis_broker, counting_api, deployments):
    api_url, seen, settings = counting_api
    settings["delay"] = 0.05  # jobs are in flight when the worker dies
    home = Home(tmp_path / "data", database=pg_url)
    token = _recipe(home, api_url)
    deploy = deployments(home.path, pg_url, redis_broker.url)
    url = deploy.serve()
    doomed = deploy.worker(2)
    deploy.worker(2)
    killed = threading.Event()

    def on_ack(n: int) -> None:
        if n == 100 and not killed.is_set():
            killed.set()
            threading.Thread(target=deploy.kill9, args=(doomed,), daemon=True).start()

    acked, statuses = asyncio.run(post_many([url], token, 400, on_ack=on_ack))
    assert statuses == {202: 400} and killed.is_set()
    result = _all_run_once(home, acked, seen, allow_interrupted=True, timeout=90)
    assert result.get("succeeded", 0) >= 300, result


def test_a_broker_restart_loses_no_acknowledged_event(tmp_path, pg_url, redis_broker, counting_api, deployments):
    api_url, seen, _ = counting_api
    home = Home(tmp_path / "data", database=pg_url)
    token = _recipe(home, api_url)
    deploy = deployments(home.path, pg_url, redis_broker.url)
    url = deploy.serve()
    # No worker yet: the messages wait in Redis, which then restarts with nothing
    # kept, so every one of them is lost. The sweep publishes the jobs again.
    acked, statuses = asyncio.run(post_many([url], token, 200))
    assert statuses == {202: 200}
    jobs = home.jobs()
    wait_until(lambda: _published(pg_url) >= 200, 10, "the dispatcher to publish the jobs")
    jobs.close()
    redis_broker.kill()
    redis_broker.start()
    deploy.worker(2)
    assert _all_run_once(home, acked, seen) == {"succeeded": 200}


def test_kill_9_of_one_of_two_servers_during_a_burst(tmp_path, pg_url, redis_broker, counting_api, deployments):
    api_url, seen, _ = counting_api
    home = Home(tmp_path / "data", database=pg_url)
    token = _recipe(home, api_url)
    deploy = deployments(home.path, pg_url, redis_broker.url)
    urls = _started(deploy, 2, 1)
    victim = deploy.servers[0][0]

    def on_ack(n: int) -> None:
        if n == 150:
            os.kill(victim.pid, signal.SIGKILL)

    acked, statuses = asyncio.run(post_many(urls, token, 600, on_ack=on_ack))
    assert statuses.get(202) == len(acked) and len(acked) >= 300  # the survivor kept answering
    assert _all_run_once(home, acked, seen) == {"succeeded": len(acked)}


def test_while_postgresql_is_away_webhooks_get_503_and_the_server_recovers(tmp_path, pg_url, redis_broker, counting_api, deployments):
    from urllib.parse import urlsplit

    api_url, seen, _ = counting_api
    home = Home(tmp_path / "data", database=pg_url)
    token = _recipe(home, api_url)
    parts = urlsplit(pg_url)
    relay = TcpRelay(parts.hostname or "127.0.0.1", parts.port or 5432).start()
    relayed = pg_url.replace(f"{parts.hostname}:{parts.port or 5432}", f"127.0.0.1:{relay.port}", 1)
    assert relayed != pg_url
    try:
        deploy = deployments(home.path, relayed, redis_broker.url)
        url = deploy.serve()
        deploy.worker(2)
        before, _ = asyncio.run(post_many([url], token, 50))
        jobs = home.jobs()
        wait_until(lambda: _settled(jobs, 50), 30, "the first jobs to run (the worker is up)")
        jobs.close()
        relay.cut()
        during, statuses = asyncio.run(post_many([url], token, 8, concurrency=8))
        assert not during and set(statuses) == {503}, statuses  # never acknowledged while it cannot commit
        relay.mend()
        after = wait_until(lambda: time.sleep(0.3) or asyncio.run(post_many([url], token, 1))[0], 30, "the server to recover on its own")
        more, statuses = asyncio.run(post_many([url], token, 50))
        assert statuses == {202: 50}
        _all_run_once(home, before + after + more, seen, allow_interrupted=True)
    finally:
        relay.close()


def test_one_scheduler_across_servers_and_another_takes_over_when_the_leader_dies(tmp_path, pg_url, redis_broker, counting_api, deployments):
    api_url, seen, _ = counting_api
    home = Home(tmp_path / "data", database=pg_url)
    _recipe(home, api_url, "tick", {"type": "scheduler", "config": {"interval_seconds": 1}}, "trigger.scheduled_at")
    deploy = deployments(home.path, pg_url, redis_broker.url)
    deploy.serve()
    deploy.serve()
    deploy.worker(1)
    jobs = home.jobs()
    try:
        wait_until(lambda: len(jobs.list(limit=1000)) >= 4, 20, "four ticks")
        leader = wait_until(lambda: _leader(deploy), 10, "one server to say it leads")
        os.kill(leader.pid, signal.SIGKILL)
        n_at_kill = len(jobs.list(limit=1000))
        wait_until(lambda: len(jobs.list(limit=1000)) >= n_at_kill + 3, 20, "the schedule to fire under the new leader")
        wait_until(lambda: _leader(deploy), 10, "the other server to lead")
        wait_until(lambda: _settled(jobs), 20, "the ticks to run")
        events = [jobs.get(j["id"])["event"]["event_id"] for j in jobs.list(limit=1000)]
        assert len(events) == len(set(events)), "a slot fired twice"
        assert all(n == 1 for n in seen.values())
    finally:
        jobs.close()


def _published(database_url: str) -> int:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM plugwire_jobs WHERE published_at IS NOT NULL").fetchone()[0]


def _leader(deploy: Deployment):
    import httpx2

    leaders = []
    for proc, url in deploy.servers:
        if proc.poll() is None:
            r = httpx2.get(f"{url}/api/status", headers={"Authorization": "Bearer scale-test-token"}, timeout=2)
            if r.status_code == 200 and r.json().get("leader"):
                leaders.append(proc)
    assert len(leaders) <= 1, "two servers lead at once"
    return leaders[0] if leaders else None
