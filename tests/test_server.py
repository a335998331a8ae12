"""The server against real local APIs: the seed's story, schedules, signatures,
retries, secrets, the JSON API, and a kill -9 in the middle of a burst."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from conftest import free_port
from plugwire.core.connections.model import Connections
from plugwire.core.recipes.model import Recipes
from recipes_support import API_TOKEN, finished_job, plugwire_server, save_action, wait_for
from test_triggers import standard_headers
from venue_api import make_app

TOKEN = "eb-oauth-token-5f3a9c1e77"
JIRA_TOKEN = "jira-api-token-9b8c7d6e5f"
VENUE_SAMPLE = {"id": "52041000", "name": "Example Hall", "address": {"city": "San Francisco", "country": "US"}}


@pytest.fixture
def venue_api(live_server):
    app = make_app(token=TOKEN, jira_token=JIRA_TOKEN)
    server = live_server(app)
    server.received = app.state.received
    return server


def _seed_recipe(home, api_url: str, **trigger_config) -> object:
    Connections(home).create({"name": "eventbrite", "auth_type": "header",
                              "settings": {"headers": {"Authorization": f"Bearer {TOKEN}"}}})
    save_action(home, "create_venue", connection="eventbrite", method="POST",
                url=f"{api_url}/v3/organizations/42/venues/", body_format="json",
                body={"venue": {"name": "Example Hall", "address": {"country": "US"}}}, sample=VENUE_SAMPLE)
    recipes = Recipes(home)
    recipes.create({
        "name": "new venue",
        "trigger": {"type": "webhook", "config": {"sample_payload": {"venue": {"name": "Hall", "city": "Paris", "country": "FR", "seats": 10}}, **trigger_config}},
        "steps": [{"action": "create_venue", "body": {"venue": {
            "name": "{{trigger.payload.venue.name}}", "capacity": "{{trigger.payload.venue.seats}}",
            "address": {"city": "{{trigger.payload.venue.city}}", "country": "{{trigger.payload.venue.country}}"}}}}],
    })
    return recipes.start("new venue")


def test_seed_story_webhook_creates_a_venue_through_datapills(home, venue_api):
    recipe = _seed_recipe(home, venue_api.url)
    with plugwire_server(home) as (state, url):
        answer = httpx2.post(f"{url}/hooks/{recipe.token}?source=crm",
                             json={"venue": {"name": "Blue Hall", "city": "Lyon", "country": "FR", "seats": 250}})
        assert answer.status_code == 202 and answer.json() == {"accepted": True}
        job = finished_job(state, answer.headers["x-plugwire-job"])
    assert job["status"] == "succeeded", job["error"]
    sent = json.loads(venue_api.received[-1]["body"])
    assert sent == {"venue": {"name": "Blue Hall", "capacity": 250, "address": {"city": "Lyon", "country": "FR"}}}
    assert job["event"]["query"] == {"source": "crm"}
    step = job["steps"][0]
    assert step["input"]["method"] == "POST" and step["input"]["body"] == sent
    assert step["input"]["headers"]["Authorization"] == "Bearer ••••••"
    assert step["output"]["status"] == 200 and step["output"]["body"]["name"] == "Blue Hall"
    assert TOKEN not in json.dumps(job)


def test_a_missing_value_fails_the_job_naming_the_field(home, venue_api):
    recipe = _seed_recipe(home, venue_api.url)
    with plugwire_server(home) as (state, url):
        answer = httpx2.post(f"{url}/hooks/{recipe.token}", json={"venue": {"name": "No City", "country": "FR", "seats": 1}})
        job = finished_job(state, answer.headers["x-plugwire-job"])
    assert job["status"] == "failed" and not venue_api.received
    assert "'trigger.payload.venue.city'" in job["error"] and "create_venue" in job["error"]
    assert job["steps"][0]["field"] == "trigger.payload.venue.city"


def test_stopped_recipes_and_unknown_urls_refuse_events(home, venue_api):
    recipe = _seed_recipe(home, venue_api.url)
    Recipes(home).stop("new venue")
    with plugwire_server(home) as (state, url):
        stopped = httpx2.post(f"{url}/hooks/{recipe.token}", json={})
        assert stopped.status_code == 409 and "stopped" in stopped.json()["error"]
        assert httpx2.post(f"{url}/hooks/not-a-token", json={}).status_code == 404
        Recipes(home).start("new venue")  # from outside the server: seen within a quarter second
        wait_for(lambda: httpx2.post(f"{url}/hooks/{recipe.token}", json={"venue": {}}).status_code == 202, what="the started recipe")
        assert sum(state.jobs.counts().values()) == 1


def test_signatures_through_the_server(home, venue_api):
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    recipe = _seed_recipe(home, venue_api.url, signature={"scheme": "standard-webhooks", "secret": secret})
    Connections(home)  # the second recipe signs with a shared HMAC secret
    recipes = Recipes(home)
    recipes.create({"name": "hmac", "trigger": {"type": "webhook", "config": {
        "signature": {"scheme": "hmac-sha256", "secret": "hmac-shared-secret", "header": "X-Signature", "prefix": "sha256="}}},
        "steps": []})
    hmac_recipe = recipes.start("hmac")
    body = json.dumps({"venue": {"name": "Signed", "city": "Oslo", "country": "NO", "seats": 5}}).encode()
    with plugwire_server(home) as (state, url):
        good = httpx2.post(f"{url}/hooks/{recipe.token}", content=body, headers={"content-type": "application/json", **standard_headers(secret, body, "msg_A")})
        again = httpx2.post(f"{url}/hooks/{recipe.token}", content=body, headers={"content-type": "application/json", **standard_headers(secret, body, "msg_A")})
        bad = httpx2.post(f"{url}/hooks/{recipe.token}", content=body + b" ", headers={"content-type": "application/json", **standard_headers(secret, body, "msg_B")})
        missing = httpx2.post(f"{url}/hooks/{recipe.token}", content=body, headers={"content-type": "application/json"})
        assert (good.status_code, bad.status_code, missing.status_code) == (202, 401, 401)
        assert again.headers["x-plugwire-job"] == good.headers["x-plugwire-job"]  # a re-delivery is one job
        sig = "sha256=" + hmac.new(b"hmac-shared-secret", body, hashlib.sha256).hexdigest()
        assert httpx2.post(f"{url}/hooks/{hmac_recipe.token}", content=body, headers={"X-Signature": sig}).status_code == 202
        assert httpx2.post(f"{url}/hooks/{hmac_recipe.token}", content=body, headers={"X-Signature": "sha256=00"}).status_code == 401
        assert httpx2.post(f"{url}/hooks/{hmac_recipe.token}", content=body).status_code == 401
        finished_job(state, good.headers["x-plugwire-job"])
    assert len(state.jobs.list(recipe="new venue")) == 1 and len(state.jobs.list(recipe="hmac")) == 1


def test_scheduler_recipe_lists_jira_projects_with_basic_auth(home, venue_api):
    Connections(home).create({"name": "jira", "auth_type": "basic", "settings": {"username": "jira@example.com", "password": JIRA_TOKEN}})
    save_action(home, "list_projects", connection="jira", method="GET", url=f"{venue_api.url}/rest/api/2/project",
                sample=[{"id": "10000", "key": "OPS", "name": "Operations"}])
    recipes = Recipes(home)
    recipes.create({"name": "projects", "trigger": {"type": "scheduler", "config": {"interval_seconds": 3600}},
                    "steps": [{"action": "list_projects", "query": {"since": "{{trigger.scheduled_at}}"}}]})
    recipes.start("projects")
    with plugwire_server(home) as (state, url):
        jobs = wait_for(lambda: [j for j in state.jobs.list(recipe="projects") if j["status"] in ("succeeded", "failed")], what="the first scheduled job")
    job = state.jobs.get(jobs[0]["id"])
    assert job["status"] == "succeeded", job["error"]
    assert len(state.jobs.list(recipe="projects")) == 1  # once as soon as it starts, then hourly
    step = job["steps"][0]
    assert [p["key"] for p in step["output"]["body"]] == ["OPS", "WEB"]
    assert step["input"]["headers"]["Authorization"] == "Basic ••••••"
    assert step["input"]["query"]["since"] == job["event"]["scheduled_at"]
    assert JIRA_TOKEN not in json.dumps(job) and base64.b64encode(f"jira@example.com:{JIRA_TOKEN}".encode()).decode() not in json.dumps(job)


# -- retries --------------------------------------------------------------------------------
@pytest.fixture
def flaky_api(live_server):
    """/429 answers 429 Retry-After: 1 once, /503 and /slow fail once, then all answer 200.
    The first /slow request is held until the test ends (its client has long timed out)."""
    hits: dict[str, list[float]] = {}
    release = threading.Event()

    async def endpoint(request: Request) -> Response:
        kind = request.path_params["kind"]
        seen = hits.setdefault(f"{request.method} {kind}", [])
        seen.append(time.monotonic())
        if len(seen) == 1:
            if kind == "429":
                return JSONResponse({"error": "slow down"}, status_code=429, headers={"Retry-After": "1"})
            if kind == "503":
                return JSONResponse({"error": "unavailable"}, status_code=503)
            if kind == "slow":
                while not release.is_set():
                    await asyncio.sleep(0.01)
        return JSONResponse({"ok": True, "attempt": len(seen)})

    server = live_server(Starlette(routes=[Route("/{kind}", endpoint, methods=["GET", "POST"])]))
    server.hits = hits
    yield server
    release.set()  # the held /slow handlers end, so the server stops at once


def test_retries_follow_the_policy(home, flaky_api):
    retry = {"max_attempts": 3, "backoff": 0.05}
    for name, method, path, extra in [("get429", "GET", "429", {}), ("get503", "GET", "503", {}), ("getslow", "GET", "slow", {"timeout": 0.3}),
                                      ("post503", "POST", "503", {}), ("postretry", "POST", "slow", {"timeout": 0.3, "retry": {**retry, "retry_non_idempotent": True}})]:
        save_action(home, name, method=method, url=f"{flaky_api.url}/{path}", retry=extra.pop("retry", retry), sample={"ok": True},
                    **({"body_format": "json", "body": {}} if method == "POST" else {}), **extra)
    recipes = Recipes(home)
    for name in ("get429", "get503", "getslow", "post503", "postretry"):
        recipes.create({"name": name, "trigger": {"type": "webhook"}, "steps": [{"action": name}]})
        recipes.start(name)
    with plugwire_server(home) as (state, url):
        ids = {r.name: httpx2.post(f"{url}/hooks/{r.token}", json={}).headers["x-plugwire-job"] for r in recipes.list()}
        jobs = {name: finished_job(state, job_id, timeout=15) for name, job_id in ids.items()}
    steps = {name: job["steps"][0] for name, job in jobs.items()}
    assert jobs["get429"]["status"] == "succeeded" and steps["get429"]["attempts"] == 2
    first, second = flaky_api.hits["GET 429"]
    assert second - first >= 0.95  # Retry-After: 1 was honoured
    assert jobs["get503"]["status"] == "succeeded" and steps["get503"]["attempts"] == 2
    assert jobs["getslow"]["status"] == "succeeded" and steps["getslow"]["attempts"] == 2
    # A POST is not retried by default: one request, and the job failed with the 503.
    assert jobs["post503"]["status"] == "failed" and steps["post503"]["attempts"] == 1
    assert len(flaky_api.hits["POST 503"]) == 1 and steps["post503"]["output"]["status"] == 503
    # ...unless its action says so.
    assert jobs["postretry"]["status"] == "succeeded" and steps["postretry"]["attempts"] == 2


# -- secrets and the JSON API ---------------------------------------------------------------
def test_json_api_with_token_and_no_secret_anywhere(home, venue_api, monkeypatch, capsys):
    recipe = _seed_recipe(home, venue_api.url, signature={"scheme": "hmac-sha256", "secret": "planted-hook-secret-77"})
    with plugwire_server(home) as (state, url):
        body = json.dumps({"venue": {"name": "API Hall", "city": "Rome", "country": "IT", "seats": 9}}).encode()
        sig = hmac.new(b"planted-hook-secret-77", body, hashlib.sha256).hexdigest()
        job_id = httpx2.post(f"{url}/hooks/{recipe.token}", content=body, headers={"X-Signature-256": sig, "Authorization": "Bearer sender-planted-secret", "Content-Type": "application/json"}).headers["x-plugwire-job"]
        finished_job(state, job_id)
        assert httpx2.get(f"{url}/api/jobs").status_code == 401
        auth = {"Authorization": f"Bearer {API_TOKEN}"}
        answers = {path: httpx2.get(f"{url}{path}", headers=auth) for path in
                   ("/api/connections", "/api/actions", "/api/recipes", "/api/jobs", f"/api/jobs/{job_id}", "/api/recipes/new venue")}
        assert all(a.status_code == 200 for a in answers.values()), {p: a.text for p, a in answers.items()}
        assert answers[f"/api/jobs/{job_id}"].json()["status"] == "succeeded", answers[f"/api/jobs/{job_id}"].json()["error"]
        assert answers["/api/recipes/new venue"].json()["webhook_url"] == f"{url}/hooks/{recipe.token}"
        created = httpx2.post(f"{url}/api/connections", headers=auth, json={"name": "api-made", "auth_type": "basic", "settings": {"username": "u", "password": "posted-planted-pw"}})
        assert created.status_code == 201 and created.json()["settings"]["password"] == "••••••"
        bad = httpx2.post(f"{url}/api/recipes", headers=auth, json={"name": "bad", "trigger": {"type": "webhook"}, "steps": [{"action": "create_venue", "body": "{{trigger.payload.nope}}"}]})
        assert bad.status_code == 422 and bad.json()["field"] == "steps.create_venue.body"
        stopped = httpx2.post(f"{url}/api/recipes/new venue/stop", headers=auth)
        assert stopped.status_code == 201 and stopped.json()["status"] == "stopped"
        everything = " ".join(a.text for a in answers.values()) + created.text
    from plugwire.core.cli import main

    monkeypatch.setenv("COLUMNS", "200")
    for args in (["jobs", "show", job_id], ["jobs", "show", job_id, "--json"], ["jobs", "list"], ["recipes", "show", "new venue", "--json"]):
        with pytest.raises(SystemExit) as info:
            main(args)
        assert info.value.code == 0
    shown = capsys.readouterr().out
    assert "Input" in shown and "Output" in shown and "API Hall" in shown
    planted = [TOKEN, "planted-hook-secret-77", "sender-planted-secret", "posted-planted-pw"]
    raw_store = (home.path / "plugwire.json").read_text() + (home.path / "jobs.sqlite3").read_bytes().decode("latin-1")
    for secret in planted:
        for where, text in (("API", everything), ("CLI", shown), ("job record", json.dumps(state.jobs.get(job_id))), ("store files", raw_store)):
            assert secret not in text, f"{secret} leaked into the {where}"


# -- kill -9 during a burst -----------------------------------------------------------------
def test_kill_9_during_a_burst_loses_no_acknowledged_event_and_runs_none_twice(home, live_server, tmp_path):
    seen: dict[str, int] = {}

    async def count(request: Request) -> Response:
        event_id = (await request.json())["event"]
        seen[event_id] = seen.get(event_id, 0) + 1
        return JSONResponse({"ok": True})

    target = live_server(Starlette(routes=[Route("/count", count, methods=["POST"])]))
    save_action(home, "count", method="POST", url=f"{target.url}/count", body_format="json", body={"event": "x"}, sample={"ok": True})
    recipes = Recipes(home)
    recipes.create({"name": "burst", "trigger": {"type": "webhook"}, "steps": [{"action": "count", "body": {"event": "{{trigger.event_id}}"}}]})
    token = recipes.start("burst").token
    port = free_port()
    env = {**os.environ, "PLUGWIRE_HOME": str(home.path), "PLUGWIRE_API_TOKEN": "t"}
    cmd = [sys.executable, "-c", "from plugwire.core.cli import main; main()", "serve", "--port", str(port), "--no-network-policy"]
    url = f"http://127.0.0.1:{port}"

    def start() -> subprocess.Popen:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: _up(url), 15, "plugwire serve to start")
        return proc

    proc = start()
    acknowledged: list[str] = []

    async def burst() -> None:
        async with httpx2.AsyncClient(timeout=5) as client:
            async def one(n: int) -> None:
                try:
                    r = await client.post(f"{url}/hooks/{token}", json={"n": n})
                except httpx2.HTTPError:
                    return  # not acknowledged: the sender would retry
                if r.status_code == 202:
                    acknowledged.append(r.headers["x-plugwire-job"])
                    if len(acknowledged) == 150:
                        os.kill(proc.pid, signal.SIGKILL)

            await asyncio.gather(*(one(n) for n in range(600)))

    try:
        asyncio.run(burst())
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL and len(acknowledged) >= 150
        proc = start()  # the restart resumes what was pending
        from plugwire.core.storage.jobs import JobStore

        store = JobStore(home.path)
        wait_for(lambda: not store.counts().get("pending") and not store.counts().get("running"), 15, "pending jobs to be resumed")
        jobs = {j["id"]: j for j in store.list(limit=10_000)}
        store.close()
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert len(set(acknowledged)) == len(acknowledged)
    assert set(acknowledged) <= set(jobs)  # every acknowledged webhook has its job
    assert all(n == 1 for n in seen.values())  # and no job sent its request twice
    for job_id in acknowledged:
        assert jobs[job_id]["status"] in ("succeeded", "failed")
        if jobs[job_id]["status"] == "failed":
            assert jobs[job_id]["error"].startswith("interrupted")
    # Each succeeded job sent its request (once); a job cut short by the kill may
    # have sent it before dying, and is then failed as interrupted, never re-run.
    assert {i for i, j in jobs.items() if j["status"] == "succeeded"} <= set(seen) <= set(jobs)


def _up(url: str) -> bool:
    try:
        return httpx2.get(f"{url}/health", timeout=0.5).status_code == 200
    except httpx2.HTTPError:
        return False


def test_oauth2_callback_through_the_server(home, connections, live_server, monkeypatch):
    from oauth_provider import OAuthProvider
    from test_oauth2 import SECRET, add_oauth2, browse

    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    provider = OAuthProvider()
    provider.url = live_server(provider.app).url
    with plugwire_server(home) as (state, url):
        provider.add_client("plugwire-app", SECRET, [f"{url}/oauth/callback"])
        add_oauth2(connections, provider, register=False, redirect_uri="http://127.0.0.1:9/unused")
        auth = {"Authorization": f"Bearer {API_TOKEN}"}
        started = httpx2.post(f"{url}/api/connections/acme/authorize", headers=auth)
        assert started.status_code == 201, started.text
        page = browse(started.json()["authorize_url"])
        assert page.status_code == 200 and "Connected" in page.text, page.text
        replay = httpx2.get(f"{url}/oauth/callback?code=x&state=unknown")
        assert replay.status_code == 400 and "unknown or expired" in replay.text
    token = connections.tokens("acme").load()
    assert token["access_token"] and token["access_token"] not in page.text


def test_an_authorization_started_at_one_server_finishes_at_another(home, connections, live_server, monkeypatch):
    # Two servers behind one public URL: the provider sends the user back to whichever
    # the load balancer picks, so the pending authorization lives in the store, sealed.
    from oauth_provider import OAuthProvider
    from test_oauth2 import SECRET, add_oauth2, browse

    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    provider = OAuthProvider()
    provider.url = live_server(provider.app).url
    with plugwire_server(home) as (_, other_url), plugwire_server(home, public_url=other_url) as (_, url):
        provider.add_client("plugwire-app", SECRET, [f"{other_url}/oauth/callback"])
        add_oauth2(connections, provider, register=False, redirect_uri="http://127.0.0.1:9/unused")
        started = httpx2.post(f"{url}/api/connections/acme/authorize", headers={"Authorization": f"Bearer {API_TOKEN}"})
        assert started.status_code == 201, started.text
        assert "code_challenge=" in started.json()["authorize_url"]  # PKCE: there is a verifier to keep secret
        raw = (home.path / "plugwire.json").read_text()
        assert "oauth_pending" in raw and "code_verifier" not in raw  # kept, with its secret state sealed
        page = browse(started.json()["authorize_url"])
        assert page.status_code == 200 and "Connected" in page.text, page.text
        again = browse(started.json()["authorize_url"])  # the same state a second time: taken once only
        assert again.status_code == 400 and "unknown or expired" in again.text
    assert connections.tokens("acme").load()["access_token"]


def test_a_webhook_the_job_store_could_not_store_is_not_acknowledged(home):
    """When the job store's writer process is gone, the event is answered 503 (the
    sender retries) rather than 2xx, and the next event is stored by a new one."""
    from plugwire.core.http.netpolicy import NetworkPolicy
    from plugwire.core.server import create_app
    from plugwire.core.server.runtime import ServerState

    recipes = Recipes(home)
    recipes.create({"name": "hooked", "trigger": {"type": "webhook"}, "steps": []})
    token = recipes.start("hooked").token
    state = ServerState(home, policy=NetworkPolicy(enabled=False), api_token=API_TOKEN, workers=0)
    app = create_app(state, background=False)

    async def main():
        async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://plugwire") as client:
            first = await client.post(f"/hooks/{token}", json={"n": 1})
            writer = next(iter(state.jobs._writers.values()))
            writer.proc.kill()
            writer.proc.wait()
            lost = await client.post(f"/hooks/{token}", json={"n": 2})
            again = await client.post(f"/hooks/{token}", json={"n": 3})
            return first, lost, again

    first, lost, again = asyncio.run(main())
    try:
        assert first.status_code == 202 and again.status_code == 202
        assert lost.status_code == 503 and "not stored" in lost.json()["error"] and "send it again" in lost.json()["error"]
        assert "X-Plugwire-Job" not in lost.headers
        stored = {state.jobs.get(r.headers["X-Plugwire-Job"])["event"]["payload"]["n"] for r in (first, again)}
        assert stored == {1, 3} and sum(state.jobs.counts().values()) == 2
    finally:
        state.jobs.close()


# -- plugwire serve: announced once bound, a busy port named, its settings recorded (issue 14, items 8 and 15)
def _serve_cmd(port: int, *extra: str) -> list[str]:
    return [sys.executable, "-c", "from plugwire.core.cli import main; main()", "serve", "--port", str(port), *extra]


def test_serve_names_a_busy_port_plainly_and_announces_nothing(home):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "PLUGWIRE_HOME": str(home.path)}
        done = subprocess.run(_serve_cmd(port), env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in done.stderr and "Fix:" in done.stderr
    assert "serving" not in done.stderr and "Traceback" not in done.stderr


def test_serve_announces_itself_once_it_listens_and_records_its_settings(home, run_cli):
    from plugwire.core.storage.served import load_served

    port = free_port()
    env = {**os.environ, "PLUGWIRE_HOME": str(home.path), "PLUGWIRE_ALLOW_HOSTS": "10.1.2.0/24"}
    env.pop("PLUGWIRE_BASE_URL", None)
    proc = subprocess.Popen(_serve_cmd(port, "--allow-host", "API.internal:8443"), env=env, stderr=subprocess.PIPE, text=True)
    try:
        banner = proc.stderr.readline()  # blocks until the server speaks
        assert banner.startswith(f"plugwire serving on http://127.0.0.1:{port}")
        assert "allowing api.internal:8443, 10.1.2.0/24" in banner
        assert _up(f"http://127.0.0.1:{port}")  # said only once it answers
        served = load_served(home)
        assert served.base_url == f"http://127.0.0.1:{port}" and served.base_url_from == "plugwire serve"
        assert served.network_policy and served.allow == ("api.internal:8443", "10.1.2.0/24")
        Recipes(home).create({"name": "hook", "trigger": {"type": "webhook"}})
        code, out, _ = run_cli("recipes", "show", "hook")
        assert code == 0 and f"http://127.0.0.1:{port}/hooks/" in out  # the real port, not 8000
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serve_refuses_an_allow_host_that_is_no_host(home, run_cli):
    code, _, err = run_cli("serve", "--allow-host", "https://api.internal/")
    assert code == 2 and "--allow-host" in err and "Fix:" in err
