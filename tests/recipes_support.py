"""Helpers for the recipe, job and server tests: a plugwire server with its
lifespan (worker and scheduler) on 127.0.0.1, saved actions, and waiting for jobs."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import uvicorn

from plugwire.core.http.netpolicy import NetworkPolicy
from plugwire.core.server import ServerState, create_app
from plugwire.core.wizard.actions import Actions, build_action
from plugwire.core.wizard.datatree import infer

API_TOKEN = "test-api-token-0123456789"


@contextmanager
def plugwire_server(home, *, policy: NetworkPolicy | None = None, **kw: Any) -> Iterator[tuple[ServerState, str]]:
    """Run plugwire's app (worker and scheduler included) on 127.0.0.1; yields (state, base URL)."""
    state = ServerState(home, policy=policy or NetworkPolicy(enabled=False), api_token=API_TOKEN, **kw)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(create_app(state), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "plugwire server did not start"
        time.sleep(0.01)
    try:
        yield state, url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def save_action(home, name: str, *, sample: Any = None, prove: bool = False, **fields: Any):
    """Save a proven action and return it.

    ``prove=True``: saved as a draft, then sent once to its (local) API as
    ``plugwire actions prove`` sends it; the test fails unless the API answers 2xx.
    Otherwise it is saved as the wizard's Apply saves one after a 2xx whose body was
    ``sample`` (its datatree inferred from it), without sending anything: for tests
    whose subject is not the proof (those of the proof itself are in
    test_action_proof.py), and whose APIs count requests, fail on purpose or do not
    exist."""
    from plugwire.core.http.exchange import now_iso

    data = {"name": name, **fields}
    if prove:
        Actions(home).create(build_action(data))
        return prove_saved(home, name)
    data.update(sample_response={"status": 200, "reason": "OK", "format": "json", "body": sample},
                proof={"at": now_iso(), "status": 200, "by": "wizard"})
    if sample is not None:
        data["datatree"] = infer(sample).model_dump()
    return Actions(home).create(build_action(data))


def prove_saved(home, name: str, *, policy: NetworkPolicy | None = None):
    """Prove the saved action ``name`` against its live API (as ``plugwire actions prove``);
    returns it, proven. Fails the test, saying what came back, when it was not a 2xx."""
    from plugwire.core.wizard.prove import prove

    action, trial = prove(home, name, policy=policy)
    assert trial.ok, f"{name} was not proven: {trial.reason}"
    return action


def run_recipe(home, recipe: Any, event: dict[str, Any] | None = None, *, policy: NetworkPolicy | None = None) -> dict[str, Any]:
    """Run ``recipe`` once in this process with ``event`` (default: an empty payload),
    the network policy off unless ``policy`` is given, and return the runner's result."""
    import asyncio

    from plugwire.core.recipes.runner import Runner

    runner = Runner(home, policy=policy or NetworkPolicy(enabled=False))

    async def main() -> dict[str, Any]:
        try:
            return await runner.run(recipe, event if event is not None else {"payload": {}})
        finally:
            await runner.aclose()

    return asyncio.run(main())


def wait_for(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Return ``check()``'s first truthy value, polling; fails the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def finished_job(state: ServerState, job_id: str, timeout: float = 10.0) -> dict[str, Any]:
    """Wait until the job is succeeded or failed; returns it."""
    def done():
        job = state.jobs.get(job_id)
        return job if job["status"] in ("succeeded", "failed") else None

    return wait_for(done, timeout, f"job {job_id} to finish")
