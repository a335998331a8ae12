"""A small local API for the wizard's tests: Eventbrite-like venues, a Jira-like
project list, an endpoint that records bodies exactly as they arrived, and an XML
endpoint. Every request is appended to ``app.state.received``.

``make_app(token=..., jira_user=..., jira_token=...)`` returns the Starlette app;
``serve(live_server, ...)`` runs it with the ``live_server`` fixture and returns the
server with its ``received`` list.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

COUNTRY = re.compile(r"^[A-Z]{2}$")

PROJECTS = [
    {
        "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
        "self": "https://example.atlassian.net/rest/api/2/project/10000",
        "id": "10000",
        "key": "OPS",
        "name": "Operations",
        "avatarUrls": {"48x48": "https://example.atlassian.net/avatar/48", "16x16": "https://example.atlassian.net/avatar/16"},
        "projectTypeKey": "software",
        "simplified": False,
        "style": "classic",
        "isPrivate": False,
        "properties": {},
    },
    {
        "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
        "self": "https://example.atlassian.net/rest/api/2/project/10001",
        "id": "10001",
        "key": "WEB",
        "name": "Website",
        "avatarUrls": {"48x48": "https://example.atlassian.net/avatar/48b", "16x16": "https://example.atlassian.net/avatar/16b"},
        "projectTypeKey": "business",
        "simplified": True,
        "style": "next-gen",
        "isPrivate": False,
        "properties": {},
        "projectCategory": {"id": "10000", "name": "Customer facing", "description": "Public projects"},
    },
]

VENUES_XML = """<?xml version="1.0" encoding="UTF-8"?>
<venues xmlns="urn:example:venues" count="2">
  <venue id="1"><name>Example Hall</name><capacity>300</capacity>
    <address><city>San Francisco</city><country>US</country></address></venue>
  <venue id="2"><name>Harbour Room</name>
    <address><city>Lisbon</city><country>PT</country></address><tag>indoor</tag><tag>accessible</tag></venue>
