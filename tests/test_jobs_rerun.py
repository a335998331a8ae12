"""Running a job again, and naming a job by the start of its id (issue 14, items 9 and
11): in both job stores, from the command line (which runs the rerun itself, under
the policy ``plugwire serve`` recorded), through the JSON API and the console's
"Run again" button (both hand it to the server's worker), against a real API on 127.0.0.1."""

from __future__ import annotations

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pgutil import pg_url  # noqa: F401  (the fixture)
from plugwire.core.base.errors import NotFoundError, UserInputError
from plugwire.core.recipes.model import Recipes
from plugwire.core.recipes.rerun import run_stored, store_rerun
from plugwire.core.http.netpolicy import NetworkPolicy
from plugwire.core.storage.jobs import JobStore, rerun_key
from plugwire.core.storage.pgjobs import PgJobStore
from plugwire.core.storage.served import record_served
from recipes_support import API_TOKEN, finished_job, plugwire_server, save_action
from test_web_console import Browser


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = JobStore(tmp_path / "jobs")
    else:
        s = PgJobStore(request.getfixturevalue("pg_url"))
    yield s
    s.close()


def test_a_unique_prefix_names_a_job_an_ambiguous_one_lists_the_matches(store):
    for job_id in ("j_0a1b2c0001", "j_0a1b2c0002", "j_0a1b9d0001"):
        store.add("r", {"n": job_id}, job_id=job_id)
    assert store.get("j_0a1b9")["id"] == "j_0a1b9d0001"
    assert store.get("j_0a1b2c0002")["event"]["n"] == "j_0a1b2c0002"  # a whole id, as before
    with pytest.raises(UserInputError) as ambiguous:
        store.get("j_0a1b2")
    assert "j_0a1b2c0001" in str(ambiguous.value) and "j_0a1b2c0002" in str(ambiguous.value)
    assert ambiguous.value.field == "job"
    with pytest.raises(NotFoundError, match="No job with id 'j_0f'"):
        store.get("j_0f")


def test_a_rerun_records_the_job_it_reruns(store):
    first, _ = store.add("r", {"n": 1})
    second, created = store.add("r", {"n": 1}, dedupe=rerun_key(first, "j_again"), job_id="j_again")
    assert created and store.get(second)["rerun_of"] == first and "rerun_of" not in store.get(first)


@pytest.fixture
def flaky(live_server):
    """An API that fails until ``flaky.fixed`` is set, recording the bodies it got."""
    app = Starlette()
    app.state.fixed, app.state.got = False, []

    async def orders(request: Request) -> JSONResponse:
        app.state.got.append(await request.json())
        if not app.state.fixed:
            return JSONResponse({"error": "down for maintenance"}, status_code=503)
        return JSONResponse({"id": 7})

    app.router.routes.append(Route("/orders", orders, methods=["POST"]))
    server = live_server(app)
    server.app = app
    return server


def _failed_job(home, flaky) -> str:
    save_action(home, "post order", method="POST", url=f"{flaky.url}/orders", body_format="json", body={"sku": "x"},
                sample={"id": 1}, retry={"max_attempts": 1})
    recipes = Recipes(home)
    recipe = recipes.create({"name": "orders", "trigger": {"type": "webhook", "config": {"sample_payload": {"sku": "A-1"}}},
                             "steps": [{"action": "post order", "body": {"sku": "{{trigger.payload.sku}}"}}]})
    jobs = home.jobs()
    job_id, _ = jobs.add("orders", {"payload": {"sku": "A-1"}})
    run_stored(home, jobs, recipe, job_id, policy=NetworkPolicy(enabled=False))
    assert jobs.get(job_id)["status"] == "failed"
    jobs.close()
    return job_id


def test_jobs_rerun_runs_the_same_event_again_as_a_new_job(home, flaky, run_cli):
    job_id = _failed_job(home, flaky)
    record_served(home, base_url="http://127.0.0.1:8700", network_policy=False)  # as `plugwire serve --no-network-policy`
    flaky.app.state.fixed = True
    code, out, err = run_cli("jobs", "rerun", job_id[:14])
    assert code == 0, err
    new_id = out.split()[1]
    assert f"a rerun of {job_id}" in out and "succeeded" in out
    jobs = home.jobs()
    again = jobs.get(new_id)
    assert again["rerun_of"] == job_id and again["event"] == jobs.get(job_id)["event"]
    jobs.close()
    assert flaky.app.state.got == [{"sku": "A-1"}, {"sku": "A-1"}]
    code, out, _ = run_cli("jobs", "show", new_id[:16])
    assert code == 0 and f"(a rerun of {job_id})" in out


def test_jobs_rerun_follows_the_servers_recorded_policy_and_says_it_failed(home, flaky, run_cli):
    job_id = _failed_job(home, flaky)
    # No server recorded a policy: it is on, as `plugwire serve` starts, and 127.0.0.1 is refused.
    code, out, _ = run_cli("jobs", "rerun", job_id, "--json")
    import json

    job = json.loads(out)
    assert code == 1 and job["status"] == "failed" and job["rerun_of"] == job_id and job["ran_here"] is True
    assert "network policy" in job["steps"][0]["error"]
    assert len(flaky.app.state.got) == 1  # nothing was sent


def test_a_job_not_finished_or_whose_recipe_is_gone_cannot_run_again(home, flaky, run_cli):
    job_id = _failed_job(home, flaky)
    jobs = home.jobs()
    pending, _ = jobs.add("orders", {"payload": {"sku": "B"}})
    with pytest.raises(UserInputError, match="still pending"):
        store_rerun(jobs, Recipes(home), pending)
    jobs.close()
    Recipes(home).remove("orders")
    code, _, err = run_cli("jobs", "rerun", job_id)
    assert code == 1 and "recipe 'orders' no longer exists" in err and "Fix:" in err
    code, _, err = run_cli("jobs", "rerun", "j_")
    assert code == 2 and "ambiguous" in err


def test_the_api_and_the_console_hand_a_rerun_to_the_servers_worker(home, flaky):
    job_id = _failed_job(home, flaky)
    flaky.app.state.fixed = True
    with plugwire_server(home) as (state, url):
        answer = httpx2.post(f"{url}/api/jobs/{job_id[:14]}/rerun", headers={"Authorization": f"Bearer {API_TOKEN}"})
        assert answer.status_code == 202, answer.text
        assert answer.json()["rerun_of"] == job_id
        assert finished_job(state, answer.json()["id"])["status"] == "succeeded"
        missing = httpx2.post(f"{url}/api/jobs/j_ffff/rerun", headers={"Authorization": f"Bearer {API_TOKEN}"})
        assert missing.status_code == 404 and missing.json()["field"] == "job"

        browser = Browser(url)
        page = browser.get(f"/console/jobs/{job_id}")
        assert 'id="rerun"' in page.text and "Run again" in page.text
        assert browser.post(f"/console/jobs/{job_id}/rerun", csrf=False).status_code == 403
        done = browser.post(f"/console/jobs/{job_id}/rerun", follow_redirects=True)
        new_id = str(done.url).rsplit("/", 1)[1]
        assert new_id != job_id and f'href="/console/jobs/{job_id}" id="rerun-of"' in done.text
        assert finished_job(state, new_id)["status"] == "succeeded"
    assert flaky.app.state.got == [{"sku": "A-1"}] * 3
