"""A hostile network: private addresses, odd validators, a busy host; all through real fetches.

The tests' own server is on 127.0.0.1, which a project must allow (``fetch: allow_private``);
the tests that check the refusal simply leave it out.
"""

from __future__ import annotations

import asyncio
import functools
import http.server
import ipaddress
import socket
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpcore
import pytest
from conftest import run_kb
from feedserver import LOOPBACK, RSS, feed_bytes, generated_rss, serve_file
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from generator.ingest import FetchReport, fetch_feeds
from generator.models import Feed, FetchSettings
from generator.sources.guard import AddressPolicy, GuardedBackend, kind_of
from generator.sources.http import Validators, fetch_http, make_client
from generator.store import Store

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
SETTINGS = FetchSettings(connect_timeout=2, read_timeout=2, deadline=5, allow_private=LOOPBACK)
CLOSED = replace(SETTINGS, allow_private=())


def fetch(store: Store, feeds: list[Feed], settings: FetchSettings) -> dict[str, FetchReport]:
    nowhere = Path("/nonexistent")
    reports = fetch_feeds(feeds, store, nowhere, settings, clock=lambda: NOW, force=True)
    return {r.feed: r for r in reports}


# --- private addresses ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("169.254.169.254", "a link-local address"),  # cloud metadata
        ("10.0.0.5", "a private address"),
        ("172.16.3.4", "a private address"),
        ("192.168.1.1", "a private address"),
        ("127.0.0.2", "a loopback address"),
        ("[::1]", "a loopback address"),
        ("[fc00::1]", "a private address"),
        ("[fe80::1]", "a link-local address"),
        ("[::ffff:127.0.0.1]", "a loopback address"),
        ("0.0.0.0", "an unspecified address"),
    ],
)
def test_non_public_addresses_are_refused_before_any_connection(
    store: Store, host: str, kind: str
) -> None:
    reports = fetch(store, [Feed("meta", f"http://{host}/latest/meta-data/")], CLOSED)
    bare = host.strip("[]")
    assert reports["meta"].status == "error"
    assert reports["meta"].error == (
        f"refused to connect to {bare}: {kind}; if this is an intranet feed,"
        f" add '{bare}' to fetch: allow_private in kb.yml"
    )


def test_a_host_name_that_resolves_to_loopback_is_refused(server: HTTPServer, store: Store) -> None:
    url = serve_file(server, "/rss.xml", "rss.xml").replace("127.0.0.1", "localhost")
    reports = fetch(store, [Feed("local", url)], CLOSED)
    assert reports["local"].error.startswith(
        "refused to connect to localhost (it resolves to "  # 127.0.0.1 or ::1, by the resolver
    )
    assert "add 'localhost' to fetch: allow_private" in reports["local"].error
    assert server.log == []


def test_a_redirect_to_a_private_address_is_refused(server: HTTPServer, store: Store) -> None:
    """The feed's own host is allowed by name; where it redirects to is not."""
    secret = serve_file(server, "/secret", "rss.xml")
    server.expect_request("/feed").respond_with_data("", status=302, headers={"Location": secret})
    url = server.url_for("/feed").replace("127.0.0.1", "localhost")
    reports = fetch(store, [Feed("hop", url)], replace(SETTINGS, allow_private=("localhost",)))
    assert reports["hop"].error == (
        f"redirected to {secret}: refused to connect to 127.0.0.1: a loopback address;"
        " if this is an intranet feed, add '127.0.0.1' to fetch: allow_private in kb.yml"
    )
    assert [r.path for r, _ in server.log] == ["/feed"]
    assert store.items() == []


def test_an_allowed_network_lets_intranet_feeds_through(server: HTTPServer, store: Store) -> None:
    url = serve_file(server, "/rss.xml", "rss.xml")
    reports = fetch(store, [Feed("intranet", url)], replace(SETTINGS, allow_private=("127/8",)))
    assert reports["intranet"].status == "error"  # "127/8" is not a network: a host name
    reports = fetch(
        store, [Feed("intranet", url)], replace(SETTINGS, allow_private=("127.0.0.0/8",))
    )
    assert (reports["intranet"].status, reports["intranet"].new_items) == ("ok", 2)


