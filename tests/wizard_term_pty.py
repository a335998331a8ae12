"""Run ``plugwire`` in a pseudo-terminal, as a person at a terminal would see it.

``Terminal(args, env)`` starts the command with a pty as its stdin, stdout and
stderr (rich sees a terminal: colours, prompts, markup rendering). ``expect(text)``
reads until ``text`` has appeared in the output (escape codes removed), returning
everything read since the last expect; ``send(line)`` types a line. Reading waits on
the pty with ``select`` until the text arrives; the deadline only bounds a test that
would otherwise hang, it times nothing.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time

__all__ = ["Terminal", "plain"]

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[=>]")
_DEADLINE = 60.0  # a hung wizard fails the test instead of hanging the suite


def plain(text: str) -> str:
    """Return ``text`` without terminal escape codes and carriage returns."""
    return _ANSI.sub("", text).replace("\r", "")


class Terminal:
    """One ``plugwire ARGS`` run in a pseudo-terminal of ``columns`` columns."""

    def __init__(self, args: list[str], env: dict[str, str], *, columns: int = 100):
        main, child = os.openpty()
        env = {k: v for k, v in env.items() if k != "CI"}  # CI would make plugwire treat it as unattended
        env.update(TERM="xterm-256color", COLUMNS=str(columns), LINES="50")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "plugwire", *args], stdin=child, stdout=child, stderr=child,
            env=env, start_new_session=True, close_fds=True,
        )
        os.close(child)
        self._fd = main
        self._seen = ""  # the whole output so far, plain
        self._mark = 0  # where the last expect() stopped

    def _read(self, deadline: float) -> bool:
        """Read what is there (waiting until ``deadline``); return False at end of output."""
        ready, _, _ = select.select([self._fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return True
        try:
            data = os.read(self._fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        if not data:
            return False
        self._seen += plain(data.decode("utf-8", "replace"))
        return True

    def expect(self, text: str) -> str:
        """Read until ``text`` appears after the last match; return the output from the
        last match to the end of this one. Fails the test, showing the output, when
        the command ends or the deadline passes first."""
        deadline = time.monotonic() + _DEADLINE
        while True:
            at = self._seen.find(text, self._mark)
            if at >= 0:
                chunk = self._seen[self._mark: at + len(text)]
                self._mark = at + len(text)
                return chunk
            if time.monotonic() > deadline or not self._read(deadline):
                raise AssertionError(f"{text!r} never appeared; the terminal showed:\n{self._seen[self._mark:]}")

    def send(self, line: str) -> None:
        """Type ``line`` and Enter."""
        os.write(self._fd, line.encode("utf-8") + b"\r")

    def wait(self) -> int:
        """Read to the end of the output and return the exit code."""
        deadline = time.monotonic() + _DEADLINE
        while time.monotonic() < deadline and self._read(deadline):
            pass
        return self.proc.wait(timeout=max(1.0, deadline - time.monotonic()))

    @property
    def output(self) -> str:
        """Everything shown so far, plain."""
        return self._seen

    def close(self) -> None:
        """End the command if it still runs, and close the terminal."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait()
        os.close(self._fd)
