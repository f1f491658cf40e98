"""The acceptance test of hardening: a project built from hostile feeds, notes and an account.

``tests/data/hostile/`` holds what an adversary can put in front of kb: feed titles ending in
Markdown attribute lists, ``javascript:``/``data:`` links, script, iframes, forms, meta refresh,
terminal escapes, byte-order marks, encoded words in names, a note that includes
``/etc/passwd`` through ``pymdownx.snippets`` (which its ``mkdocs.yml`` enables, with
``attr_list`` and ``md_in_html``). ``kb build`` runs on it; then every page of the site and
every output is parsed as a browser (or a mail reader) parses it.

The theme's own scripts are told apart precisely: a script, style or form is allowed only if a
plain MkDocs site with the same ``mkdocs.yml`` and no kb content has the very same element
(same attributes, with relative URLs resolved, and the same text).
"""

from __future__ import annotations

import email
import posixpath
import re
import shutil
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path
from xml.etree.ElementTree import Element

import html5lib
import markdown
import pytest
from conftest import DATA, copy_example, run_kb
from mkdocs.commands.build import build as mkdocs_build
from mkdocs.config import load_config

HOSTILE = DATA / "hostile"
FEEDS = """
  - name: hostile-rss
    title: "Hostile {: onclick=alert(34) } <script>alert(34)</script>"
    url: hostile-rss.xml
    topics: [driver-workforce]
  - name: hostile-json
    url: hostile.json
    topics: [driver-workforce]
  - name: escapes
    url: escapes.xml
    topics: [driver-workforce]
"""
NEVER = {"iframe", "frame", "frameset", "object", "embed", "applet", "base"}
COMPARED = {"script", "style", "form", "meta", "link", "noscript"}
URL_ATTRIBUTES = {
    "href", "src", "action", "formaction", "data", "poster", "background", "cite", "srcset",
    "xlink:href", "ping", "lowsrc", "dynsrc", "manifest",
}  # fmt: skip
BAD_SCHEME = re.compile(r"^(javascript|data|vbscript|livescript):", re.IGNORECASE)
ESCAPE_TAILS = ("[31m", "[0m", "[2J", "]0;pwned")
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff]")


def make_project(root: Path) -> Path:
    copy_example(root)
    shutil.copytree(HOSTILE / "content", root / "content", dirs_exist_ok=True)
    shutil.copytree(HOSTILE / "feeds", root / "feeds", dirs_exist_ok=True)
    shutil.copy(HOSTILE / "mkdocs.yml", root / "mkdocs.yml")
    with (root / "feeds" / "feeds.yml").open("a") as feeds:
        feeds.write(FEEDS)
    settings = (root / "kb.yml").read_text()
    settings = re.sub(
        r"(?m)^  formats: .*$", "  formats: [md, html, txt, json, eml, note, call]", settings
    )
    settings = re.sub(r"(?m)^  threshold: .*$", "  threshold: 0.05", settings)
    (root / "kb.yml").write_text(re.sub(r"(?m)^  max_items: .*$", "  max_items: 40", settings))
    return root


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_project(tmp_path_factory.mktemp("hostile") / "project")
    result = run_kb("--project", root, "build")
    assert result.exit_code == 0, result.stderr
    return root


@pytest.fixture(scope="module")
def theme_elements(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, ...]]:
    """The scripts, styles and forms of a plain site of the same theme, at every page depth."""
    root = tmp_path_factory.mktemp("plain")
    config = (HOSTILE / "mkdocs.yml").read_text().replace("  - kb\n", "")
    (root / "mkdocs.yml").write_text(config)
    for page in ("index.md", "a/page.md", "a/b/page.md"):
        (root / "content" / page).parent.mkdir(parents=True, exist_ok=True)
        (root / "content" / page).write_text("# A plain page\n\nNothing but words.\n")
    mkdocs_build(load_config(str(root / "mkdocs.yml")))
    site = root / "site"
    return {
        signature(element, page.relative_to(site).as_posix())
        for page in site.rglob("*.html")
        for element in elements(page.read_text(encoding="utf-8"))
        if element.tag in COMPARED
    }


def elements(page: str) -> Iterator[Element]:
    tree = html5lib.parse(page, treebuilder="etree", namespaceHTMLElements=False)
    return (e for e in tree.iter() if isinstance(e.tag, str))


def signature(element: Element, page: str) -> tuple[str, ...]:
    """The element with relative URLs resolved against its page, so depth does not matter."""
    attributes = []
    for name, value in sorted(element.attrib.items()):
        if name in URL_ATTRIBUTES and not re.match(r"^[a-z]+:|^/|^#", value):
            value = posixpath.normpath(posixpath.join(posixpath.dirname(page), value))
        attributes.append(f"{name}={value}")
    text = re.sub(
        r'"base": "[./]*"|new URL\("[./]*",location\)|"[./]*assets/', "", element.text or ""
    )
    return (element.tag, *attributes, text)


