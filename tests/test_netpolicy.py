"""The network policy: private destinations refused for ordinary connections, the
first request and every redirect checked, private-network connections exempt."""

import asyncio
from types import SimpleNamespace

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from plugwire.core.http.netpolicy import NetworkPolicy, NetworkPolicyError, blocked_reason
from plugwire.core.recipes.model import Recipes
from plugwire.core.recipes.runner import Runner
from proxy_server import ForwardProxy
from recipes_support import save_action


@pytest.mark.parametrize(
    "address, word",
    [("127.0.0.1", "loopback"), ("::1", "loopback"), ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
     ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.1.1", "private"), ("100.64.0.1", "private"),
     ("fd00::1", "private"), ("::ffff:127.0.0.1", "loopback"), ("0.0.0.0", "unspecified")],
)
def test_private_ranges_are_blocked(address, word):
    assert word in blocked_reason(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700:4700::1111", "8.8.8.8"])
def test_public_addresses_pass(address):
    assert blocked_reason(address) is None


def test_every_resolved_address_is_checked():
    policy = NetworkPolicy()
    with pytest.raises(NetworkPolicyError) as info:
        policy.addresses("localhost", connection="crm")  # resolves to loopback address(es)
    assert "loopback" in str(info.value) and "'crm'" in str(info.value) and info.value.field == "url"
    assert NetworkPolicy(enabled=False).addresses("localhost") == ["localhost"]
    onprem = SimpleNamespace(options=SimpleNamespace(private_network=True))
    assert policy.applies(None) and not policy.applies(onprem) and not NetworkPolicy(enabled=False).applies(None)


@pytest.fixture
def apis(live_server):
    inner = live_server(Starlette(routes=[Route("/secret", lambda r: JSONResponse({"metadata": "credentials"}))]))
    outer = live_server(Starlette(routes=[
        Route("/go", lambda r: RedirectResponse(f"{inner.url}/secret", status_code=302)),
        Route("/ok", lambda r: JSONResponse({"ok": True})),
    ]))
    return outer, inner


def _run(home, policy, action: str, url: str, **fields):
    save_action(home, action, method="GET", url=url, sample={"ok": True}, **fields)
    recipes = Recipes(home)
    recipe = recipes.create({"name": action, "trigger": {"type": "webhook"}, "steps": [{"action": action}]})
    runner = Runner(home, policy=policy)

    async def go():
        try:
            return await runner.run(recipe, {"payload": {}})
        finally:
            await runner.aclose()

    return asyncio.run(go())


def test_the_runner_refuses_loopback_with_a_clear_error(home, apis):
    outer, _ = apis
    result = _run(home, NetworkPolicy(), "direct", f"{outer.url}/ok")
    assert result["status"] == "failed"
    assert "Refused by the network policy: 127.0.0.1 is a loopback address" in result["error"]
    assert "private_network" in result["error"]
    assert "output" not in result["steps"][0]


def test_a_redirect_into_a_private_address_is_refused(home, apis):
    outer, inner = apis
    # The first hop is allowed explicitly; the redirect to another port is not.
    policy = NetworkPolicy(allow=[f"127.0.0.1:{outer.port}"])
    assert _run(home, policy, "ok", f"{outer.url}/ok")["status"] == "succeeded"
    result = _run(home, policy, "redirected", f"{outer.url}/go")
    assert result["status"] == "failed"
    assert f"127.0.0.1 is a loopback address" in result["error"]


def test_policy_off_for_local_use(home, apis):
    outer, _ = apis
    assert _run(home, NetworkPolicy(enabled=False), "local", f"{outer.url}/go")["status"] == "succeeded"


def test_private_network_connections_are_exempt(home, apis, connections):
    _, inner = apis
    with ForwardProxy() as agent:
        connections.create({"name": "onprem", "auth_type": "none", "private_network": True, "agent_url": agent.url})
        result = _run(home, NetworkPolicy(), "onprem", f"{inner.url}/secret", connection="onprem")
        assert result["status"] == "succeeded", result["error"]
        assert any(r.target.startswith(inner.url) for r in agent.records)
