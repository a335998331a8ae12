"""cURL commands in and out: import one as the wizard's sample request, export an
action as one.

:func:`parse_curl` reads commands as browsers' devtools ("Copy as cURL") and vendor
docs print them: line continuations, single, double and ``$'...'`` quoting, combined
short options, ``-X``, ``-H``, ``-d``/``--data``/``--data-raw``/``--data-binary``
(``@file`` too), ``--data-urlencode``, ``--json``, ``-F``/``--form`` (``@file`` and
``<file``), ``-u``, ``-G``, ``--url``, ``-A``, ``-e``, ``-b``. Credentials it finds
(``-u``, ``--oauth2-bearer``) are kept apart from the request so they can go into a
connection instead of the saved action. :func:`to_curl` and :func:`action_to_curl`
(in :mod:`plugwire.core.curl.export`) print a request back.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote_plus

import httpx2
from pydantic import BaseModel, Field, SecretStr, ValidationError

from plugwire.core.base.errors import UserInputError, format_validation_error
from plugwire.core.base.urls import validate_absolute_url
from plugwire.core.curl.export import action_to_curl, to_curl
from plugwire.core.curl.shell import split_command
from plugwire.core.http.exchange import METHODS, FilePart, RequestSpec, add_field

__all__ = ["CurlImport", "action_to_curl", "parse_curl", "split_command", "to_curl"]

_WITH_VALUE = {
    "-X": "request", "--request": "request", "-H": "header", "--header": "header",
    "-d": "data", "--data": "data", "--data-ascii": "data", "--data-raw": "data-raw",
    "--data-binary": "data-binary", "--data-urlencode": "data-urlencode", "--json": "json",
    "-F": "form", "--form": "form", "--form-string": "form-string", "-u": "user", "--user": "user",
    "--url": "url", "-A": "user-agent", "--user-agent": "user-agent", "-e": "referer", "--referer": "referer",
    "-b": "cookie", "--cookie": "cookie", "-m": "max-time", "--max-time": "max-time", "--oauth2-bearer": "bearer",
    "-T": "upload-file", "--upload-file": "upload-file",
}
# Options with a value that change nothing about the request itself.
_IGNORED_WITH_VALUE = {
    "-o", "--output", "--connect-timeout", "--retry", "--retry-delay", "--retry-max-time", "-x", "--proxy",
    "--cacert", "--capath", "--cert", "-E", "--key", "--key-type", "--cert-type", "-w", "--write-out", "-r", "--range",
    "--resolve", "--connect-to", "-c", "--cookie-jar", "-D", "--dump-header", "--max-redirs", "--limit-rate",
    "--interface", "--local-port", "--proto", "--proto-redir", "--trace", "--trace-ascii", "--stderr", "-z",
    "--time-cond", "--pass", "--proxy-user", "-U", "--noproxy", "--dns-servers", "--expect100-timeout",
}
_FLAGS = {
    "-G": "get", "--get": "get", "-I": "head", "--head": "head", "-k": "insecure", "--insecure": "insecure",
    "--compressed": "compressed", "-L": "location", "--location": "location", "--location-trusted": "location",
    "--digest": "digest", "--basic": "basic",
}
_QUIET_FLAGS = set("sSviqfNgOn#Z46") | {
    "--silent", "--show-error", "--verbose", "--include", "--fail", "--fail-with-body", "--no-buffer", "--globoff",
    "--remote-name", "--netrc", "--http1.0", "--http1.1", "--http2", "--http2-prior-knowledge", "--http3", "--raw",
    "--no-keepalive", "--tlsv1", "--tlsv1.2", "--tlsv1.3", "--ssl", "--ssl-reqd", "--progress-bar", "--ipv4", "--ipv6",
    "--path-as-is", "--no-progress-meter", "--tcp-nodelay", "--anyauth", "--ntlm", "--negotiate",
}


class CurlImport(BaseModel):
    """A cURL command read as a request, its credentials kept apart, and notes on
    what was ignored."""

    request: RequestSpec
    username: str | None = None
    password: SecretStr | None = None
    bearer: SecretStr | None = None
    insecure: bool = False
    timeout: float | None = None
    notes: list[str] = Field(default_factory=list)

    def basic_header(self) -> dict[str, str]:
        """Return the ``Authorization: Basic`` header of ``-u``, or ``{}``."""
        if self.username is None:
            return {}
        raw = f"{self.username}:{self.password.get_secret_value() if self.password else ''}"
        return {"Authorization": "Basic " + base64.b64encode(raw.encode()).decode()}


# -- parsing ----------------------------------------------------------------------------
def _file(path: str, option: str) -> FilePart:
    """Return a file part for ``path``, refused now when no file can have that name."""
    if not path or "\x00" in path:
        raise UserInputError(f"{option} @{path!r}: that is not a file name.", field="curl", fix=f"give {option} the path of a file")
    return FilePart(field="", path=path)


def _read_bytes(path: str, option: str) -> bytes:
    try:
        return Path(_file(path, option).path).expanduser().read_bytes()  # type: ignore[arg-type]
    except OSError as exc:
        raise UserInputError(f"{option} @{path}: cannot read the file ({exc.strerror}).", field="curl", fix="run the import where the file is") from None


def _read(path: str, option: str, *, strip_newlines: bool) -> str:
    try:
        text = _read_bytes(path, option).decode("utf-8")
    except UnicodeDecodeError:
        raise UserInputError(
            f"{option} @{path}: the file is not UTF-8 text.", field="curl", fix="send a binary file with --data-binary @FILE or -T FILE"
        ) from None
    return text.replace("\r", "").replace("\n", "") if strip_newlines else text


def _urlencode_part(value: str) -> str:
    # curl's --data-urlencode forms: "content", "=content", "name=content", "@file", "name@file".
    if "=" in value and not value.startswith("="):
        name, _, content = value.partition("=")
        return f"{name}={quote_plus(content)}"
    if value.startswith("="):
        return quote_plus(value[1:])
    if "@" in value:
        name, _, path = value.partition("@")
        content = quote_plus(_read(path, "--data-urlencode", strip_newlines=False))
        return f"{name}={content}" if name else content
    return quote_plus(value)


def _options(words: list[str]) -> list[tuple[str, str | None]]:
    """Return ``(option kind, value)`` pairs in order; URLs come as ``("url", URL)``."""
    out: list[tuple[str, str | None]] = []
    i = 0
    while i < len(words):
        w = words[i]
        i += 1
        if w.startswith("--"):
            if w in _WITH_VALUE or w in _IGNORED_WITH_VALUE:
                if i >= len(words):
                    raise UserInputError(f"The cURL option {w} needs a value.", field="curl", fix=f"give {w} its value")
                out.append((_WITH_VALUE.get(w, "ignored:" + w), words[i]))
                i += 1
            elif w in _FLAGS:
                out.append((_FLAGS[w], None))
            elif w in _QUIET_FLAGS:
                continue
            else:
                out.append(("unknown:" + w, None))
        elif w.startswith("-") and len(w) > 1:
            j = 1
            while j < len(w):
                opt = "-" + w[j]
                if opt in _WITH_VALUE or opt in _IGNORED_WITH_VALUE:
                    value = w[j + 1 :]
                    if not value:
                        if i >= len(words):
                            raise UserInputError(f"The cURL option {opt} needs a value.", field="curl", fix=f"give {opt} its value")
                        value = words[i]
                        i += 1
                    out.append((_WITH_VALUE.get(opt, "ignored:" + opt), value))
                    break
                if opt in _FLAGS:
                    out.append((_FLAGS[opt], None))
                elif w[j] not in _QUIET_FLAGS:
                    out.append(("unknown:" + opt, None))
                j += 1
        else:
            out.append(("url", w))
    return out


def parse_curl(command: str) -> CurlImport:
    """Return the request a cURL command sends, with ``-u``/``--oauth2-bearer``
    credentials apart and notes on anything ignored.

    Raises ``UserInputError`` (field ``curl``) when it is not a curl command, has no
    URL, or names a file that cannot be read.
    """
    words = split_command(command.strip())
    if words and Path(words[0]).name.lower() in ("curl", "curl.exe"):
        words = words[1:]
    elif not words or not words[0].startswith(("http://", "https://", "-")):
        raise UserInputError("This is not a cURL command.", field="curl", fix="paste a command starting with curl")
    result = CurlImport(request=RequestSpec())
    method = None
    url = None
    headers: dict[str, str] = {}
    data: list[str] = []
    is_json = False
    form: dict[str, Any] = {}
    files: list[FilePart] = []
    get = head = False
    upload_method = "PUT"
    for kind, value in _options(words):
        if kind == "url":
            url = url or value
        elif kind == "request":
            method = value.strip().upper()
            if method not in METHODS:
                raise UserInputError(
                    f"The cURL command's -X {value!r} is not an HTTP method plugwire sends.",
                    field="curl",
                    fix=f"write -X with one of {', '.join(METHODS)}, then the URL",
                )
        elif kind == "header":
            name, sep, val = value.partition(":")
            if not sep and name.endswith(";"):
                headers[name[:-1].strip()] = ""
            elif sep and val.strip():
                headers[name.strip()] = val.strip()
        elif kind == "data":
            data.append(_read(value[1:], "-d", strip_newlines=True) if value.startswith("@") else value)
        elif kind == "data-raw":
            data.append(value)
        elif kind == "data-binary" and value.startswith("@"):
            try:
                data.append(_read(value[1:], "--data-binary", strip_newlines=False))
            except UserInputError:
                _read_bytes(value[1:], "--data-binary")  # unreadable: that error, not "not UTF-8"
                files.append(_file(value[1:], "--data-binary"))  # not text: sent as its bytes
                upload_method = "POST"
        elif kind == "data-binary":
            data.append(value)
        elif kind == "data-urlencode":
            data.append(_urlencode_part(value))
        elif kind == "json":
            is_json = True
            data.append(_read(value[1:], "--json", strip_newlines=False) if value.startswith("@") else value)
        elif kind in ("form", "form-string"):
            name, _, val = value.partition("=")
            if kind == "form" and val.startswith("@"):
                path, *params = val[1:].split(";")
                opts = dict(p.split("=", 1) for p in params if "=" in p)
                _file(path, "-F")
                files.append(FilePart(field=name, path=path, filename=opts.get("filename", "").strip('"') or None, content_type=opts.get("type")))
            elif kind == "form" and val.startswith("<"):
                form[name] = _read(val[1:].split(";")[0], "-F", strip_newlines=False)
            else:
                add_field(form, name, val.split(";type=")[0] if kind == "form" else val)
        elif kind == "user":
            user, sep, password = value.partition(":")
            result.username = user
            result.password = SecretStr(password) if sep else None
            if not sep:
                result.notes.append("-u gave a user name without a password; add the password to the connection.")
        elif kind == "bearer":
            result.bearer = SecretStr(value)
        elif kind in ("user-agent", "referer", "cookie") and not value.strip():
            continue  # curl -A "" sends no User-Agent; -b "" only starts its cookie engine
        elif kind == "user-agent":
            headers["User-Agent"] = value
        elif kind == "referer":
            headers["Referer"] = value
        elif kind == "cookie":
            headers["Cookie"] = value if "=" in value else _read(value, "-b", strip_newlines=False).strip()
        elif kind == "max-time":
            try:
                seconds = float(value)
            except ValueError:
                seconds = -1.0
            if 0 < seconds < 86400:
                result.timeout = seconds
            else:
                result.notes.append(f"-m {value!r} is not a number of seconds (up to a day); ignored.")
        elif kind == "get":
            get = True
        elif kind == "head":
            head = True
        elif kind == "insecure":
            result.insecure = True
            result.notes.append("-k/--insecure was ignored: certificate checks are the connection's setting (verify_tls).")
        elif kind == "upload-file":
            files.append(_file(value, "-T"))
        elif kind == "digest":
            result.notes.append("--digest: use a connection with the digest auth type for these credentials.")
        elif kind.startswith("ignored:"):
            result.notes.append(f"{kind[8:]} was ignored (it does not change the request).")
        elif kind.startswith("unknown:"):
            result.notes.append(f"{kind[8:]} is not an option plugwire knows; ignored.")
    if not url:
        raise UserInputError("The cURL command has no URL.", field="curl", fix="include the URL (or --url URL)")
    if "://" not in url:
        result.notes.append(f"The URL {url!r} had no scheme; curl's default http:// was added.")
        url = "http://" + url
    try:
        url = validate_absolute_url(url, "url")
    except UserInputError as exc:
        raise UserInputError(f"The cURL command's {exc}", field="curl") from None
    variables = sorted({m for w in words for m in re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", w)})
    if variables:
        result.notes.append("The command uses shell variables (" + ", ".join(variables) + "); they were kept as written, not expanded.")
    try:
        result.request = _request(method, url, headers, data, is_json, form, files, result.notes, get=get, head=head,
                                  upload_method=upload_method)
        if result.bearer is not None:  # it may become a header of the request: held to the same rules
            RequestSpec(headers={"Authorization": "Bearer " + result.bearer.get_secret_value()})
    except ValidationError as exc:
        raise UserInputError(
            f"The cURL command makes a request plugwire cannot send: {format_validation_error(exc)}.",
            field="curl",
            fix="correct the option named above",
        ) from None
    return result


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _request(method, url, headers, data, is_json, form, files, notes: list[str], *, get: bool, head: bool,
             upload_method: str) -> RequestSpec:
    parsed = httpx2.URL(url)
    query: dict[str, Any] = {}
    for key, value in parsed.params.multi_items():
        add_field(query, key, value)
    base = str(parsed.copy_with(query=None, fragment=None))
    ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    spec: dict[str, Any] = {"url": base, "headers": headers, "query": query}
    upload = [f for f in files if f.field == ""]
    files = [f for f in files if f.field != ""]
    if is_json:
        headers.setdefault("Accept", "application/json")
        ctype = ctype or "application/json"
    joined = ("" if is_json else "&").join(data)
    if get and data:
        for key, value in parse_qsl(joined, keep_blank_values=True):
            add_field(query, key, value)
        data = []
    if form or files:
        spec.update(body=form or None, body_format="multipart", files=files)
        default = "POST"
    elif upload:
        spec.update(body=base64.b64encode(_read_bytes(upload[0].path or "", "-T")).decode(), body_format="binary", content_type=ctype)
        default = upload_method
    elif data:
        if ctype is None and joined.lstrip()[:1] in ("{", "[") and _is_json(joined):
            # Vendor docs often write -d '{...}' and rely on the API ignoring curl's
            # form content type; the request is meant as JSON, so send it as JSON.
            notes.append("-d carried JSON without a Content-Type; it is sent as application/json (curl would say form-urlencoded).")
            ctype = "application/json"
        spec.update(_body_from_text(joined, ctype or "application/x-www-form-urlencoded"))
        default = "POST"
    else:
        default = "HEAD" if head else "GET"
    spec["method"] = method or default
    return RequestSpec.model_validate(spec)


def _body_from_text(text: str, ctype: str) -> dict[str, Any]:
    low = ctype.lower()
    keep = None if low in ("application/json", "application/x-www-form-urlencoded", "application/xml") else ctype
    if "json" in low:
        try:
            return {"body": json.loads(text), "body_format": "json", "content_type": keep}
        except ValueError:
            return {"body": text, "body_format": "text", "content_type": ctype}
    if low.startswith("application/x-www-form-urlencoded"):
        # Only a body that is really NAME=VALUE pairs becomes fields; anything else is sent verbatim.
        if text and all("=" in part and not part.startswith("=") for part in text.split("&")):
            fields: dict[str, Any] = {}
            for k, v in parse_qsl(text, keep_blank_values=True):
                add_field(fields, k, v)
            return {"body": fields, "body_format": "form", "content_type": keep}
        return {"body": text, "body_format": "text", "content_type": ctype}
    if "xml" in low:
        return {"body": text, "body_format": "xml", "content_type": keep}
    return {"body": text, "body_format": "text", "content_type": ctype}
