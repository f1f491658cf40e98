"""Fetch throughput: Knowledge Broker's ``fetch_feeds`` next to reader's ``update_feeds()``.

Serves N generated RSS feeds from a threaded HTTP server on 127.0.0.1 (with ETag and
Last-Modified, so the second fetch is conditional), then for each tool times a first fetch into
an empty store and a second fetch of the unchanged feeds. Prints feeds/s and items/s.

    python bench/fetch.py --feeds 200 --items 50 [--latency 0.02] [--reader-workers 1]

Not a test: a script that prints figures. Results go in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import threading
import time
from collections.abc import Callable
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from generator.ingest import fetch_feeds
from generator.models import Feed, FetchSettings
from generator.store import open_store


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


def serve(feeds: dict[str, bytes], latency: float) -> ThreadingHTTPServer:
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

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def timed(run: Callable[[], int]) -> tuple[float, int]:
    started = time.perf_counter()
    items = run()
    return time.perf_counter() - started, items


def bench_kb(urls: list[str], state: Path, settings: FetchSettings) -> list[tuple[str, float, int]]:
    feeds = [Feed(f"feed{i}", url) for i, url in enumerate(urls)]
    store = open_store(state)

    def run() -> int:
        reports = fetch_feeds(feeds, store, state, settings, force=True)
        failed = [r for r in reports if r.status not in ("ok", "not-modified")]
        assert not failed, failed[:3]
        return sum(r.entries for r in reports)

    results = [("first", *timed(run)), ("second", *timed(run))]
    store.close()
    return results


def bench_reader(urls: list[str], state: Path, workers: int) -> list[tuple[str, float, int]]:
    from reader import make_reader

    reader = make_reader(str(state / "reader.sqlite"))
    for url in urls:
        reader.add_feed(url)

    def run() -> int:
        before = reader.get_entry_counts().total
        reader.update_feeds(workers=workers, scheduled=False)
        after = reader.get_entry_counts().total
        return (after or 0) - (before or 0)

    results = [("first", *timed(run)), ("second", *timed(run))]
    reader.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=50, help="entries per feed")
    parser.add_argument("--latency", type=float, default=0.02, help="server delay per request, s")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--reader-workers", type=int, default=1, help="reader's update_feeds(workers=)"
    )
    args = parser.parse_args()

    feeds = {f"/feed{i}.xml": make_feed(i, args.items) for i in range(args.feeds)}
    server = serve(feeds, args.latency)
    host, port = server.server_address[:2]
    urls = [f"http://{host!s}:{port}{path}" for path in feeds]
    size = sum(map(len, feeds.values())) / 1e6
    print(
        f"{args.feeds} feeds x {args.items} entries ({size:.1f} MB), "
        f"latency {args.latency * 1000:.0f} ms"
    )

    settings = FetchSettings(concurrency=args.concurrency, per_host=args.concurrency)
    with tempfile.TemporaryDirectory() as kb_dir, tempfile.TemporaryDirectory() as reader_dir:
        rows = [("kb", *r) for r in bench_kb(urls, Path(kb_dir), settings)]
        rows += [
            (f"reader (workers={args.reader_workers})", *r)
            for r in bench_reader(urls, Path(reader_dir), args.reader_workers)
        ]
    server.shutdown()

    print(f"{'tool':<22} {'fetch':<7} {'seconds':>8} {'feeds/s':>9} {'items/s':>9}")
    for tool, which, seconds, items in rows:
        print(
            f"{tool:<22} {which:<7} {seconds:8.2f} "
            f"{args.feeds / seconds:9.1f} {items / seconds:9.1f}"
        )
    kb = {which: s for tool, which, s, _ in rows if tool == "kb"}
    peer = {which: s for tool, which, s, _ in rows if tool != "kb"}
    for which in ("first", "second"):
        print(f"kb vs reader, {which} fetch: {peer[which] / kb[which]:.1f}x")


if __name__ == "__main__":
    main()
