"""``plugwire connections``: add, list, show, edit, remove, test, connect, types."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from plugwire.core.base.errors import UserInputError
from plugwire.core.cli.common import (
    JSON_OPTION,
    KEY,
    SHORT,
    TEXT,
    console,
    err_console,
    escape,
    home,
    print_json,
    print_table,
    stdin_is_interactive,
)

if TYPE_CHECKING:
    from plugwire.core.connections.model import Connections

# Engine modules are imported inside the commands that use them: `connections list`
# needs no plugin, no cipher and no pydantic, and starts in a fraction of the time.

app = typer.Typer(help="Accounts on HTTP APIs: their auth, certificate and route.", no_args_is_help=True)

SET_HELP = "A setting of the auth type, KEY=VALUE (dotted keys for mappings: headers.Accept=json). Repeatable."
NAME_HELP = "The connection's name (see `plugwire connections list`)."
TIMEOUT_HELP = "Seconds to wait for an answer (default 30, at most 600)."
DESCRIPTION_HELP = "A note for people: what this account is for."
SECRET_HELP = (
    "A secret setting, KEY=SOURCE where SOURCE is env:VAR, file:PATH, - (stdin) or prompt. "
    "Secrets are never taken from the command line itself. Repeatable."
)

# The options `add` and `edit` share, declared once.
SET_OPTION = typer.Option([], "--set", help=SET_HELP)
SECRET_OPTION = typer.Option([], "--secret", help=SECRET_HELP)
BASE_URL_OPTION = typer.Option(None, "--base-url", help="The API's base URL: relative paths and suggestions start from it.")
TEST_URL_OPTION = typer.Option(None, "--test-url", help="URL that `connections test` sends a GET to.")
CERT_OPTION = typer.Option(None, "--cert-file", help="Client certificate (PEM) for mutual TLS.")
KEY_OPTION = typer.Option(None, "--key-file", help="Client private key (PEM), unless it is in the certificate file.")
KEY_PASSWORD_OPTION = typer.Option(None, "--key-password", help="SOURCE of the key's password: env:VAR, file:PATH, - or prompt.")
CA_OPTION = typer.Option(None, "--ca-file", help="CA bundle (PEM) to trust for the server.")
AGENT_URL_OPTION = typer.Option(None, "--agent-url", help="URL of the on-premise agent/proxy (http, https or socks5).")
MAX_BYTES_OPTION = typer.Option(
    None, "--max-response-bytes", help="Bytes of a response body kept (default 10 MB); longer answers are refused."
)


def _service() -> Connections:
    from plugwire.core.connections.model import Connections

    return Connections(home())


def _auth_types() -> Any:
    from plugwire.core.plugincore.manager import auth_types

    return auth_types


def _text(value: Any) -> str:
    # ensure_ascii=False: a masked value reads as its bullets, not as \u2022 escapes.
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)


def _show(conn_public: dict[str, Any]) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    # Text cells: names, URLs and settings are the user's and the API's, not rich markup.
    for key, value in conn_public.items():
        if key == "settings":
            continue
        if value in (None, "", False) and key not in ("verify_tls",):
            continue
        table.add_row(Text(key), Text(_text(value)))
    for key, value in (conn_public.get("settings") or {}).items():
        table.add_row(Text(f"settings.{key}"), Text(_text(value)))
    console.print(table)


@app.command("add")
def add(
    name: Optional[str] = typer.Argument(None, help="Unique connection name."),
    auth: Optional[str] = typer.Option(None, "--auth", "-a", help="Auth type (see `plugwire connections types`)."),
    sets: list[str] = SET_OPTION,
    secrets: list[str] = SECRET_OPTION,
    provider: Optional[str] = typer.Option(None, "--provider", help="Catalogue provider id or a URL on its host: pre-fills the auth settings."),
    base_url: Optional[str] = BASE_URL_OPTION,
    test_url: Optional[str] = TEST_URL_OPTION,
    cert_file: Optional[Path] = CERT_OPTION,
    key_file: Optional[Path] = KEY_OPTION,
    key_password: Optional[str] = KEY_PASSWORD_OPTION,
    ca_file: Optional[Path] = CA_OPTION,
    private_network: bool = typer.Option(False, "--private-network", help="Route requests through the on-premise agent."),
    agent_url: Optional[str] = AGENT_URL_OPTION,
    no_verify_tls: bool = typer.Option(False, "--no-verify-tls", help="Do not verify the server certificate (unsafe)."),
    timeout: float = typer.Option(30.0, "--timeout", help=TIMEOUT_HELP),
    max_response_bytes: Optional[int] = MAX_BYTES_OPTION,
    description: str = typer.Option("", "--description", help=DESCRIPTION_HELP),
    restricted_ip: Optional[bool] = typer.Option(None, "--restricted-ip", hidden=True, help="Deprecated; use --private-network."),
    from_file: Optional[Path] = typer.Option(None, "--from-file", help="Read the whole connection (settings included) from a JSON/YAML file."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Create a connection."""
    from plugwire.core.cli.connection_input import (
        ask_provider_fields,
        certificate_input,
        load_spec,
        prefill_for,
        put_dotted,
        settings_from_flags,
    )

    data: dict[str, Any] = load_spec(from_file) if from_file else {}
    defaults: dict[str, Any] = {}
    if provider:
        defaults = prefill_for(provider)
        data.setdefault("provider", defaults.get("provider"))
        data.setdefault("auth_type", defaults.get("auth_type"))
        data.setdefault("base_url", defaults.get("base_url"))
    if name:
        data["name"] = name
    if auth:
        data["auth_type"] = auth
    if not data.get("name"):
        raise UserInputError("name is missing.", field="name", fix="give the connection a name: plugwire connections add NAME --auth TYPE")
    if not data.get("auth_type"):
        raise UserInputError(
            "auth_type is missing.", field="auth_type", fix=f"add --auth TYPE, one of: {', '.join(_auth_types().names())}"
        )
    existing = set((data.get("settings") or {}).keys())
    asked = ask_provider_fields(defaults, sets, secrets, data.get("settings") or {}) if defaults.get("auth_type") == data["auth_type"] else {}
    existing |= {key.split(".", 1)[0] for key in asked}
    flags = settings_from_flags(data["auth_type"], sets, secrets, prompt_missing=True, existing=existing | set(defaults.get("settings", {})))
    settings = {**defaults.get("settings", {}), **(data.get("settings") or {}), **flags}
    for key, value in asked.items():
        put_dotted(settings, key, value)
    data["settings"] = settings
    for key, value in (("base_url", base_url), ("test_url", test_url), ("agent_url", agent_url)):
        if value is not None:
            data[key] = value
    if description:
        data["description"] = description
    if private_network:
        data["private_network"] = True
    if no_verify_tls:
        data["verify_tls"] = False
    if timeout != 30.0:
        data["timeout"] = timeout
    if max_response_bytes is not None:
        data["max_response_bytes"] = max_response_bytes
    if restricted_ip is not None:
        data["restricted_ip"] = restricted_ip
    cert = certificate_input(cert_file, key_file, key_password, ca_file)
    if cert:
        data["client_certificate"] = cert
    conn = _service().create(data)
    if as_json:
        print_json(conn.public())
        return
    console.print(f"Created connection [bold]{escape(conn.name)}[/] ({escape(conn.auth_type)}).")
    _show(conn.public())
    if conn.auth_type_plugin().interactive:
        console.print(f"Next: [bold]plugwire connections connect {escape(repr(conn.name))}[/] to authorize it.")