def assert_inert(page: str, where: str, allowed: set[tuple[str, ...]] = frozenset()) -> None:  # type: ignore[assignment]
    """No handler, no script URL, no frame or refresh, and no script, style or form that the
    plain theme does not have."""
    for element in elements(page):
        tag = element.tag
        assert tag not in NEVER, f"{where}: <{tag}>"
        for name, value in element.attrib.items():
            assert not name.casefold().startswith("on"), f"{where}: <{tag} {name}={value!r}>"
            if name.casefold() in URL_ATTRIBUTES:
                bare = re.sub(r"[\s\x00-\x1f]", "", value)
                assert not BAD_SCHEME.match(bare), f"{where}: <{tag} {name}={value!r}>"
        if tag == "meta":
            assert element.get("http-equiv", "").casefold() != "refresh", where
        if tag in COMPARED - {"meta", "link"}:
            assert signature(element, where) in allowed, f"{where}: <{tag} {element.attrib}>"


def site_pages(project: Path) -> list[Path]:
    return sorted((project / "site").rglob("*.html"))


def test_every_site_page_is_inert(project: Path, theme_elements: set[tuple[str, ...]]) -> None:
    pages = site_pages(project)
    assert len(pages) > 20
    for page in pages:
        where = page.relative_to(project / "site").as_posix()
        assert_inert(page.read_text(encoding="utf-8"), where, theme_elements)


def test_the_hostile_text_is_on_the_site_as_text(project: Path) -> None:
    """The test must exercise the payloads: they are shown, as words."""
    site = project / "site"
    account = (site / "accounts" / "hostile-haulers.html").read_text(encoding="utf-8")
    assert "{: onclick=&quot;alert('industry')&quot; }" in account or "alert('industry')" in account
    assert "&lt;script&gt;alert(36)&lt;/script&gt;" in account
    note = (site / "notes" / "hostile-note.html").read_text(encoding="utf-8")
    assert "starts early" in note and '{: onclick="alert(26)" }' in note
    assert "root:" not in note, "a snippet include reached /etc/passwd"
    assert '--8&lt;-- "/etc/passwd"' in note
    question = (site / "notes" / "question-note.html").read_text(encoding="utf-8")
    assert "<title>Ask {: onclick=alert(32) } about &lt;/title&gt;" in question
    news = (site / "news.html").read_text(encoding="utf-8")
    assert "alert('attr')" in news and "alert(11)" in news


def outputs(project: Path, *suffixes: str) -> list[Path]:
    found = [p for p in sorted((project / "build").rglob("*")) if p.name.endswith(suffixes)]
    assert found, suffixes
    return found


def test_html_outputs_are_inert(project: Path) -> None:
    for path in outputs(project, ".html"):
        assert_inert(path.read_text(encoding="utf-8"), str(path), allowed=_own_styles(path))


def _own_styles(path: Path) -> set[tuple[str, ...]]:
    """The digest's own ``<style>`` (its @media rules) and the newsletter's: kb's templates."""
    page = path.read_text(encoding="utf-8")
    styles = [e for e in elements(page) if e.tag == "style"]
    assert len(styles) <= 1, path
    for style in styles:
        assert "display:none" not in (style.text or "").replace(" ", ""), path
    return {signature(s, str(path)) for s in styles}


def test_markdown_outputs_render_inert(project: Path) -> None:
    for path in outputs(project, ".md"):
        text = path.read_text(encoding="utf-8")
        assert not CONTROL.search(text), path
        page = markdown.markdown(text, extensions=["extra"])
        assert_inert(f"<!DOCTYPE html><html><body>{page}</body></html>", str(path))


def test_emails_are_inert_and_go_to_the_right_people(project: Path) -> None:
    for path in outputs(project, ".eml"):
        raw = path.read_bytes()
        assert all(len(line) <= 998 for line in raw.split(b"\r\n")), path
        message = email.message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        html_part, text_part = message.get_body(("html",)), message.get_body(("plain",))
        assert html_part is not None and text_part is not None
        assert_inert(
            html_part.get_content(), str(path), allowed=_eml_style(html_part.get_content())
        )
        assert not CONTROL.search(text_part.get_content()), path
        if "hostile-haulers" in str(path):
            to = [a.addr_spec for a in message["To"].addresses]
            assert to == ["dana@hostile-haulers.example", "marcus@hostile-haulers.example"]
            assert [a.addr_spec for a in message["From"].addresses] == ["rep@ourcompany.example"]


def _eml_style(page: str) -> set[tuple[str, ...]]:
    return {signature(e, "") for e in elements(page) if e.tag == "style"}


def test_text_outputs_carry_no_controls_or_byte_order_marks(project: Path) -> None:
    for path in outputs(project, ".txt", ".json", ".md", ".html"):
        assert not CONTROL.search(path.read_text(encoding="utf-8")), path
    for page in site_pages(project):
        text = page.read_text(encoding="utf-8")
        assert "\x1b" not in text and "\ufeff" not in text, page


def test_escape_sequences_leave_no_tail_in_any_output(project: Path) -> None:
    """A title's ``ESC [31m`` or ``ESC ]0;pwned BEL`` goes whole, not just its ESC."""
    written = [p for p in (project / "build").rglob("*") if p.is_file()]
    written += sorted((project / "content" / "newsletters").glob("*.md")) + site_pages(project)
    assert len(written) > 20
    for path in written:
        text = path.read_text(encoding="utf-8")
        assert not any(tail in text for tail in ESCAPE_TAILS), path
    (digest,) = (project / "build" / "digests" / "hostile-haulers").glob("*-[0-9][0-9].md")
    assert "Driver turnover hits record high at carriers" in digest.read_text()
