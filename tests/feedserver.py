"""Helpers to serve feeds (good and hostile) from 127.0.0.1 for the ingestion tests."""

from __future__ import annotations

import functools
import gzip
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

FEEDS = Path(__file__).resolve().parent / "data" / "feeds"
RSS = "application/rss+xml; charset=utf-8"
LOOPBACK = ("127.0.0.1",)  # fetch.allow_private for the tests' servers, all on 127.0.0.1


def feed_bytes(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def serve_file(server: HTTPServer, path: str, name: str, content_type: str = RSS) -> str:
    server.expect_request(path).respond_with_data(feed_bytes(name), content_type=content_type)
    return server.url_for(path)


def generated_rss(count: int, host: str = "https://gen.example", prefix: str = "Story") -> bytes:
    """A well-formed RSS 2.0 feed with ``count`` distinct, dated entries."""
    items = "".join(
        f"<item><title>{prefix} number {i} about cold chain capacity</title>"
        f"<link>{host}/{prefix.lower()}/{i}?utm_source=rss</link>"
        f"<guid isPermaLink='false'>{prefix}-{i}</guid>"
        f"<pubDate>Mon, 09 Nov 2026 {i % 24:02d}:{i % 60:02d}:00 GMT</pubDate>"
        f"<description>&lt;p&gt;Body of story {i}, with &lt;b&gt;bold&lt;/b&gt; text.&lt;/p&gt;"
        f"</description></item>\n"
        for i in range(count)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>Generated</title><link>{host}/</link>\n{items}</channel></rss>\n"
    ).encode()


def trickle(first: bytes, every: float = 0.2, forever: int = 1000) -> Response:
    """A body that starts well, then sends one space every ``every`` seconds."""

    def body() -> Iterator[bytes]:
        yield first
        for _ in range(forever):
            time.sleep(every)
            yield b" "

    return Response(body(), content_type=RSS)


def slow(seconds: float, data: bytes) -> object:
    def handler(request: Request) -> Response:
        time.sleep(seconds)
        return Response(data, content_type=RSS)

    return handler


def gzip_response(data: bytes) -> Response:
    return Response(gzip.compress(data), headers={"Content-Encoding": "gzip"}, content_type=RSS)


@functools.cache
def _zeros_gzipped(size: int) -> bytes:
    return gzip.compress(b"\0" * size, compresslevel=9)


def gzip_bomb(size: int) -> Response:
    """``size`` zero bytes, gzip'd to about a thousandth of that."""
    return Response(_zeros_gzipped(size), headers={"Content-Encoding": "gzip"}, content_type=RSS)


@contextmanager
def header_trickler(every: float = 0.2) -> Iterator[str]:
    """A raw server that sends its status line, then one header byte every ``every`` seconds."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    def drip(conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                while not stop.is_set():
                    time.sleep(every)
                    conn.sendall(b"a")
            except OSError:
                return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/feed.xml"
    finally:
        stop.set()
        thread.join(2)
        listener.close()


def closed_port_url() -> str:
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/feed.xml"