def test_kb_fetch_refuses_loopback_unless_kb_yml_allows_it(
    example: Path, server: HTTPServer
) -> None:
    url = serve_file(server, "/rss.xml", "rss.xml")
    with (example / "feeds" / "feeds.yml").open("a", encoding="utf-8") as f:
        f.write(f"\n  - name: loopback\n    url: {url}\n")
    refused = run_kb("--project", example, "fetch")
    assert refused.exit_code == 0, refused.stderr  # a run that completed; the feed failed
    assert (
        "\nfeed loopback: refused to connect to 127.0.0.1: a loopback address; if this is an"
        " intranet feed, add '127.0.0.1' to fetch: allow_private in kb.yml\n"
    ) in refused.stderr
    assert server.log == []
    with (example / "kb.yml").open("a", encoding="utf-8") as f:
        f.write("\nfetch:\n  allow_private: [127.0.0.1]\n")
    allowed = run_kb("--project", example, "fetch", "--force", "--feed", "loopback")
    assert "1 feeds: 1 ok, 0 not modified, 0 failed, 0 skipped; 2 new items" in allowed.stderr


def test_kb_check_rejects_an_allow_private_entry_that_is_not_a_host(example: Path) -> None:
    with (example / "kb.yml").open("a", encoding="utf-8") as f:
        f.write("\nfetch:\n  allow_private: [intranet.corp.example, 10.0.0.0/8, 'http://x/']\n")
    result = run_kb("--project", example, "check")
    assert result.exit_code == 1
    line = (example / "kb.yml").read_text().splitlines().index("fetch:") + 2
    assert (
        f"kb.yml:{line}: 'allow_private' entries must be host names, IP addresses or networks"
        " (10.0.0.0/8), got 'http://x/'"
    ) in result.stderr


def test_the_policy_names_what_is_not_public() -> None:
    public = ["93.184.216.34", "2606:2800:220:1::1", "8.8.8.8"]
    assert [kind_of(ipaddress.ip_address(a)) for a in public] == ["", "", ""]
    assert kind_of(ipaddress.ip_address("100.64.0.1")) == "a non-public address"  # shared CGN
    assert kind_of(ipaddress.ip_address("224.0.0.1")) == "a multicast address"
    assert kind_of(ipaddress.ip_address("64:ff9b::a9fe:a9fe")) == "a link-local address"  # NAT64
    assert kind_of(ipaddress.ip_address("2002:7f00:1::")) == "a loopback address"  # 6to4
    policy = AddressPolicy.allowing(["Intranet.Corp.Example.", "10.1.0.0/16", "fd00::7"])
    assert policy.refusal("intranet.corp.example", ipaddress.ip_address("10.9.9.9")) == ""
    assert policy.refusal("wiki", ipaddress.ip_address("10.1.2.3")) == ""
    assert policy.refusal("wiki", ipaddress.ip_address("fd00::7")) == ""
    assert policy.refusal("wiki", ipaddress.ip_address("10.2.0.1")).startswith(
        "refused to connect to wiki (it resolves to 10.2.0.1): a private address"
    )


def test_the_backend_connects_to_the_address_it_checked() -> None:
    """No second lookup between the check and the connection (DNS rebinding)."""
    asked: list[str] = []

    class Recorder(httpcore.AsyncNetworkBackend):
        async def connect_tcp(self, host: str, port: int, *args: object) -> object:  # type: ignore[override]
            asked.append(host)
            raise httpcore.ConnectError("recorded")

    backend = GuardedBackend(AddressPolicy.allowing(["localhost"]))
    backend._inner = Recorder()  # type: ignore[assignment]
    with pytest.raises(httpcore.ConnectError):
        asyncio.run(backend.connect_tcp("localhost", 80))
    assert asked and all(ipaddress.ip_address(host).is_loopback for host in asked)


# --- validators ------------------------------------------------------------------------------


