"""Splitting a shell command line into words as bash does, for the cURL importer.

Browsers' "Copy as cURL" writes bash (``$'...'`` strings, backslash continuations)
or Windows cmd (``^`` continuations); vendor docs write either.
"""

from __future__ import annotations

from plugwire.core.base.errors import UserInputError

__all__ = ["split_command"]

_ANSI = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "a": "\a", "b": "\b", "e": "\x1b", "f": "\f", "v": "\v", "?": "?"}


def _ansi_c(text: str, i: int) -> tuple[str, int]:
    """Read a ``$'...'`` string starting after the opening quote; return (value, index after)."""
    out = []
    while i < len(text):
        ch = text[i]
        if ch == "'":
            return "".join(out), i + 1
        if ch != "\\" or i + 1 >= len(text):
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt in _ANSI:
            out.append(_ANSI[nxt])
            i += 2
            continue
        width = {"x": 2, "u": 4, "U": 8}.get(nxt)
        digits_from = i + 2 if width else i + 1
        allowed = "0123456789abcdefABCDEF" if width else "01234567"
        j = digits_from
        while j < len(text) and j - digits_from < (width or 3) and text[j] in allowed:
            j += 1
        if j > digits_from:
            code = int(text[digits_from:j], 16 if width else 8)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                # bash would write bytes that are not UTF-8; nothing can send them as text.
                raise UserInputError(
                    f"The cURL command's escape {text[i:j]!r} at character {i + 1} is not a Unicode character.",
                    field="curl",
                    fix="write the character itself, or an escape below \\U0010FFFF that is not a surrogate",
                )
            out.append(chr(code))
            i = j
        else:
            out.append("\\" + nxt)
            i += 2
    raise UserInputError("The cURL command has an unterminated $'...' string.", field="curl", fix="copy the whole command")


def split_command(text: str) -> list[str]:
    """Return the words of a shell command line as bash would split them (quotes,
    ``$'...'``, backslash escapes and line continuations; ``^`` continuations from
    Windows' "Copy as cURL (cmd)" too).

    Raises ``UserInputError`` (field ``curl``) for an unterminated quote.
    """
    words: list[str] = []
    cur: list[str] = []
    has_word = False
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "\\^" and text[i + 1 : i + 2] in ("\n", "\r"):
            i += 2 if text[i + 1 : i + 3] != "\r\n" else 3
            continue
        if ch.isspace():
            if has_word:
                words.append("".join(cur))
                cur, has_word = [], False
            i += 1
            continue
        has_word = True
        if ch == "\\" and i + 1 < n:
            cur.append(text[i + 1])
            i += 2
        elif ch == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise UserInputError("The cURL command has an unterminated single quote.", field="curl", fix="copy the whole command")
            cur.append(text[i + 1 : end])
            i = end + 1
        elif ch == "$" and text[i + 1 : i + 2] == "'":
            value, i = _ansi_c(text, i + 2)
            cur.append(value)
        elif ch == '"':
            i += 1
            while True:
                if i >= n:
                    raise UserInputError("The cURL command has an unterminated double quote.", field="curl", fix="copy the whole command")
                c = text[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\" and i + 1 < n and text[i + 1] in '$`"\\\n':
                    if text[i + 1] != "\n":
                        cur.append(text[i + 1])
                    i += 2
                    continue
                cur.append(c)
                i += 1
        else:
            cur.append(ch)
            i += 1
    if has_word:
        words.append("".join(cur))
    return words
