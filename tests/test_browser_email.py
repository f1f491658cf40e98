"""The HTML email in a real browser engine: headless Chromium at phone and desktop widths.

The page is served from 127.0.0.1. The test's copy of the email gets one extra script (never in
the real file) that measures the laid-out page after load and writes the figures into a
``data-measure`` attribute; ``--dump-dom`` hands the DOM back and the test asserts on it.
Screenshots are saved next to the test's temporary files for a person to look at.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import EXAMPLE_NOW, copy_example, run_kb, serve_folder

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.browser,
    # CI installs Chromium (.ci/run), so there a missing browser fails instead of skipping.
    pytest.mark.skipif(
        CHROMIUM is None and not os.environ.get("CI"), reason="chromium is not installed"
    ),
]

MEASURE = """<script>
window.addEventListener("load", function () {
  var root = document.documentElement;
  var visible = function (el) {
    var r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.left >= 0 && r.right <= root.clientWidth + 1;
  };
  var anchors = document.querySelectorAll("td.item a[href^='https://']");
  var links = Array.prototype.filter.call(anchors, visible);
  var items = Array.prototype.filter.call(document.querySelectorAll("td.item"), visible);
  var box = document.querySelector("table.container").getBoundingClientRect();
  (window.parent || window).document.body.setAttribute("data-measure", JSON.stringify({
    scrollWidth: root.scrollWidth, clientWidth: root.clientWidth,
    links: links.length, items: items.length, container: Math.round(box.width)
  }));
});
</script>"""
WIDTHS = (375, 1280)
# Headless Chromium will not make a window narrower than 500 px, so the phone is an iframe of
# the phone's width: inside it, the email lays out exactly as in a 375 px viewport.
FRAME = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>at {width}px</title></head>
<body style="margin:0;background:#888"><iframe src="email.html" width="{width}" height="2400"
style="border:0;display:block;background:#fff"></iframe></body></html>"""
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--virtual-time-budget=5000",
]  # fmt: skip


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """Ridgeline Freight's HTML email (plus the measuring script) on a loopback HTTP server."""
    root = tmp_path_factory.mktemp("browser")
    project = root / "project"
    copy_example(project)
    assert run_kb("--project", project, "fetch").exit_code == 0
    result = run_kb("--project", project, "digest", "ridgeline-freight", "--format", "html",
                    "--now", EXAMPLE_NOW, "--dry-run")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    www = root / "www"
    www.mkdir()
    (www / "email.html").write_text(
        result.stdout.replace("</body>", MEASURE + "</body>"), encoding="utf-8"
    )
    for width in WIDTHS:
        (www / f"at-{width}.html").write_text(FRAME.format(width=width), encoding="utf-8")
    with serve_folder(www) as url:
        yield url, root


def chromium(url: str, width: int, profile: Path, *extra: str) -> str:
    assert CHROMIUM is not None
    page = f"{url}/at-{width}.html"
    window = f"--window-size={max(width, 1280)},1000"
    command = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", window, *extra, page]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90, check=True)
    return done.stdout


def measure(url: str, width: int, profile: Path) -> dict[str, int]:
    dom = chromium(url, width, profile, "--dump-dom")
    found = re.search(r'data-measure="([^"]*)"', dom)
    assert found, "the measuring script did not run"
    figures: dict[str, int] = json.loads(found.group(1).replace("&quot;", '"'))
    return figures


@pytest.mark.parametrize("width", WIDTHS)
def test_the_email_fits_the_screen_and_shows_every_item_and_link(
    served: tuple[str, Path], width: int
) -> None:
    url, root = served
    figures = measure(url, width, root / f"profile-{width}")
    assert figures["clientWidth"] == width
    assert figures["scrollWidth"] <= figures["clientWidth"], (
        f"horizontal scroll at {width}px: {figures}"
    )
    page = (root / "www" / "email.html").read_text()
    assert figures["items"] == page.count('<td class="item"') > 0, (
        "every item is laid out on screen"
    )
    assert figures["links"] == page.count('<a class="item-link" href="https://') > 0
    if width == 375:
        assert figures["container"] <= 375
    else:
        assert figures["container"] == 600


def test_screenshots_at_phone_and_desktop_width(served: tuple[str, Path]) -> None:
    url, root = served
    for width in WIDTHS:
        shot = root / f"email-{width}.png"
        chromium(url, width, root / f"shot-{width}", f"--screenshot={shot}")
        data = shot.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        assert int.from_bytes(data[16:20], "big") == max(width, 1280)
        assert len(data) > 5_000, "a blank page compresses to almost nothing"