</venues>"""


def _error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description, "status_code": status}, status_code=status)


def make_app(*, token: str | None = None, jira_user: str = "jira@example.com", jira_token: str | None = None) -> Starlette:
    """Return the app. ``token``: the bearer token (or Basic password) venue calls
    need, None for none; ``jira_user``/``jira_token``: the Basic credentials of the
    project list, None for none."""
    ids = itertools.count(52041000)
    received: list[dict[str, Any]] = []

    async def record(request: Request) -> dict[str, Any]:
        raw = await request.body()
        entry: dict[str, Any] = {
            "method": request.method,
            "path": request.url.path,
            "query": list(request.query_params.multi_items()),
            "headers": dict(request.headers),
            "content_type": request.headers.get("content-type"),
            "body": raw,
        }
        ctype = entry["content_type"] or ""
        if ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            form = await request.form()
            fields: dict[str, list[str]] = {}
            files = []
            for key, value in form.multi_items():
                if hasattr(value, "read"):
                    data = await value.read()
                    files.append({"field": key, "filename": value.filename, "content_type": value.content_type, "data": data})
                else:
                    fields.setdefault(key, []).append(value)
            entry["form"] = fields
            entry["files"] = files
        received.append(entry)
        return entry

    def bearer_ok(request: Request) -> bool:
        if token is None:
            return True
        auth = request.headers.get("authorization", "")
        if auth == f"Bearer {token}":
            return True
        if auth.startswith("Basic "):
            _, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            return password == token
        return False

    async def venues(request: Request) -> Response:
        entry = await record(request)
        if not bearer_ok(request):
            return _error(401, "NO_AUTH", "An OAuth token is required for all requests.")
        org = request.path_params["organization_id"]
        if request.method == "GET":
            return JSONResponse({"pagination": {"object_count": 0, "page_number": 1, "page_size": 50, "page_count": 1, "has_more_items": False}, "venues": []})
        try:
            data = json.loads(entry["body"] or b"null")
        except ValueError:
            return _error(400, "INVALID_BODY", "The request body is not valid JSON.")
        venue = data.get("venue") if isinstance(data, dict) else None
        if not isinstance(venue, dict) or not isinstance(venue.get("name"), str) or not venue["name"]:
            return _error(400, "ARGUMENTS_ERROR", "There are errors with your arguments: venue.name - MISSING")
        address = venue.get("address") or {}
        country = address.get("country")
        if country is not None and not (isinstance(country, str) and COUNTRY.match(country)):
            return _error(400, "INVALID", "venue.address.country: country must be a two-letter ISO 3166-1 code")
        venue_id = str(next(ids))
        display = ", ".join(str(address[k]) for k in ("address_1", "city", "region", "postal_code") if address.get(k))
        body = {
            "id": venue_id,
            "name": venue["name"],
            "resource_uri": f"https://www.eventbriteapi.com/v3/venues/{venue_id}/",
            "organization_id": org,
            "capacity": venue.get("capacity"),
            "age_restriction": venue.get("age_restriction"),
            "address": {**address, "latitude": "37.7749", "longitude": "-122.4194", "localized_address_display": display},
        }
        return JSONResponse(body)

    async def projects(request: Request) -> Response:
        await record(request)
        if jira_token is not None:
            auth = request.headers.get("authorization", "")
            expected = "Basic " + base64.b64encode(f"{jira_user}:{jira_token}".encode()).decode()
            if auth != expected:
                return JSONResponse({"errorMessages": ["You are not authorized to perform this operation. Please log in."], "errors": {}}, status_code=401)
        return JSONResponse(PROJECTS)

    async def echo(request: Request) -> Response:
        entry = await record(request)
        files = [
            {"field": f["field"], "filename": f["filename"], "content_type": f["content_type"], "size": len(f["data"]), "sha256": hashlib.sha256(f["data"]).hexdigest()}
            for f in entry.get("files", [])
        ]
        return JSONResponse(
            {
                "method": entry["method"],
                "content_type": entry["content_type"],
                "size": len(entry["body"]),
                "sha256": hashlib.sha256(entry["body"]).hexdigest(),
                "form": entry.get("form"),
                "files": files,
            }
        )

    async def venues_xml(request: Request) -> Response:
        await record(request)
        return Response(VENUES_XML, media_type="application/xml")

    async def bookings(request: Request) -> Response:
        entry = await record(request)
        data = json.loads(entry["body"] or b"{}")
        if not isinstance(data, dict) or not data.get("guest", {}).get("email"):
            return JSONResponse({"message": "guest.email is required"}, status_code=422)
        return JSONResponse(
            {"id": f"bk_{next(ids)}", "room": request.path_params["room_id"], "status": "confirmed", **data}, status_code=201
        )

    async def slow(request: Request) -> Response:
        import asyncio

        await record(request)
        await asyncio.sleep(float(request.query_params.get("seconds", "2")))
        return JSONResponse({"late": True})

    async def status(request: Request) -> Response:
        await record(request)
        code = int(request.path_params["code"])
        return _error(code, "STATUS", f"You asked for {code}.")

    app = Starlette(
        routes=[
            Route("/v3/organizations/{organization_id}/venues/", venues, methods=["GET", "POST"]),
            Route("/rest/api/2/project", projects, methods=["GET"]),
            Route("/echo", echo, methods=["POST", "PUT", "PATCH"]),
            Route("/api/v2/rooms/{room_id}/bookings", bookings, methods=["POST"]),
            Route("/xml/venues", venues_xml, methods=["GET"]),
            Route("/slow", slow, methods=["GET"]),
            Route("/status/{code:int}", status, methods=["GET", "POST"]),
        ]
    )
    app.state.received = received
    return app


def serve(live_server, **options):
    """Start ``make_app(**options)`` on 127.0.0.1; return the server, with the app's
    ``received`` list as ``server.received``."""
    app = make_app(**options)
    server = live_server(app)
    server.received = app.state.received
    return server


def bearer_connection(connections, token: str, name: str = "evb"):
    """Create a header-auth connection sending ``Authorization: Bearer <token>``."""
    return connections.create({"name": name, "auth_type": "header", "settings": {"headers": {"Authorization": f"Bearer {token}"}}})
