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


# Survivors of the mutation run (bench/README.md, "Mutation run"): each test below
# fails on the mutant of core/http/netpolicy.py it names.
@pytest.mark.parametrize("address", ["224.0.0.1", "ff02::1"])
def test_multicast_addresses_are_blocked(address):  # mutant #8: the multicast check dropped
    assert "multicast" in blocked_reason(address)


def test_a_reserved_range_is_blocked():  # mutant #13: the reserved check dropped
    assert "reserved" in blocked_reason("4000::1")


def test_a_resolver_answer_that_is_no_address_is_refused():  # mutant #2: a non-address taken as public
    policy = NetworkPolicy(resolver=lambda host: ["not-an-address"])
    with pytest.raises(NetworkPolicyError, match="is not an IP address"):
        policy.addresses("api.example.test", connection="crm")


def test_a_resolver_answering_nothing_is_refused():  # mutant #48: no address, nothing checked
    with pytest.raises(NetworkPolicyError, match="did not resolve to any address") as info:
        NetworkPolicy(resolver=lambda host: []).addresses("api.example.test")
    assert info.value.field == "url"


def test_a_name_that_cannot_be_resolved_is_a_policy_error_before_any_query():  # mutant #22
    # A 64-letter label is refused by the IDNA codec, so no DNS query goes out.
    with pytest.raises(NetworkPolicyError, match="could not be resolved") as info:
        NetworkPolicy().addresses("a" * 64 + ".example.test")
    assert info.value.field == "url" and "check the URL's host" in info.value.fix


def test_an_allowed_network_written_with_host_bits_still_covers_its_addresses():  # mutant #27: strict networks
    policy = NetworkPolicy(allow=["127.0.0.5/8"])
    assert policy.addresses("127.0.0.1") == ["127.0.0.1"]
    with pytest.raises(NetworkPolicyError):
        policy.addresses("10.0.0.1")
