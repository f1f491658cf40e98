"""Memory stays bounded: a 10,000-entry feed, measured in a fresh process (peak RSS)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import json, resource, sys, threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from pathlib import Path
    sys.path.insert(0, sys.argv[2])
    from feedserver import generated_rss
    from generator.ingest import fetch_feeds
    from generator.models import Feed, FetchSettings
    from generator.store import open_store

    big = generated_rss(10_000)
    chunk = b"x" * (1024 * 1024)  # 64 of these are sent: 64 MB, over the cap, never held

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            if self.path == "/big":
                self.send_header("Content-Length", str(len(big)))
            self.end_headers()
            try:
                if self.path == "/big":
                    self.wfile.write(big)
                else:
                    for _ in range(64):
                        self.wfile.write(chunk)
            except OSError:
                pass
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    store = open_store(Path(sys.argv[1]))
    settings = FetchSettings(
        max_bytes=8 * 1024 * 1024, deadline=60, read_timeout=30, allow_private=("127.0.0.1",)
    )
    feeds = [Feed("big", url + "/big"), Feed("huge", url + "/huge")]
    reports = {r.feed: r for r in fetch_feeds(feeds, store, Path(sys.argv[1]), settings)}
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "big": [reports["big"].status, reports["big"].new_items],
        "huge": [reports["huge"].status, reports["huge"].error],
        "stored": len(store.items()),
        "body_mb": len(big) / 2**20,
        "grew_mb": (after - before) / 1024,
    }))
    """
)


def test_ten_thousand_entries_and_a_64_mb_body_stay_within_memory(tmp_path: Path) -> None:
    tests = Path(__file__).resolve().parent
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), str(tests)],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )
    result = json.loads(out.stdout)
    assert result["big"] == ["ok", 10_000]
    assert result["stored"] == 10_000
    assert result["huge"] == ["error", "response is over the 8388608-byte limit"]
    # a 3 MB feed parses into Python objects ~10x its size; 64 MB of garbage is never held
    assert result["grew_mb"] < 120, result
