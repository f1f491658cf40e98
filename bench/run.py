"""The weekly job at a given size, stage by stage, next to a named peer for each stage.

    python bench/run.py --size S|M|L [--jobs N] [--no-site] [--shard K/N] [--keep DIR] [--json FILE]
    python bench/run.py --size L --on-demand [--keep DIR [--fetched]]
    python bench/run.py --size L --keep DIR --stages ingest; then ... --stages build
    python bench/run.py --size M --stages fetch --repeat 5 [--keep DIR]

Generates a project (``bench/make_project.py``), serves its feeds from 127.0.0.1 in a separate
process, then runs the real commands in subprocesses, sampling the memory of each command's
whole process tree (workers included) every 50 ms:

    fetch (first, second)   kb fetch                    peer: reader's update_feeds(workers=8)
    check                   kb check
    embed (at ingest)       kb fetch --offline          (the sentence vectors of the new items)
    build, feeds unchanged  kb build --timings          (fetch, rank, render, newsletter, site)
    build, nothing changed  kb build --offline --timings
    start-up                kb --help
    one digest on demand    kb digest ACCOUNT --format md --dry-run, three accounts, each in a
                            fresh process after the build (as a rep runs it): the median
    ranking peer            bm25s: index every item, query every account's problems
    site peer               plain mkdocs build (material) of as many small pages as kb's site

``--on-demand`` measures only the last two, after ``kb fetch`` (which, like ``kb build``, leaves
the corpus snapshot ready): the L row without ranking 10,000 accounts first; ``--fetched`` reuses
a project ``--keep DIR`` already fetched. ``--stages fetch`` measures only the two fetches,
``--repeat`` times, kb and reader alternating, and prints the medians.

Needs only the test extra: ``pip install -e '.[test]'`` (it holds reader, bm25s and psutil).
Not a test: it prints figures; results go in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_project import SIZES, make_project

KB = [str(Path(sys.executable).with_name("kb"))]


class QuietHandler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass


def _serve(folder: str, ready: Connection, port: int = 0) -> None:
    handler = functools.partial(QuietHandler, directory=folder)
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    ready.send(server.server_address[1])
    server.serve_forever()


def start_server(folder: Path, port: int = 0) -> tuple[multiprocessing.Process, int]:
    """Serve ``folder`` on 127.0.0.1 (on ``port``, else a free one) from a process of its own."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_serve, args=(str(folder), child, port), daemon=True)
    process.start()
    while not parent.poll(0.2):  # a server that cannot bind (the port is taken) says nothing
        if not process.is_alive():
            raise SystemExit(f"cannot serve {folder} on 127.0.0.1:{port or 'any port'}")
    bound: int = parent.recv()
    return process, bound


def served_port(root: Path) -> int:
    """The port a kept project's feeds were served on (its feeds.yml names it)."""
    found = re.search(r"http://127\.0\.0\.1:(\d+)/", (root / "feeds" / "feeds.yml").read_text())
    if not found:
        raise SystemExit(f"{root}: no feed served from 127.0.0.1 in feeds/feeds.yml")
    return int(found[1])


def measure(cmd: Sequence[str], cwd: Path) -> tuple[float, float, str]:
    """(wall seconds, peak MiB of the process tree, stdout + stderr) of one command."""
    with tempfile.TemporaryFile("w+") as log:
        started = time.perf_counter()
        proc = psutil.Popen(list(cmd), cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        peak = 0
        while proc.poll() is None:
            total = 0
            try:
                for p in [proc, *proc.children(recursive=True)]:
                    total += p.memory_info().rss
            except psutil.Error:
                pass
            peak = max(peak, total)
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        log.seek(0)
        output = log.read()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{output[-3000:]}")
    return seconds, peak / 2**20, output


def timings(output: str) -> dict[str, float]:
    """The stage times ``kb build --timings`` prints: ``timing: NAME SECONDS``."""
    return {m[1]: float(m[2]) for m in re.finditer(r"^timing: (\S+) ([\d.]+)", output, re.M)}


def fetch_twice(
    tool: str, root: Path, state: Path, own_store: bool = False
) -> tuple[float, float, float, float]:
    """Two fetches of the project's feeds by ``tool`` in this process: the first into an empty
    store, the second conditional; their wall times, then their CPU times in this process (its
    threads included, not kb's parse workers: what the event loop and the store writes cost).
    Both tools pay the same start-up, outside the timing. kb fetches into the project's store,
    or with ``own_store`` into a new one in ``state``."""
    from generator.config import load_project

    project = load_project(root)
    if tool == "kb":
        from generator import pipeline

        if own_store:
            project = pipeline.with_store(project, f"sqlite:///{state / 'kb.sqlite'}")
        store = pipeline.store_for(project)
        run = functools.partial(pipeline.fetch, project, store)
    else:
        from reader import make_reader

        reader = make_reader(str(state / "reader.sqlite"))
        for feed in project.feeds:
            reader.add_feed(feed.url)
        run = functools.partial(reader.update_feeds, workers=8, scheduled=False)
    times, cpu = [], []
    for _ in range(2):
        started, used = time.perf_counter(), time.process_time()
        run()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - used)
    return times[0], times[1], cpu[0], cpu[1]


