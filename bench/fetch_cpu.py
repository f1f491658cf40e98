"""Where the main process's CPU goes in kb's first fetch of a kept bench project.

    python bench/fetch_cpu.py DIR [--rounds N] [--profile FILE]

``DIR`` is a project kept by ``bench/run.py --keep DIR``; its feeds are served from 127.0.0.1
here, on the port they were generated with. Each round fetches every feed into a new store and
prints the wall time, the main thread's CPU time (the event loop and the store writes; the parse
workers are other processes) and how much of it the store writes took (``save_update`` and
``save_updates``, by ``time.thread_time``), with their number of transactions. ``--profile``
also writes the main thread's cProfile statistics of the last round to FILE.

Not a test: it prints figures; results go in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import cProfile
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import served_port, start_server


def timed_writes(spent: dict[str, float]) -> None:
    """Add the main thread's CPU time of every store write to ``spent`` (an outer call only:
    ``save_update`` may call ``save_updates``)."""
    from generator.store.sql import SqlStore

    def wrap(real: Callable[..., Any]) -> Callable[..., Any]:
        def timed(self: SqlStore, *args: Any) -> Any:
            if spent["inside"]:
                return real(self, *args)
            spent["inside"], started = 1, time.thread_time()
            try:
                return real(self, *args)
            finally:
                spent["inside"] = 0
                spent["seconds"] += time.thread_time() - started
                spent["writes"] += 1

        return timed

    for name in ("save_update", "save_updates"):
        setattr(SqlStore, name, wrap(getattr(SqlStore, name)))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", type=Path, help="write cProfile statistics here")
    args = parser.parse_args()
    from generator import pipeline
    from generator.config import load_project

    spent = {"inside": 0.0, "seconds": 0.0, "writes": 0.0}
    timed_writes(spent)
    server, _ = start_server(args.project / "served", served_port(args.project))
    try:
        for _ in range(args.rounds):
            spent.update(seconds=0.0, writes=0.0)
            profile = cProfile.Profile() if args.profile else None
            with tempfile.TemporaryDirectory() as state:
                url = f"sqlite:///{Path(state) / 'kb.sqlite'}"
                project = pipeline.with_store(load_project(args.project), url)
                store = pipeline.store_for(project)
                started, used = time.perf_counter(), time.thread_time()
                if profile:
                    profile.enable()
                pipeline.fetch(project, store)
                if profile:
                    profile.disable()
                wall, cpu = time.perf_counter() - started, time.thread_time() - used
                store.close()
            print(
                f"first fetch {wall:5.2f} s, main thread CPU {cpu:5.2f} s, of which store writes"
                f" {spent['seconds']:5.2f} s in {spent['writes']:.0f} transactions",
                flush=True,
            )
            if profile and args.profile:
                profile.dump_stats(args.profile)
    finally:
        server.kill()
        server.join()


if __name__ == "__main__":
    main()
