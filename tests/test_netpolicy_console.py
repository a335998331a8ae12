"""The network policy in Test connection and the wizard's Send, the core functions
and the console's routes: the first host and every redirect are checked, and a
refused redirect is a plain outcome naming the policy, not a crash.

The first hop's host is on the policy's allow-list (it stands for a public API);
it redirects to another port on 127.0.0.1, which the policy must refuse."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from plugwire.core.http.netpolicy import NetworkPolicy
from plugwire.core.http.testconn import test_connection
from plugwire.core.wizard.steps import Wizard
from proxy_server import ForwardProxy
from recipes_support import plugwire_server
from test_web_console import Browser


class Inner:
    """The private service a redirect points at; records whether anything reached it."""

    def __init__(self, live_server):
        self.hits: list[str] = []

        def secret(request):
            self.hits.append(request.url.path)
            return JSONResponse({"metadata": "credentials"})

        self.server = live_server(Starlette(routes=[Route("/secret", secret)]))
        self.url = self.server.url


@pytest.fixture
def apis(live_server):
    inner = Inner(live_server)
    outer = live_server(Starlette(routes=[
        Route("/go", lambda r: RedirectResponse(f"{inner.url}/secret", status_code=302)),
        Route("/ok", lambda r: JSONResponse({"ok": True})),
    ]))
    return outer, inner


def _allowing(outer) -> NetworkPolicy:
    return NetworkPolicy(allow=[f"127.0.0.1:{outer.port}"])


def test_test_connection_refuses_a_redirect_into_loopback(connections, apis):
    outer, inner = apis
    conn = connections.create({"name": "api", "auth_type": "none", "test_url": f"{outer.url}/go"})
    policy = _allowing(outer)
    assert test_connection(conn, connections, f"{outer.url}/ok", policy=policy).ok  # the allowed host itself
    refused = test_connection(conn, connections, policy=policy)
    assert refused.outcome == "refused" and not refused.ok and refused.field == "url"
    assert refused.message.startswith("Refused by the network policy: 127.0.0.1 is a loopback address")
    assert "'api'" in refused.message and inner.hits == []
    first = test_connection(conn, connections, f"{inner.url}/secret", policy=NetworkPolicy())
    assert first.outcome == "refused" and inner.hits == []  # the first host is checked too
    # Without a policy (local use), or with one that is off, the redirect is followed.
    assert test_connection(conn, connections).ok and test_connection(conn, connections, policy=NetworkPolicy(enabled=False)).ok
    assert inner.hits == ["/secret", "/secret"]


def test_test_connection_keeps_the_callers_client_options_and_exempts_private_networks(connections, apis):
    outer, inner = apis
    seen: list[str] = []
    kwargs = {"event_hooks": {"request": [lambda request: seen.append(str(request.url))]}}
    conn = connections.create({"name": "api", "auth_type": "none"})
    result = test_connection(conn, connections, f"{outer.url}/go", policy=_allowing(outer), client_kwargs=kwargs)
    # The caller's hook sees each request before it goes out; the policy refuses the
    # redirect when it would connect, so nothing reaches the inner service.
    assert result.outcome == "refused" and seen == [f"{outer.url}/go", f"{inner.url}/secret"] and inner.hits == []
    with ForwardProxy() as agent:
        onprem = connections.create({"name": "onprem", "auth_type": "none", "private_network": True, "agent_url": agent.url})
        assert test_connection(onprem, connections, f"{outer.url}/go", policy=NetworkPolicy()).ok
    assert inner.hits == ["/secret"]


def test_the_wizards_send_refuses_a_redirect_as_an_attempt(home, connections, apis):
    outer, inner = apis
    wizard = Wizard(home, policy=_allowing(outer))
    wizard.start("GET", f"{outer.url}/go")
    attempt = wizard.send()
    ex = attempt.exchange
    assert ex.outcome == "refused" and not ex.ok and ex.response is None
    assert "Refused by the network policy: 127.0.0.1 is a loopback address" in ex.message
    assert ex.request.method == "GET" and ex.request.url == f"{outer.url}/go" and inner.hits == []
    assert "failed before an answer came back (refused)" in wizard.refusal()
    wizard.edit(url=f"{outer.url}/ok")
    assert wizard.send().exchange.ok  # the allowed host itself is fine
    local = Wizard(home)  # no policy: local CLI use
    local.start("GET", f"{outer.url}/go")
    assert local.send().exchange.ok and inner.hits == ["/secret"]


def _request_form(**extra) -> dict:
    return {"body": "", "body_format": "none", "content_type": "", "headers.key": [""], "headers.value": [""],
            "query.key": [""], "query.value": [""], **extra}


def test_the_console_test_and_send_show_a_refused_redirect(home, connections, apis):
    outer, inner = apis
    connections.create({"name": "api", "auth_type": "none", "test_url": f"{outer.url}/go"})
    with plugwire_server(home, policy=_allowing(outer)) as (state, url):
        browser = Browser(url)
        tested = browser.post("/console/connections/api/test", {"url": ""})
        assert tested.status_code == 200 and 'id="test-result"' in tested.text
        assert "Refused" in tested.text and "Refused by the network policy: 127.0.0.1 is a loopback address" in tested.text
        started = browser.post("/console/wizard/new", {"name": "moved", "connection": "api", "method": "GET", "url": f"{outer.url}/go"})
        assert started.status_code == 303, started.text
        sent = browser.post(started.headers["location"], _request_form(do="send"))
        assert sent.status_code == 200, sent.text
        assert "Attempt #1" in sent.text and "Refused by the network policy: 127.0.0.1 is a loopback address" in sent.text
    assert inner.hits == []