@app.command("list")
def list_(as_json: bool = JSON_OPTION) -> None:
    """List connections (secrets masked)."""
    if as_json:
        print_json([c.public() for c in _service().list()])
        return
    from plugwire.core.cli.connections_list import run

    run()


@app.command("show")
def show(name: str = typer.Argument(..., help=NAME_HELP), as_json: bool = JSON_OPTION) -> None:
    """Show one connection (secrets masked)."""
    conn = _service().get(name)
    if as_json:
        print_json(conn.public())
    else:
        _show(conn.public())


@app.command("edit")
def edit(
    name: str = typer.Argument(..., help=NAME_HELP),
    rename: Optional[str] = typer.Option(None, "--rename", help="A new name for the connection."),
    auth: Optional[str] = typer.Option(None, "--auth", "-a", help="Another auth type; its required secrets are asked for."),
    sets: list[str] = SET_OPTION,
    secrets: list[str] = SECRET_OPTION,
    unset: list[str] = typer.Option([], "--unset", help="Remove a setting (dotted for one header or parameter: headers.X-Old). Repeatable."),
    base_url: Optional[str] = BASE_URL_OPTION,
    test_url: Optional[str] = TEST_URL_OPTION,
    cert_file: Optional[Path] = CERT_OPTION,
    remove_cert: bool = typer.Option(False, "--remove-cert", help="Drop the client certificate (and its key and CA)."),
    key_file: Optional[Path] = KEY_OPTION,
    key_password: Optional[str] = KEY_PASSWORD_OPTION,
    ca_file: Optional[Path] = CA_OPTION,
    private_network: Optional[bool] = typer.Option(
        None, "--private-network/--public-network", help="Route requests through the on-premise agent, or straight to the API."
    ),
    agent_url: Optional[str] = AGENT_URL_OPTION,
    verify_tls: Optional[bool] = typer.Option(
        None, "--verify-tls/--no-verify-tls", help="Verify the server's certificate (the default), or not (unsafe)."
    ),
    timeout: Optional[float] = typer.Option(None, "--timeout", help=TIMEOUT_HELP),
    max_response_bytes: Optional[int] = MAX_BYTES_OPTION,
    description: Optional[str] = typer.Option(None, "--description", help=DESCRIPTION_HELP),
    restricted_ip: Optional[bool] = typer.Option(None, "--restricted-ip", hidden=True),
    as_json: bool = JSON_OPTION,
) -> None:
    """Change a connection; settings left out keep their values (secrets too)."""
    from plugwire.core.cli.connection_input import certificate_input, settings_from_flags

    service = _service()
    current = service.get(name)
    auth_name = auth or current.auth_type
    changes: dict[str, Any] = {}
    if auth:
        changes["auth_type"] = auth
    settings = settings_from_flags(auth_name, sets, secrets, prompt_missing=bool(auth and auth != current.auth_type))
    if settings:
        changes["settings"] = settings
    for key, value in (
        ("name", rename), ("base_url", base_url), ("test_url", test_url), ("agent_url", agent_url),
        ("private_network", private_network), ("verify_tls", verify_tls), ("timeout", timeout),
        ("max_response_bytes", max_response_bytes),
        ("description", description), ("restricted_ip", restricted_ip),
    ):
        if value is not None:
            changes[key] = value
    if remove_cert:
        changes["client_certificate"] = None
    cert = certificate_input(cert_file, key_file, key_password, ca_file)
    if cert:
        changes["client_certificate"] = cert
    if not changes and not unset:
        raise UserInputError("Nothing to change.", field="options", fix="pass at least one option, e.g. --test-url URL")
    conn = service.edit(name, changes, unset=unset)
    if as_json:
        print_json(conn.public())
        return
    console.print(f"Updated connection [bold]{escape(conn.name)}[/].")
    _show(conn.public())


