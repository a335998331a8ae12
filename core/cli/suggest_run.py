"""What ``plugwire suggest`` does, and how its everyday command lines are read
without typer.

``plugwire suggest METHOD URL`` is what a user types most while building a request,
and it must answer quickly (issue 14: within 0.35 s). typer and its click cost
~0.04 s of a start-up that has ~0.2 s to spend, so :func:`plain_args` reads the
command lines that are nothing but ``METHOD [URL] [--limit N | -n N] [--json]``
itself, and :func:`plugwire.core.cli.main` runs them here; everything else
(``--help``, an unknown option, a value typer would refuse, ``--``) goes through
typer, whose messages stay the only ones. The typer command
(:func:`plugwire.core.cli.knowledge.suggest_command`) calls :func:`run` too, and a
test runs the same command lines both ways and compares what they print.

Nothing here imports typer, rich or click.
"""

from __future__ import annotations

import json

from plugwire.core.cli.textout import KEY, SHORT, TEXT, print_json, print_table, say

__all__ = ["LIMIT_DEFAULT", "LIMIT_MAX", "LIMIT_MIN", "plain_args", "run"]

LIMIT_DEFAULT, LIMIT_MIN, LIMIT_MAX = 5, 1, 50


def plain_args(args: list[str]) -> tuple[str, str | None, int, bool] | None:
    """Return ``(method, url, limit, as_json)`` when ``args`` are ``suggest`` and
    nothing but what :func:`run` takes, written plainly; otherwise None (typer reads
    them, with its own help and errors)."""
    if not args or args[0] != "suggest":
        return None
    positional: list[str] = []
    limit, as_json, seen = LIMIT_DEFAULT, False, set()
    rest = args[1:]
    i = 0
    while i < len(rest):
        arg = rest[i]
        value: str | None = None
        if arg == "--json":
            name = "json"
        elif arg in ("--limit", "-n"):
            if i + 1 >= len(rest):
                return None
            name, value = "limit", rest[i + 1]
            i += 1
        elif arg.startswith("--limit="):
            name, value = "limit", arg[len("--limit="):]
        elif arg.startswith("-") and arg != "-":
            return None  # --help, -h, --, another option: typer's to answer
        else:
            positional.append(arg)
            i += 1
            continue
        if name in seen:
            return None  # a repeated option: typer's rule (the last one wins) applies
        seen.add(name)
        if name == "json":
            as_json = True
        else:
            # Digits only, in range: anything else is typer's to refuse in its words.
            if value is None or not value.isascii() or not value.isdigit() or not LIMIT_MIN <= int(value) <= LIMIT_MAX:
                return None
            limit = int(value)
        i += 1
    if not 1 <= len(positional) <= 2:
        return None
    method = positional[0]
    url = positional[1] if len(positional) == 2 else None
    return method, url, limit, as_json


def run(method: str, url: str | None, limit: int, as_json: bool) -> None:
    """Recommend a sample request for ``method`` and ``url`` and print it: a table of
    suggestions, why the best fits, and its sample (or JSON with ``as_json``).

    Raises ``UserInputError`` for a bad method or URL (naming the field and the fix).
    """
    from plugwire.core.wizard.suggest import request_line, suggest_data

    verb, full, notes = request_line(method, url)
    # The result in its JSON form: a suggester that answers in data (the built-in one
    # does) costs no pydantic, a third of this command's start-up.
    result = suggest_data(verb, full, limit=limit)
    result["notes"][:0] = notes
    if as_json:
        print_json(result)
        return
    for note in result["notes"]:
        say("Note:", note, err=True)
    for problem in result["problems"]:
        say("Warning:", problem, style="yellow", err=True)
    if not result["suggestions"]:
        say("", result["message"] or "No suggestion.")
        return
    rows = [
        [f"{s['score']:.2f}", s["provider_name"] or s["provider"] or "", s["endpoint"] or "", s["summary"] or "",
         s["suggester"] + (" (learned)" if s["learned"] else "")]
        for s in result["suggestions"]
    ]
    print_table([("score", SHORT), ("provider", KEY), ("endpoint", KEY), ("summary", TEXT), ("source", SHORT)], rows)
    best = result["suggestions"][0]
    say("Why:", best["reason"])
    req = best["request"]
    say("Sample request:", f"{req['method']} {req['url']}")
    for label in ("headers", "query"):
        if req[label]:
            say(f"{label}:", json.dumps(req[label], ensure_ascii=False))
    if req["body"] is not None:
        body = req["body"] if isinstance(req["body"], str) else json.dumps(req["body"], indent=2, ensure_ascii=False)
        say(f"body ({req['body_format']}, {req['content_type']}):")
        say("", body)
    if best["docs_url"]:
        say("Docs:", best["docs_url"])
