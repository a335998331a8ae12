"""Survivors of the mutation run over core/wizard/apply.py (issue 17,
bench/README.md): the Apply warning about ``plugwire serve``'s network policy, and
the 2xx that ``proof_fields`` insists on.
"""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from plugwire.core.http.exchange import RequestSpec
from plugwire.core.http.send import send
from plugwire.core.storage.served import record_served
from plugwire.core.wizard.apply import policy_warning, proof_fields


@pytest.mark.parametrize(("url", "allowed"), [
    ("http://localhost/orders", "localhost:80"),
    ("https://localhost/orders", "localhost:443"),
])
def test_a_host_allowed_on_its_default_port_gets_no_warning(home, url, allowed):
    """``--allow-host localhost:80`` covers ``http://localhost/...``: the URL's port is
    the scheme's default when it names none."""
    record_served(home, base_url="http://127.0.0.1:8000", network_policy=True, allow=[allowed])
    assert policy_warning(home, url) is None
    assert "would refuse this action" in policy_warning(home, url.replace("localhost", "localhost:8443", 1))


def test_a_host_that_does_not_resolve_gets_no_warning(home):
    """Not the policy's doing: no warning, and no error out of Apply. A 64-letter
    label fails in the IDNA codec, before any DNS query."""
    assert policy_warning(home, f"https://{'a' * 64}.example/orders") is None


def test_proof_fields_refuse_an_exchange_that_is_not_a_2xx(live_server):
    server = live_server(Starlette(routes=[Route("/missing", lambda r: JSONResponse({"error": "no"}, status_code=404)),
                                           Route("/ok", lambda r: JSONResponse({"id": 1}))]))
    proven = proof_fields(send(RequestSpec(method="GET", url=server.url + "/ok")), "api")
    assert proven["proof"]["status"] == 200 and proven["draft_reason"] is None
    with pytest.raises(AssertionError):
        proof_fields(send(RequestSpec(method="GET", url=server.url + "/missing")), "api")


@pytest.fixture
def guarded(live_server):
    """An API that answers 401 to every request without credentials, and 500 on /broken."""

    def secret(request):
        return JSONResponse({"message": "Requires authentication"}, status_code=401)

    return live_server(Starlette(routes=[Route("/secret", secret),
                                         Route("/broken", lambda r: JSONResponse({"error": "boom"}, status_code=500))]))


def _reason(home, connections, url: str, connection: str | None) -> str:
    from plugwire.core.wizard.apply import review_of
    from plugwire.core.wizard.steps import Wizard

    wiz = Wizard(home, connections=connections)
    wiz.start("GET", url, connection)
    wiz.send()
    return review_of(wiz).reason


def test_a_refused_apply_names_the_connections_that_fit_or_the_one_refused(home, connections, guarded):
    url = f"{guarded.url}/secret"
    connections.create({"name": "here", "auth_type": "none", "base_url": guarded.url})
    assert "send it through connection 'here', which fits this host." in _reason(home, connections, url, None)
    connections.create({"name": "also-here", "auth_type": "none", "test_url": f"{guarded.url}/ping"})
    two = _reason(home, connections, url, None)
    assert "'here'" in two and "'also-here'" in two and "which fit this host." in two
    assert "The API refused the credentials: check connection 'here'." in _reason(home, connections, url, "here")
    broken = _reason(home, connections, f"{guarded.url}/broken", "here")
    assert "answered 500" in broken and "refused the credentials" not in broken


def test_a_catalogue_that_cannot_be_written_leaves_the_apply_done(home, live_server):
    """Learning after Apply must not undo it: a catalogue that cannot be written (a
    folder where its file goes; chmod would not stop root) is reported, not raised."""
    from plugwire.core.wizard.apply import learn_applied, proven_action
    from plugwire.core.wizard.steps import Wizard
    from plugwire.knowledge.user import learned_path

    server = live_server(Starlette(routes=[Route("/orders", lambda r: JSONResponse([{"id": 1}]))]))
    wiz = Wizard(home)
    wiz.start("GET", f"{server.url}/orders", None)
    wiz.send()
    action = proven_action(wiz, "orders", "")
    path = learned_path(home)
    path.mkdir(parents=True)
    out = learn_applied(home, action, None)
    assert out["learned"] is False and out["reason"]
    path.rmdir()
    assert learn_applied(home, action, None)["learned"] is True


@pytest.mark.parametrize(("learned", "kept"), [(False, {"status": "active"}), (True, {})])
def test_learning_keeps_the_catalogues_example_values_not_a_learned_suggestions(home, live_server, learned, kept):
    """The catalogue's own sample is public: its example values are kept where the
    user's are stripped. A learned suggestion's sample is the user's: never kept."""
    from plugwire.core.plugincore.suggesters import SampleRequest, Suggestion
    from plugwire.core.wizard.apply import learn_applied, proven_action
    from plugwire.core.wizard.steps import Wizard

    server = live_server(Starlette(routes=[Route("/orders", lambda r: JSONResponse([{"id": 1}]))]))
    wiz = Wizard(home)
    wiz.start("GET", f"{server.url}/orders", None)
    wiz.edit(query={"status": "mine-secretish"})
    wiz.send()
    sample = SampleRequest(method="GET", url=f"{server.url}/orders", query={"status": "active"})
    suggestion = Suggestion(suggester="catalogue", score=0.9, reason="test", request=sample, learned=learned)
    out = learn_applied(home, proven_action(wiz, "orders", ""), suggestion)
    assert out["learned"] is True and out["query"] == kept
