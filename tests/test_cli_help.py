"""Every option and argument of every command says what it is for (issue 14, item
14). Walks the whole command tree, loading every registered module as the lazy
root would (the help's look: test_cli_output.py)."""

from __future__ import annotations

from plugwire.core.cli.lazy import available, load_command


def _walk(command, path):
    yield path, command
    for name, sub in sorted((getattr(command, "commands", None) or {}).items()):
        yield from _walk(sub, f"{path} {name}")


def _commands():
    out = []
    for name in available():
        out += list(_walk(load_command(name), f"plugwire {name}"))
    return out


def test_every_option_and_argument_has_help():
    missing = []
    for path, command in _commands():
        if command.hidden:
            continue
        for param in command.params:
            if getattr(param, "hidden", False):
                continue
            if not (getattr(param, "help", None) or "").strip():
                missing.append(f"{path}: {param.opts[0] if param.opts else param.name}")
    assert missing == [], "options and arguments without help:\n" + "\n".join(missing)
