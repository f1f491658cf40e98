"""Hostile feed content through fetch, parse, store, rank and every digest format.

The fixtures under ``tests/data/render/`` carry script tags, event handlers, ``javascript:``
links, iframes, CSS, Markdown-injection titles, entity-encoded tags and ANSI/bidi control
characters. The digests must show the words and nothing else: each format is read the way its
reader reads it (HTML parsed as HTML, Markdown rendered to HTML, text checked for terminal
controls) and no element, handler or script URL may come out.
"""

from __future__ import annotations

import email
import json
import re
import shutil
from email import policy
from pathlib import Path

import html5lib
import markdown
import pytest
from conftest import DATA, EXAMPLE_NOW, REPO, copy_example, run_kb

FORMATS = ("md", "html", "txt", "json", "eml", "note", "call")
SAFE_ELEMENTS = {
    "html", "head", "body", "meta", "title", "style", "div", "table", "tbody", "tr", "td", "h1",
    "h2", "h3", "p", "a", "strong", "em", "ul", "ol", "li", "br", "hr", "blockquote", "code", "pre",
}  # fmt: skip
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
HOSTILE_FEEDS = """
  - name: hostile-wire
    title: Hostile Wire
    url: hostile.xml
    topics: [driver-workforce, dock-and-detention]
  - name: hostile-json
    title: Hostile JSON
    url: hostile.json
    topics: [driver-workforce]
"""


@pytest.fixture(scope="module")
def digests(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ridgeline Freight's digest in every format, built from the example plus the hostile feeds."""
    root = tmp_path_factory.mktemp("hostile") / "project"
    copy_example(root)
    config = (REPO / "kb.yml").read_text()
    # room for every hostile item, whatever the ranker thinks of them
    config = re.sub(r"(?m)^  max_items: .*$", "  max_items: 40", config)
    (root / "kb.yml").write_text(re.sub(r"(?m)^  threshold: .*$", "  threshold: 0.05", config))
    for fixture in ("hostile.xml", "hostile.json"):
        shutil.copy(DATA / "render" / fixture, root / "feeds" / fixture)
    with (root / "feeds" / "feeds.yml").open("a") as feeds:
        feeds.write(HOSTILE_FEEDS)
    assert run_kb("--project", root, "fetch", "--strict").exit_code == 0
    out = root / "out"
    args = [f"--format={f}" for f in FORMATS]
    result = run_kb(
        "--project", root, "digest", "ridgeline-freight", *args, "--out", out, "--now", EXAMPLE_NOW
    )
    assert result.exit_code == 0, result.stderr
    return out / "ridgeline-freight"


def read(folder: Path, ext: str) -> str:
    return (folder / f"2026-11-16.{ext}").read_text(encoding="utf-8")


def assert_inert_html(page: str) -> None:
    """Parse as a browser would; only our own elements, no handlers, no script URLs."""
    tree = html5lib.parse(page, treebuilder="etree", namespaceHTMLElements=False)
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue  # comments
        assert element.tag in SAFE_ELEMENTS, f"unexpected <{element.tag}> in the output"
        for name, value in element.attrib.items():
            assert not name.casefold().startswith("on"), f"<{element.tag} {name}=...>"
            if name in ("href", "src", "action"):
                assert value.startswith(("https://", "mailto:")), f"{name}={value!r}"
            assert "javascript:" not in value.casefold()
        if element.tag == "style":
            assert element.text is not None and "display: none }" not in element.text
    text = "".join(tree.itertext())
    assert "alert(3)" in text, "hostile text is shown as text, not dropped or run"


def test_hostile_items_made_it_into_the_digest(digests: Path) -> None:
    data = json.loads(read(digests, "json"))
    sources = {item["source"] for item in data["items"]}
    assert {"hostile-wire", "hostile-json"} <= sources, "the test must exercise the hostile items"
    hostile = [item for item in data["items"] if item["source"].startswith("hostile")]
    assert len(hostile) == 5
    assert any("onerror" in item["title"] for item in data["items"])


def test_the_html_email_shows_hostile_titles_as_text(digests: Path) -> None:
    page = read(digests, "html")
    assert_inert_html(page)
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in page
    assert 'onmouseover="alert(4)' not in page


def test_the_eml_html_part_is_inert_and_its_text_part_has_no_controls(digests: Path) -> None:
    message = email.message_from_string(read(digests, "eml"), policy=policy.default)
    assert isinstance(message, email.message.EmailMessage)
    html_part, text_part = message.get_body(("html",)), message.get_body(("plain",))
    assert html_part is not None and text_part is not None
    assert_inert_html(html_part.get_content())
    assert not CONTROL.search(text_part.get_content())
    assert "\x1b" not in read(digests, "eml")


@pytest.mark.parametrize("ext", ["md", "call.md"])
def test_markdown_outputs_render_to_inert_html(digests: Path, ext: str) -> None:
    text = read(digests, ext)
    assert not CONTROL.search(text)
    page = markdown.markdown(text, extensions=["extra"])
    assert_inert_html(
        f"<!DOCTYPE html><html><head><title>t</title></head><body>{page}</body></html>"
    )
    assert not re.search(r"(?<!\\)\]\(javascript:", text), "a link to javascript: survived"
    assert "\\[click me\\](javascript:alert(1))" in text, "a Markdown-link title stays literal"


@pytest.mark.parametrize("ext", ["txt", "note.txt", "json"])
def test_text_outputs_carry_no_terminal_or_bidi_controls(digests: Path, ext: str) -> None:
    text = read(digests, ext)
    assert not CONTROL.search(text), repr(CONTROL.search(text))
    assert "javascript:" not in text.replace("[click me](javascript:alert(1))", "")


def test_the_note_stays_short_with_hostile_titles(digests: Path) -> None:
    note = read(digests, "note.txt").rstrip("\n")
    assert len(note) <= 300
    link = re.findall(r"https://\S+", note)
    assert link and link[0].startswith("https://hostile.example/")


def test_json_links_are_only_web_links(digests: Path) -> None:
    for item in json.loads(read(digests, "json"))["items"]:
        assert item["url"] == "" or item["url"].startswith("https://"), item["url"]
