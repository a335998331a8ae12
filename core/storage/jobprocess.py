"""The job store's writer process: the server's asynchronous writes, committed by a
child process with its own interpreter.

Why a process: a writer *thread* gives the interpreter lock up for every SQLite
statement step and then waits, up to the switch interval, for the busy event loop
to hand it back; measured under a webhook burst, those hand-overs cost the intake a
third of its throughput, SQLite's own work almost nothing (bench/README.md). Here
the event loop sends each batch as one message down a pipe and reads the answer
when the pipe says it is there: the lock never changes hands.

Durability is unchanged: the child answers a batch only after its ``COMMIT``
returned, and a future is settled only from that answer. When the child is gone
(killed, or the store's file refused), the batch's futures fail with a
``StorageError`` (a webhook is then not acknowledged) and the next write starts a
new child. When the server dies, the child reads the end of its pipe, finishes the
batch it holds and exits.

Messages are an 8-byte length and a pickle (operations from
:mod:`plugwire.core.storage.jobwriter` one way, ``(result, error)`` pairs back); only
this package's two ends ever read them.
"""

from __future__ import annotations

import os
import pickle
import signal
import sqlite3
import struct
import subprocess
import sys
from typing import TYPE_CHECKING, Any

from plugwire.core.base.errors import StorageError

if TYPE_CHECKING:
    import asyncio

__all__ = ["WriterProcess"]

_HEADER = struct.Struct("<Q")
#: Operations per message: a larger backlog goes in several batches.
MAX_BATCH = 512


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class WriterProcess:
    """One child process committing the writes of one event loop, a batch at a time.

    While a batch is being committed, new writes gather; they go as the next batch
    the moment the answer arrives (group commit: one fsync per batch).
    """

    def __init__(self, path: str, synchronous: str, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "plugwire.core.storage.jobprocess", path, synchronous, str(to_child_r), str(from_child_w)],
                pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL, close_fds=True,
            )
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        os.set_blocking(self._from_child, False)
        self._pending: list[tuple[Any, asyncio.Future]] = []
        self._inflight: list[tuple[Any, asyncio.Future]] | None = None
        self._scheduled = False
        self._buffer = bytearray()
        self.closed = False
        loop.add_reader(self._from_child, self._readable)

    def submit(self, op: Any) -> asyncio.Future:
        """Queue ``op``; the returned future gets its result once its batch is committed."""
        fut = self.loop.create_future()
        self._pending.append((op, fut))
        if self._inflight is None and not self._scheduled:
            self._scheduled = True
            self.loop.call_soon(self._send)
        return fut

    def _send(self) -> None:
        self._scheduled = False
        if self._inflight is not None or not self._pending or self.closed:
            return
        batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        data = pickle.dumps([op for op, _ in batch], protocol=pickle.HIGHEST_PROTOCOL)
        self._inflight = batch
        try:
            # The child reads a whole message before it writes anything, so this
            # write never waits on it for long.
            _write_all(self._to_child, _HEADER.pack(len(data)) + data)
        except OSError:
            self._fail("the job store's writer process is gone")

    def _readable(self) -> None:
        try:
            chunk = os.read(self._from_child, 1 << 20)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._fail("the job store's writer process stopped")
            return
        self._buffer += chunk
        if len(self._buffer) < _HEADER.size:
            return
        (size,) = _HEADER.unpack_from(self._buffer)
        if len(self._buffer) < _HEADER.size + size:
            return
        results = pickle.loads(bytes(self._buffer[_HEADER.size : _HEADER.size + size]))
        del self._buffer[: _HEADER.size + size]
        batch, self._inflight = self._inflight or [], None
        for (_, fut), (value, error) in zip(batch, results):
            if fut.done():
                continue
            if isinstance(error, sqlite3.Error):  # the store's own failure, said as the server backend says it
                error = StorageError(f"The job store refused the write: {error}.", field="jobs",
                                     fix="check the data folder's disk and permissions, then retry")
            if error is not None:
                fut.set_exception(error)
            else:
                fut.set_result(value)
        if self._pending:
            self._send()

    def _fail(self, why: str) -> None:
        """Fail every write not committed yet, and stop using this process."""
        waiting = (self._inflight or []) + self._pending
        self._inflight, self._pending = None, []
        self.close()
        for op, fut in waiting:
            if not fut.done():
                fut.set_exception(StorageError(
                    f"The {getattr(op, 'what', 'write')} was not stored: {why}.", field="jobs",
                    fix="check the data folder's disk and permissions, then retry",
                ))

    def close(self, timeout: float = 10) -> None:
        """Let the child finish the batch it holds, and stop it."""
        if self.closed:
            return
        self.closed = True
        if not self.loop.is_closed():
            self.loop.remove_reader(self._from_child)
        for fd in (self._to_child, self._from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -- the child ----------------------------------------------------------------------
def _read_exact(fd: int, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _sendable(result: tuple[Any, BaseException | None]) -> tuple[Any, BaseException | None]:
    value, error = result
    if error is not None:
        try:
            pickle.dumps(error)
        except Exception:
            error = sqlite3.Error(str(error))
    return value, error


#: Tests only: names a file ``<op> <before|after> <count>`` (op: insert, claim, take or
#: finish); the child then kills itself, ``count`` times, on a batch holding such an op,
#: before or after its commit: a writer dying mid-write, at a chosen moment.
DIES_ENV = "PLUGWIRE_TEST_WRITER_DIES"


def _maybe_die(ops: list, moment: str) -> None:
    rule = os.environ.get(DIES_ENV)
    if not rule:
        return
    try:
        with open(rule, encoding="ascii") as fh:
            kind, when, count = fh.read().split()
        left = int(count)
    except (OSError, ValueError):
        return
    if when == moment and left > 0 and any(type(op).__name__.lower() == kind for op in ops):
        with open(rule, "w", encoding="ascii") as fh:
            fh.write(f"{kind} {when} {left - 1}")
        os.kill(os.getpid(), signal.SIGKILL)


def _child(path: str, synchronous: str, rfd: int, wfd: int) -> None:
    from plugwire.core.storage.jobwriter import run_committed

    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA busy_timeout=30000")
    while True:
        header = _read_exact(rfd, _HEADER.size)
        if header is None:  # the server closed the store, or died
            break
        body = _read_exact(rfd, _HEADER.unpack(header)[0])
        if body is None:
            break
        ops = pickle.loads(body)
        _maybe_die(ops, "before")
        results = [_sendable(r) for r in run_committed(conn, ops)]
        _maybe_die(ops, "after")
        data = pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            _write_all(wfd, _HEADER.pack(len(data)) + data)
        except OSError:  # nobody reads any more: what is committed stays committed
            break
    conn.close()


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