def test_a_non_ascii_etag_never_breaks_the_feed(server: HTTPServer, store: Store) -> None:
    seen: list[dict[str, str]] = []

    def handler(request: Request) -> Response:
        seen.append(dict(request.headers))
        response = Response(feed_bytes("rss.xml"), content_type=RSS)
        # What a server that writes UTF-8 into headers sends: bytes that are not ASCII.
        response.headers["ETag"] = '"caf\u00e9-\u20ac"'.encode().decode("latin-1")
        response.headers["Last-Modified"] = "Mon, 16 Nov 2026 08:00:00 GMT"
        return response

    server.expect_request("/etag").respond_with_handler(handler)
    feeds = [Feed("etag", server.url_for("/etag"))]
    first = fetch(store, feeds, SETTINGS)
    second = fetch(store, feeds, SETTINGS)
    assert (first["etag"].status, second["etag"].status) == ("ok", "ok")
    assert "If-None-Match" not in seen[1]
    assert seen[1]["If-Modified-Since"] == "Mon, 16 Nov 2026 08:00:00 GMT"
    state = store.feed_state("etag")
    assert state is not None and (state.etag, state.failures) == ("", 0)


def test_validators_stored_before_the_check_are_not_sent() -> None:
    assert Validators('"caf\u00e9"', "Mon, 16 Nov 2026 08:00:00 GMT").headers() == {
        "If-Modified-Since": "Mon, 16 Nov 2026 08:00:00 GMT"
    }
    assert Validators('"a\r\nX-Evil: 1"').headers() == {}


# --- the deadline ----------------------------------------------------------------------------


def test_waiting_for_a_busy_host_does_not_count_against_the_deadline(
    server: HTTPServer, store: Store
) -> None:
    """Eleven 0.3 s feeds on one host, one at a time, then a fast one: it waits 3.3 s for its
    turn, past the 3 s deadline, but its own request takes milliseconds."""
    lock = threading.Lock()

    def slow(request: Request) -> Response:
        with lock:
            time.sleep(0.3)
        return Response(generated_rss(1, prefix=request.path.strip("/")), content_type=RSS)

    feeds = []
    for i in range(11):
        server.expect_request(f"/slow{i}").respond_with_handler(slow)
        feeds.append(Feed(f"a{i:02d}", server.url_for(f"/slow{i}")))
    feeds.append(Feed("fast", serve_file(server, "/fast", "rss.xml")))
    settings = replace(SETTINGS, per_host=1, concurrency=16, deadline=3, read_timeout=3)
    reports = fetch(store, feeds, settings)
    assert {name: r.status for name, r in reports.items()} == {f.name: "ok" for f in feeds}
    assert reports["fast"].new_items == 2


# --- kept-alive connections ------------------------------------------------------------------


class _KeepAliveHandler(http.server.SimpleHTTPRequestHandler):
    """Python's file server over HTTP/1.1: it writes a response's headers and its body in two
    sends, without TCP_NODELAY, as many small servers do."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.skipif(not hasattr(socket, "TCP_QUICKACK"), reason="Linux's TCP_QUICKACK")
def test_a_kept_alive_connection_does_not_wait_for_delayed_acknowledgements(
    tmp_path: Path,
) -> None:
    """Such a server's body waits (Nagle) for the client to acknowledge the headers, which the
    kernel delays by 40 ms or more on a kept-alive connection: 30 feeds one after the other on
    one host took over 1.2 s. Acknowledged at once, they take tens of milliseconds."""
    (tmp_path / "feed.xml").write_bytes(generated_rss(50))
    handler = functools.partial(_KeepAliveHandler, directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/feed.xml"

    async def thirty() -> float:
        async with make_client(SETTINGS) as client:
            await fetch_http(client, "warm-up", url, Validators(), SETTINGS)
            started = time.perf_counter()
            for i in range(30):
                fetched = await fetch_http(client, f"f{i}", url, Validators(), SETTINGS)
                assert fetched.data == (tmp_path / "feed.xml").read_bytes()
            return time.perf_counter() - started

    try:
        assert asyncio.run(thirty()) < 30 * 0.040  # the delayed ACK's floor; ~0.05 s unloaded
    finally:
        httpd.shutdown()
        httpd.server_close()
