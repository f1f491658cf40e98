"""Parsing in worker processes, for runs with many feeds.

feedparser is pure Python: in threads, parsing holds the GIL, so it uses one core and starves
the thread that downloads and stores (each SQLite call gives the GIL up and may wait 5 ms to get
it back). In worker processes it runs on every core and out of the way.

Each worker is a ``python -m generator.parse.worker`` process (imports only the parser, not the
CLI) reading one document at a time from a pipe. One document at a time is what makes failures
precise: a feed that kills its worker, or makes it run past ``time_limit`` (the worker is then
killed), fails alone with a reason, and a new worker takes the lost one's place on the next call.
Workers start on first use and stop when the pool is closed or the parent goes away (end of
input).
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from types import TracebackType

from ..exceptions import FeedError, ParseError
from ..models import EntryData

STARTUP_LIMIT = 120.0
"""Seconds a new parser process may take to start (import its libraries)."""


class ParsePool:
    """``workers`` parser processes; :meth:`parse` may be called from that many threads at once."""

    def __init__(self, workers: int, time_limit: float) -> None:
        self.time_limit = time_limit
        self._idle: queue.SimpleQueue[_Worker | None] = queue.SimpleQueue()
        for _ in range(workers):
            self._idle.put(None)  # a slot whose process is started on first use
        self._started: list[_Worker] = []
        self._lock = threading.Lock()

    def parse(
        self, feed: str, data: bytes, base_url: str = "", content_type: str = ""
    ) -> list[EntryData]:
        """Like :func:`~.feeds.parse_feed`, in a worker; raise :class:`ParseError` if it dies."""
        worker = self._idle.get()
        if worker is None:
            worker = self._start()
        try:
            return worker.parse(feed, data, base_url, content_type, self.time_limit)
        finally:
            self._idle.put(worker if worker.alive else None)

    def pids(self) -> list[int]:
        """The worker processes now running (for tests and diagnostics)."""
        with self._lock:
            return [w.process.pid for w in self._started if w.alive]

    def close(self) -> None:
        with self._lock:
            workers, self._started = self._started, []
        for worker in workers:
            worker.stop()

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _start(self) -> _Worker:
        worker = _Worker()
        with self._lock:
            self._started.append(worker)
        return worker


class _Worker:
    """One parser process and the two ends of its pipes."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "generator.parse.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,  # Ctrl-C reaches kb, which then closes the pool
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._send = Connection(os.dup(self.process.stdin.fileno()), readable=False)
        self._receive = Connection(os.dup(self.process.stdout.fileno()), writable=False)
        self.process.stdin.close()
        self.process.stdout.close()
        self.alive = True
        self.ready = False

    def wait_ready(self, feed: str) -> None:
        """Wait for the new process's imports: start-up must not count against a feed's time
        limit (on a busy machine it can take longer than parsing a feed)."""
        if self.ready:
            return
        if not self._receive.poll(STARTUP_LIMIT) or self._receive.recv() != ("ready", None):
            self.kill()
            raise ParseError(feed, f"the parser did not start ({self.exit_reason()})")
        self.ready = True

    def parse(
        self, feed: str, data: bytes, base_url: str, content_type: str, time_limit: float
    ) -> list[EntryData]:
        try:
            self.wait_ready(feed)
            self._send.send((feed, data, base_url, content_type))
            if not self._receive.poll(time_limit):
                self.kill()
                raise ParseError(feed, f"gave up parsing after {time_limit:g} s")
            kind, value = self._receive.recv()
        except (EOFError, OSError) as e:
            self.kill()
            raise ParseError(feed, f"the parser crashed ({self.exit_reason()})") from e
        if kind == "ok":
            entries: list[EntryData] = value
            return entries
        if kind == "parse-error":
            raise ParseError(feed, value)
        raise FeedError(feed, value)

    def exit_reason(self) -> str:
        code = self.process.poll()
        if code is None:
            return "no answer"
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"

    def kill(self) -> None:
        """Stop the process for good (it may be stuck in C code: no asking nicely)."""
        self.alive = False
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._close_pipes()

    def stop(self) -> None:
        """End of input: the worker finishes its loop and exits; killed if it does not."""
        if not self.alive:
            return
        self.alive = False
        self._close_pipes()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _close_pipes(self) -> None:
        self._send.close()
        self._receive.close()


__all__ = ["ParsePool"]
