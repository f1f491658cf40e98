"""A parser process (see :mod:`.pool`): reads ``(feed, data, base_url, content_type)`` messages
from stdin and answers each on stdout with ``("ok", entries)`` or a failure, until end of input.
It first says ``("ready", None)`` once its imports are done.

The protocol owns the original stdout; anything else printed goes to stderr, so a stray print
in a library can never corrupt an answer.
"""

from __future__ import annotations

import os
import signal
import sys
from multiprocessing.connection import Connection

from ..exceptions import ParseError
from .feeds import parse_feed


def serve(requests: Connection, answers: Connection) -> None:
    while True:
        try:
            feed, data, base_url, content_type = requests.recv()
        except EOFError:
            return
        try:
            answers.send(("ok", parse_feed(feed, data, base_url, content_type)))
        except ParseError as e:
            answers.send(("parse-error", e.reason))
        except Exception as e:  # reported on this feed, as the in-process path does
            answers.send(("unexpected", f"unexpected {type(e).__name__}: {e}"))


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests = Connection(os.dup(0), writable=False)
    answers = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    answers.send(("ready", None))  # imports done: from now on only parsing is timed
    serve(requests, answers)


if __name__ == "__main__":
    main()
