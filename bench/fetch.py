"""Fetch throughput: Knowledge Broker's ``fetch_feeds`` next to reader's ``update_feeds()``.

Serves N generated RSS feeds over HTTP on 127.0.0.1 (with ETag and Last-Modified, so the second
fetch is conditional) from a *separate process*, so the server never competes with the tool under
test for the GIL. For each tool it times a first fetch into an empty store and a second fetch of
the unchanged feeds, and prints feeds/s and items/s. reader runs once per ``--reader-workers``
value (by default its default, one worker, and eight worker threads), each into its own store.

    python bench/fetch.py --feeds 200 --items 50 [--latency 0.02] [--reader-workers 1,8]
    python bench/fetch.py --feeds 500 --items 20 --profile /tmp/kb.prof   # cProfile kb's first

Not a test: a script that prints figures. Results go in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path

from generator.ingest import fetch_feeds
from generator.models import Feed, FetchSettings
from generator.store import open_store

Row = tuple[str, str, float, int]


def make_feed(index: int, items: int) -> bytes:
    entries = "".join(
        f"<item><title>Feed {index} story {i}: capacity, staffing and recalls</title>"
        f"<link>https://site{index}.example/posts/{i}?utm_source=rss</link>"
        f"<guid>https://site{index}.example/posts/{i}</guid>"
        f"<pubDate>Mon, 09 Nov 2026 {i % 24:02d}:{i % 60:02d}:00 GMT</pubDate>"
        f"<category>news</category>"
        f"<description>&lt;p&gt;Story {i} of feed {index}: a paragraph of text about "
        f"&lt;b&gt;freight&lt;/b&gt;, hospitals and food plants, with a "
        f"&lt;a href='https://site{index}.example/more/{i}'&gt;link&lt;/a&gt;.&lt;/p&gt;"
        f"</description></item>\n"
        for i in range(items)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>Feed {index}</title><link>https://site{index}.example/</link>"
        f"<description>generated</description>\n{entries}</channel></rss>\n"
    ).encode()


def make_feeds(count: int, items: int) -> dict[str, bytes]:
    return {f"/feed{i}.xml": make_feed(i, items) for i in range(count)}


def handler_for(feeds: dict[str, bytes], latency: float) -> type[BaseHTTPRequestHandler]:
    modified = formatdate(1_700_000_000, usegmt=True)
    etags = {path: '"' + hashlib.sha1(body).hexdigest() + '"' for path, body in feeds.items()}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            time.sleep(latency)
            body = feeds.get(self.path)
            if body is None:
                self.send_error(404)
                return
            etag = etags[self.path]
            if self.headers.get("If-None-Match") == etag or (
                self.headers.get("If-Modified-Since") == modified
            ):
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", modified)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def _serve(count: int, items: int, latency: float, ready: Connection) -> None:
    """The server process: builds the same feeds as the parent and answers until killed."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(make_feeds(count, items), latency))
    server.daemon_threads = True
    ready.send(server.server_address[1])
    server.serve_forever()


def start_server(count: int, items: int, latency: float) -> tuple[multiprocessing.Process, int]:
    parent, child = multiprocessing.get_context("spawn").Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(count, items, latency, child), daemon=True
    )
    process.start()
    port: int = parent.recv()
    return process, port


def timed(run: Callable[[], int], profile: cProfile.Profile | None = None) -> tuple[float, int]:
    started = time.perf_counter()
    items = profile.runcall(run) if profile is not None else run()
    return time.perf_counter() - started, items


def bench_kb(urls: list[str], state: Path, settings: FetchSettings, profile: str = "") -> list[Row]:
    feeds = [Feed(f"feed{i}", url) for i, url in enumerate(urls)]
    store = open_store(state)

    def run() -> int:
        reports = fetch_feeds(feeds, store, state, settings, force=True)
        failed = [r for r in reports if r.status not in ("ok", "not-modified")]
        assert not failed, failed[:3]
        return sum(r.new_items for r in reports)

    profiler = cProfile.Profile() if profile else None
    first = timed(run, profiler)
    if profiler is not None:
        profiler.dump_stats(profile)
    second = timed(run)
    store.close()
    return [("kb", "first", *first), ("kb", "second", *second)]


def bench_reader(urls: list[str], state: Path, workers: int) -> list[Row]:
    from reader import make_reader

    reader = make_reader(str(state / "reader.sqlite"))
    for url in urls:
        reader.add_feed(url)

    def run() -> int:
        before = reader.get_entry_counts().total
        reader.update_feeds(workers=workers, scheduled=False)
        after = reader.get_entry_counts().total
        return (after or 0) - (before or 0)

    tool = f"reader (workers={workers})"
    results = [(tool, "first", *timed(run)), (tool, "second", *timed(run))]
    reader.close()
    return results


def print_rows(rows: list[Row], feeds: int) -> None:
    print(f"{'tool':<22} {'fetch':<7} {'seconds':>8} {'feeds/s':>9} {'items/s':>9}")
    for tool, which, seconds, items in rows:
        print(f"{tool:<22} {which:<7} {seconds:8.2f} {feeds / seconds:9.1f} {items / seconds:9.1f}")
    kb = {which: s for tool, which, s, _ in rows if tool == "kb"}
    for peer in sorted({tool for tool, *_ in rows if tool != "kb"}):
        times = {which: s for tool, which, s, _ in rows if tool == peer}
        ratios = ", ".join(f"{which} {times[which] / kb[which]:.1f}x" for which in times)
        print(f"kb vs {peer}: {ratios}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=50, help="entries per feed")
    parser.add_argument("--latency", type=float, default=0.02, help="server delay per request, s")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--reader-workers", default="1,8", help="reader's update_feeds(workers=), comma-separated"
    )
    parser.add_argument("--no-reader", action="store_true", help="time kb only")
    parser.add_argument("--profile", default="", help="write cProfile stats of kb's first fetch")
    args = parser.parse_args()

    server, port = start_server(args.feeds, args.items, args.latency)
    feeds = make_feeds(args.feeds, args.items)
    urls = [f"http://127.0.0.1:{port}{path}" for path in feeds]
    size = sum(map(len, feeds.values())) / 1e6
    print(
        f"{args.feeds} feeds x {args.items} entries ({size:.1f} MB), "
        f"latency {args.latency * 1000:.0f} ms, {os.cpu_count()} cores, server in its own process"
    )

    settings = FetchSettings(
        concurrency=args.concurrency, per_host=args.concurrency, allow_private=("127.0.0.1",)
    )
    rows: list[Row] = []
    try:
        with tempfile.TemporaryDirectory() as kb_dir:
            rows += bench_kb(urls, Path(kb_dir), settings, args.profile)
        workers = [] if args.no_reader else [int(w) for w in args.reader_workers.split(",")]
        for count in workers:
            with tempfile.TemporaryDirectory() as reader_dir:
                rows += bench_reader(urls, Path(reader_dir), count)
    finally:
        server.kill()
        server.join()
    print_rows(rows, args.feeds)


if __name__ == "__main__":
    main()