@app.command("remove")
def remove(name: str = typer.Argument(..., help=NAME_HELP), yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask."), as_json: bool = JSON_OPTION) -> None:
    """Remove a connection and its stored tokens."""
    service = _service()
    service.get(name)
    if not yes and stdin_is_interactive():
        typer.confirm(f"Remove connection {name!r}?", abort=True)
    service.remove(name)
    if as_json:
        print_json({"removed": name})
    else:
        console.print(f"Removed connection [bold]{escape(name)}[/].")


@app.command("test")
def test(
    name: str = typer.Argument(..., help=NAME_HELP),
    url: Optional[str] = typer.Option(None, "--url", help="URL to GET instead of the connection's test URL."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Send a GET through the connection and say plainly what happened."""
    from plugwire.core.http.testconn import test_connection

    service = _service()
    conn = service.get(name)
    if not (url or conn.options.test_url):
        raise UserInputError(
            f"Connection {name!r} has no test URL.", field="test_url", fix=f"pass --url URL or set it: plugwire connections edit {name!r} --test-url URL"
        )
    result = test_connection(conn, service, url)
    if as_json:
        print_json(result.model_dump(mode="json"))
    else:
        style = "green" if result.ok else "red"
        # The message may quote the API, whose text is not rich markup ("[/v1/items]").
        console.print(f"[{style}]{result.outcome.value}[/]: {escape(result.message)}")
    if not result.ok:
        raise typer.Exit(1)


@app.command("connect")
def connect(
    name: str = typer.Argument(..., help=NAME_HELP),
    no_browser: bool = typer.Option(False, "--no-browser", help="Only print the authorize URL."),
    timeout: float = typer.Option(300.0, "--timeout", help="Seconds to wait for the callback."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run an interactive authorization (OAuth2, OAuth 1.0a): open the authorize URL, wait for the
    callback on 127.0.0.1, store the token."""
    from plugwire.core.connections.authorize import run_authorization

    service = _service()
    conn = service.get(name)

    def show_url(url: str) -> None:
        # With --json, stdout carries only the result document: the URL goes to stderr.
        out = err_console if as_json else console
        out.print(f"Open this URL to authorize [bold]{escape(conn.name)}[/]:")
        out.print(url, markup=False, soft_wrap=True)

    result = run_authorization(conn, service, show_url=show_url, open_browser=not no_browser, timeout=timeout)
    if as_json:
        print_json(result)
    else:
        console.print(f"[green]Connected[/] {escape(conn.name)}: {escape(str(result.get('message', 'token stored')))}.")


@app.command("types")
def types(auth: Optional[str] = typer.Argument(None, help="Show the fields of one auth type."), as_json: bool = JSON_OPTION) -> None:
    """List the auth types and, for one, its fields."""
    auth_types = _auth_types()
    if auth:
        found = auth_types.get(auth)
        if found is None:
            raise UserInputError(f"auth_type: unknown auth type {auth!r}.", field="auth_type", fix=f"use one of: {', '.join(auth_types.names())}")
        fields = found.describe_fields()
        if as_json:
            print_json({"name": found.name, "title": found.title, "interactive": found.interactive, "fields": fields})
            return
        console.print(f"[bold]{escape(found.name)}[/]: {escape(found.title)}. {escape(found.description)}")
        print_table(
            [("field", KEY), ("type", SHORT), ("required", SHORT), ("secret", SHORT), ("description", TEXT)],
            [[f["name"], f["type"], "yes" if f["required"] else "", "yes" if f["secret"] else "", f["description"]] for f in fields],
        )
        return
    items = auth_types.items()
    if as_json:
        print_json([{"name": a.name, "title": a.title, "interactive": a.interactive, "description": a.description} for a in items.values()])
        return
    print_table(
        [("auth type", KEY), ("title", TEXT), ("description", TEXT)],
        [[a.name, a.title, a.description] for a in sorted(items.values(), key=lambda a: a.name)],
    )


# `fields` reads better for one type; both names work.
app.command("fields", help="Show the fields of one auth type.")(types)


def attach(root: typer.Typer) -> None:
    """Add the ``connections`` group to the ``plugwire`` command."""
    root.add_typer(app, name="connections")
