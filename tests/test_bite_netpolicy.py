"""A name that resolves to several addresses is refused when any one of them is
forbidden (issue 17 item 2): the policy's docstring promises every address.

The resolver is the test's own (``NetworkPolicy(resolver=...)``), so the name
answers a public address first and a private one after it; a policy that checks
only the first address (``addresses[:1]``) lets every case here through. Nothing is
connected to: the policy refuses before any connection is opened."""

from __future__ import annotations

import pytest

from plugwire.core.http.netpolicy import NetworkPolicy, NetworkPolicyError

PUBLIC_V4 = "8.8.8.8"
PUBLIC_V6 = "2001:4860:4860::8888"

MIXED = [
    ([PUBLIC_V4, "10.0.0.5"], "10.0.0.5", "is in a private network"),
    ([PUBLIC_V4, "127.0.0.1"], "127.0.0.1", "is a loopback address"),
    ([PUBLIC_V4, "1.1.1.1", "169.254.169.254"], "169.254.169.254", "is a link-local address"),
    ([PUBLIC_V6, "::1"], "::1", "is a loopback address"),
    ([PUBLIC_V6, PUBLIC_V4, "::ffff:192.168.1.10"], "::ffff:192.168.1.10", "is in a private network"),
    ([PUBLIC_V4, "100.64.0.9"], "100.64.0.9", "is in a private network"),
]


@pytest.mark.parametrize(("answer", "bad", "reason"), MIXED)
def test_a_name_with_a_public_then_a_forbidden_address_is_refused(answer, bad, reason):
    """Catches a check of the first address only: the forbidden one is never first."""
    asked: list[str] = []

    def resolver(host: str) -> list[str]:
        asked.append(host)
        return list(answer)

    with pytest.raises(NetworkPolicyError) as info:
        NetworkPolicy(resolver=resolver).addresses("mixed.example", port=443, connection="crm")
    assert f"mixed.example ({bad}) {reason}" in str(info.value)
    assert info.value.field == "url" and "private_network" in info.value.fix
    assert asked == ["mixed.example"]  # resolved once: the addresses checked are the ones connected to


def test_every_address_public_passes_and_an_allowed_network_covers_only_itself():
    """The same names pass when every address is public, or when the forbidden one is
    inside an allowed network; an allowed network does not excuse a second forbidden one."""
    def resolver(host: str) -> list[str]:
        return {"public.example": [PUBLIC_V4, PUBLIC_V6],
                "two.example": [PUBLIC_V4, "10.1.2.3", "192.168.0.7"]}[host]

    assert NetworkPolicy(resolver=resolver).addresses("public.example") == [PUBLIC_V4, PUBLIC_V6]
    allowed = NetworkPolicy(allow=["10.1.2.0/24"], resolver=resolver)
    with pytest.raises(NetworkPolicyError, match=r"two.example \(192.168.0.7\) is in a private network"):
        allowed.addresses("two.example")
    both = NetworkPolicy(allow=["10.1.2.0/24", "192.168.0.0/16"], resolver=resolver)
    assert both.addresses("two.example") == [PUBLIC_V4, "10.1.2.3", "192.168.0.7"]