def measure_fetch(
    tool: str, root: Path, state: Path, own_store: bool = False
) -> tuple[float, float, float, float]:
    """(first s, second s, peak MiB, main process's CPU s in the first) of :func:`fetch_twice`
    in a process of its own."""
    cmd = [sys.executable, __file__, "--fetch-only", tool, "--keep", str(root), str(state)]
    cmd += ["--own-store"] if own_store else []
    _, mib, out = measure(cmd, root)
    first, second, cpu, _ = (float(x) for x in out.split()[-4:])
    return first, second, mib, cpu


Row = tuple[str, float, float, str, float | None]
"""A table row: stage, kb seconds, kb peak MiB, peer, peer seconds."""


def on_demand(root: Path) -> list[Row]:
    """``kb --help``, then one account's digest for three accounts, each in a fresh process (as
    a rep runs it), twice: the first run embeds the account's texts if no build did yet (after
    ``kb build`` it is the same as the second). The median wall time and peak memory of each,
    and its CPU time (user + system) in the peer column: on a busy machine the wall time says
    more about the neighbours than about kb."""
    accounts = sorted(p.stem for p in (root / "content" / "accounts").glob("*.yml"))
    picked = [accounts[0], accounts[len(accounts) // 2], accounts[-1]]

    def timed(cmd: list[str]) -> tuple[float, float, float]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        seconds, mib, _ = measure(cmd, root)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        return seconds, mib, cpu

    helps = sorted(timed([*KB, "--help"]) for _ in range(3))
    runs: list[list[tuple[float, float, float]]] = [[], []]
    for attempt in runs:
        for account in picked:
            attempt.append(timed([*KB, "digest", account, "--format", "md", "--dry-run"]))
    first, again = sorted(runs[0]), sorted(runs[1])
    return [
        ("start-up (kb --help, median of 3)", *helps[1][:2], "CPU time", helps[1][2]),
        ("one digest on demand, first", *first[1][:2], "CPU time", first[1][2]),
        ("one digest on demand, again", *again[1][:2], "CPU time", again[1][2]),
    ]


def bm25_rank(root: Path) -> float:
    """bm25s over kb's stored items: index them, then one query per account (its problems,
    topics' phrases and keywords), top 8 each."""
    import bm25s

    from generator.config import load_project
    from generator.store import open_store

    project = load_project(root)
    store = open_store(project.state_dir)
    items = store.items()
    store.close()
    topics = {t.id: t for t in project.topics}
    started = time.perf_counter()
    retriever = bm25s.BM25()
    retriever.index(
        bm25s.tokenize([f"{i.title} {i.summary}" for i in items], show_progress=False),
        show_progress=False,
    )
    queries = [
        " ".join([*a.problems, *a.keywords, *(k for t in a.topics for k in topics[t].keywords)])
        for a in project.accounts
    ]
    retriever.retrieve(
        bm25s.tokenize(queries, show_progress=False), k=min(8, len(items)), show_progress=False
    )
    return time.perf_counter() - started


def plain_mkdocs(pages: int, work: Path) -> tuple[float, float]:
    """``mkdocs build`` of ``pages`` small Markdown pages with the same theme, no kb plugin."""
    docs = work / "docs"
    for n in range(pages):
        folder = docs / f"section{n % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"page{n}.md").write_text(
            f"# Page {n}\n\nA paragraph of text for page {n}, with a [link](../index.md).\n\n"
            "| a | b |\n| --- | --- |\n| 1 | 2 |\n"
        )
    (docs / "index.md").write_text("# Home\n")
    config = (Path(__file__).resolve().parent.parent / "mkdocs.yml").read_text()
    config = config.replace("docs_dir: content", "docs_dir: docs").replace("  - kb\n", "")
    (work / "mkdocs.yml").write_text(config)
    seconds, peak, _ = measure([sys.executable, "-m", "mkdocs", "build", "-q"], work)
    return seconds, peak


def ingest(root: Path, work: Path, no_peers: bool) -> list[Row]:
    """Fetch twice (next to reader), check, and embed the new items as ``kb fetch`` does."""
    rows: list[Row] = []
    peer_first = peer_second = None
    if not no_peers:
        with tempfile.TemporaryDirectory() as state:
            peer_first, peer_second, _, _ = measure_fetch("reader", root, Path(state))
    first, second, mib, _ = measure_fetch("kb", root, work)
    rows.append(("fetch, first", first, mib, "reader update_feeds(workers=8)", peer_first))
    rows.append(("fetch, second (conditional)", second, 0, "reader, second", peer_second))
    s, mib, _ = measure([*KB, "check"], root)
    rows.append(("check", s, mib, "", None))
    # The fetch stages above store items without their sentence vectors (the peer has none);
    # `kb fetch` embeds new items at ingest, so a real weekly build finds them stored.
    s, mib, out = measure([*KB, "fetch", "--offline"], root)
    embedded = re.search(r"embedded (\d+) new items", out)
    rows.append((f"embed at ingest ({embedded[1] if embedded else 0} items)", s, mib, "", None))
    return rows


def fetch_rounds(root: Path, rounds: int, no_peers: bool) -> list[Row]:
    """Only the fetch comparison, ``rounds`` times, kb and reader alternating so both see the
    same load (a shared machine's figures move by tens of percent); prints every round and
    returns the medians. kb fetches into a new store each round, never the project's."""
    first: dict[str, list[float]] = {"kb": [], "reader": []}
    second: dict[str, list[float]] = {"kb": [], "reader": []}
    for number in range(1, rounds + 1):
        for tool in ["kb"] if no_peers else ["kb", "reader"]:
            with tempfile.TemporaryDirectory() as state:
                one, two, _, cpu = measure_fetch(tool, root, Path(state), own_store=True)
            first[tool].append(one)
            second[tool].append(two)
            print(
                f"round {number}: {tool:<6} first {one:6.2f} s (main process CPU {cpu:5.2f} s),"
                f" second {two:6.3f} s",
                flush=True,
            )
    peer = {which: statistics.median(t["reader"]) if t["reader"] else None
            for which, t in (("first", first), ("second", second))}  # fmt: skip
    return [
        (f"fetch, first (median of {rounds})", statistics.median(first["kb"]), 0,
         "reader update_feeds(workers=8)", peer["first"]),
        (f"fetch, second (median of {rounds})", statistics.median(second["kb"]), 0,
         "reader, second", peer["second"]),
    ]  # fmt: skip


def build(root: Path, work: Path, args: argparse.Namespace, extra: list[str]) -> list[Row]:
    """The weekly build with the feeds unchanged, again with nothing changed, then on demand."""
    rows: list[Row] = []
    s, mib, out = measure([*KB, "build", "--timings", *extra], root)
    stages = timings(out)
    rows.append(("build, feeds unchanged (whole)", s, mib, "", None))
    pages = sum(1 for p in (root / "site").rglob("*.html") if p.name != "404.html")
    bm25 = None if args.no_peers else bm25_rank(root)
    rows.append(("  rank (in workers, summed)", stages.get("rank", 0), 0, "bm25s", bm25))
    rows.append(("  render (in workers, summed)", stages.get("render", 0), 0, "", None))
    rows.append(("  digests (wall)", stages.get("digests", 0), 0, "", None))
    rows.append(("  newsletter", stages.get("newsletter", 0), 0, "", None))
    site_peer = None
    if not args.no_peers and not args.no_site:
        site_peer, _ = plain_mkdocs(pages, work / "mkdocs")
    rows.append((f"  site ({pages} pages)", stages.get("site", 0), 0, "mkdocs", site_peer))
    s, mib, out = measure([*KB, "build", "--offline", "--timings", *extra], root)
    rows.append(("build, nothing changed", s, mib, "", None))
    return rows + on_demand(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="S")
    parser.add_argument("--jobs", type=int, default=0, help="kb --jobs (default: kb's default)")
    parser.add_argument("--keep", type=Path, help="generate the project here and keep it")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--no-peers", action="store_true", help="time kb only")
    parser.add_argument("--no-site", action="store_true", help="kb build --no-site (for L)")
    parser.add_argument("--shard", metavar="K/N", help="kb build --shard K/N: one share (for L)")
    parser.add_argument(
        "--on-demand", action="store_true", help="only kb fetch, start-up and digests on demand"
    )
    parser.add_argument(
        "--stages",
        choices=["all", "ingest", "build", "fetch"],
        default="all",
        help="ingest: generate, fetch, check, embed; build: the build stages on --keep DIR "
        "ingested already (a long L run in two steps); fetch: only the fetch comparison, "
        "--repeat times (on --keep DIR if it holds a project, into stores of its own)",
    )
    parser.add_argument("--repeat", type=int, default=5, help="rounds of --stages fetch")
    parser.add_argument(
        "--fetched", action="store_true", help="with --on-demand: --keep DIR is fetched already"
    )
    parser.add_argument("--fetch-only", choices=["kb", "reader"], help=argparse.SUPPRESS)
    parser.add_argument("--own-store", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("state", nargs="?", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still stop the feed server
    if args.fetch_only:
        print(*fetch_twice(args.fetch_only, args.keep, args.state, args.own_store))
        return
    size = SIZES[args.size]
    work = Path(tempfile.mkdtemp(prefix="kb-bench-"))
    root = args.keep or work / "project"
    served = root / "served"
    served.mkdir(parents=True, exist_ok=True)
    kept = bool(args.keep) and (
        args.fetched
        or args.stages == "build"
        or (args.stages == "fetch" and (args.keep / "feeds" / "feeds.yml").exists())
    )
    # On demand from a fetched project nothing is fetched: no server (its port may be taken by
    # another copy of the project being served)
    serving = not (args.on_demand and kept)
    server, port = start_server(served, served_port(root) if kept else 0) if serving else (None, 0)
    extra = ["--jobs", str(args.jobs)] if args.jobs else []
    extra += ["--no-site"] if args.no_site else []
    extra += ["--shard", args.shard] if args.shard else []
    rows: list[Row] = []
    try:
        started = time.perf_counter()
        generate = not kept
        if generate:
            make_project(root, size, f"http://127.0.0.1:{port}")
        print(
            f"size {args.size}: {size.feeds} feeds x {size.entries} entries, {size.accounts} "
            f"accounts, {size.notes} notes (generated in {time.perf_counter() - started:.1f} s);"
            f" {os.cpu_count()} cores, {platform.python_implementation()} "
            f"{platform.python_version()}, {platform.machine()}, load {os.getloadavg()[0]:.1f}"
        )
        if args.on_demand:
            if generate:
                rows.append(("fetch (and snapshot)", *measure([*KB, "fetch"], root)[:2], "", None))
            rows += on_demand(root)
        elif args.stages == "fetch":
            rows += fetch_rounds(root, args.repeat, args.no_peers)
        else:
            if args.stages != "build":
                rows += ingest(root, work, args.no_peers)
            if args.stages != "ingest":
                rows += build(root, work, args, extra)
    finally:
        if server is not None:
            server.kill()
            server.join()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    report(args, rows)


def report(args: argparse.Namespace, rows: list[Row]) -> None:
    print(f"{'stage':<34} {'kb s':>8} {'peak MiB':>9}   {'peer':<32} {'peer s':>8}")
    for stage, seconds, mib, peer, peer_s in rows:
        peak = f"{mib:9.0f}" if mib else f"{'':9}"
        other = f"{peer_s:8.2f}" if peer_s is not None else ""
        print(f"{stage:<34} {seconds:8.2f} {peak}   {peer:<32} {other:>8}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "size": args.size,
                    "rows": [
                        {
                            "stage": r[0],
                            "seconds": r[1],
                            "peak_mib": r[2],
                            "peer": r[3],
                            "peer_seconds": r[4],
                        }
                        for r in rows
                    ],
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
