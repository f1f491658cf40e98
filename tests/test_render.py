"""Rendering from hand-built digests: pure values in, text out (no store, no ranking)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import markdown
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.exceptions import RenderError
from generator.markup import lcfirst, md_escape, md_link, safe_link, with_utm
from generator.models import (
    Account,
    Digest,
    Item,
    Note,
    NotePick,
    Pick,
    Rep,
    SentRecord,
    Stakeholder,
)
from generator.render import (
    NOTE_LIMIT,
    NothingToSend,
    make_environment,
    render_digest,
    render_formats,
)
from generator.views import DigestStyle, digest_context, note_lead

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
STYLE = DigestStyle(
    team="Northbeam Sales Insights",
    utm={"utm_source": "kb", "utm_medium": "email"},
    intro="",
    source_titles={"wire": "Freight Wire"},
    topic_titles={"fuel": "Fuel & energy costs"},
)
ENV = make_environment()
DANA = Stakeholder(
    "Dana Whitfield", "VP Operations", "dana@ridgeline.example", ("driver turnover",)
)
MARCUS = Stakeholder("Marcus Bell", "Safety", "marcus@ridgeline.example")
ACCOUNT = Account(
    slug="ridgeline",
    name="Ridgeline Freight",
    problems=("Finding and keeping qualified truck drivers", "Diesel bill eating into margins"),
    stakeholders=(DANA, MARCUS, Stakeholder("No Email")),
    rep=Rep("Sam Ortega", "sam@ourcompany.example"),
)


def item(n: int, title: str = "", url: str = "") -> Item:
    return Item(
        id=f"id{n}",
        url=url or f"https://wire.example/{n}",
        title=title or f"Story number {n}",
        summary=f"Summary of story {n}. " * 30,
        summary_html="",
        published=datetime(2026, 11, n % 28 + 1, tzinfo=UTC),
        first_seen=NOW,
        sources=("wire",),
    )


def note(slug: str, kind: str, body: str = "For you.\n\nFor the rep only.") -> NotePick:
    return NotePick(
        Note(slug, f"Note {slug}", date(2026, 11, 1), body, kind=kind), ("Written for you",)
    )


def digest(
    picks: tuple[Pick, ...] = (),
    notes: tuple[NotePick, ...] = (),
    stakeholder: Stakeholder | None = None,
    history: tuple[SentRecord, ...] = (),
) -> Digest:
    reason = "" if picks else "Nothing worth sending this week."
    return Digest(ACCOUNT, NOW, picks, notes, stakeholder, reason, history)


PICKS = (
    Pick(
        item(1),
        0.9,
        ("Speaks to your problem (matched 'driv')",),
        "Finding and keeping qualified truck drivers",
    ),
    Pick(item(2), 0.8, ("Topic fuel",), "", ("fuel",)),
    Pick(item(3), 0.7, ("Speaks to diesel",), "Diesel bill eating into margins"),
    Pick(item(4), 0.6, ("Also drivers",), "Finding and keeping qualified truck drivers"),
)


def test_picks_are_grouped_by_problem_unfiled_last_and_numbered_in_reading_order() -> None:
    context = digest_context(digest(PICKS), STYLE)
    groups = [(g.problem, [p.title for p in g.picks]) for g in context["groups"]]
    assert groups == [
        ("Finding and keeping qualified truck drivers", ["Story number 1", "Story number 4"]),
        ("Diesel bill eating into margins", ["Story number 3"]),
        ("Also worth knowing", ["Story number 2"]),
    ]
    assert [p.number for g in context["groups"] for p in g.picks] == [1, 2, 3, 4]
    assert [p.title for p in context["picks"]] == [f"Story number {n}" for n in (1, 2, 3, 4)]
    assert context["top_problem"] == "Finding and keeping qualified truck drivers"


def test_why_this_matters_is_in_the_customers_words() -> None:
    views = {p.title: p for p in digest_context(digest(PICKS), STYLE)["picks"]}
    told_us = "It speaks to what you told us is a priority:"
    assert (
        views["Story number 1"].why_line
        == f"{told_us} “Finding and keeping qualified truck drivers.”"
    )
    assert (
        views["Story number 2"].why_line == "It is about fuel & energy costs, an area you follow."
    )


def test_why_this_matters_names_the_phrases_the_story_is_about() -> None:
    pick = Pick(
        item(5),
        0.9,
        ("Speaks to drivers",),
        "Finding and keeping qualified truck drivers",
        phrases=("detention pay", "Detention", "driver turnover", "home time"),
    )
    [view] = digest_context(digest((pick,)), STYLE)["picks"]
    assert view.why_line == (
        "It is about detention pay and driver turnover, which bears on what you told us"
        " is a priority: “Finding and keeping qualified truck drivers.”"
    )


def test_a_title_goes_with_the_family_name_in_greetings() -> None:
    doctor = Stakeholder("Dr. Anand Malhotra", "CMO", "am@hospital.example")
    account = Account(slug="h", name="H", problems=("x",), stakeholders=(doctor, DANA))
    context = digest_context(Digest(account, NOW, ()), STYLE)
    assert context["greeting"] == "Hi Dr. Malhotra and Dana,"
    assert account.stakeholder("dr. malhotra") == doctor
    assert account.stakeholder("dana") == DANA


def test_greeting_and_recipients() -> None:
    everyone = digest_context(digest(PICKS), STYLE)
    assert everyone["greeting"] == "Hi Dana and Marcus,"
    assert [p.name for p in everyone["recipients"]] == ["Dana Whitfield", "Marcus Bell"]
    one = digest_context(digest(PICKS, stakeholder=MARCUS), STYLE)
    assert one["greeting"] == "Hi Marcus,"


def test_only_one_product_note_and_it_comes_last() -> None:
    notes = (
        note("p1", "product"),
        note("a", "insight"),
        note("p2", "product"),
        note("q", "question"),
    )
    md = render_digest(ENV, digest(PICKS, notes), "md", STYLE)
    assert md.count("## If it helps") == 1
    assert "Note p1" in md and "Note p2" not in md
    assert md.index("Note p1") > md.index("Note a") > md.index("Story number 3")
    assert "For the rep only." not in md, "only a note's lead goes to the customer"


def test_note_lead_is_above_more_else_the_first_paragraph() -> None:
    assert note_lead("One.\n\nTwo.") == "One."
    assert note_lead("One.\n\nTwo.\n<!-- more -->\nThree.") == "One.\n\nTwo."


def test_utm_is_added_and_replaces_existing_utm_values() -> None:
    assert with_utm("https://a.example/x?utm_source=rss&b=1", {"utm_source": "kb"}) == (
        "https://a.example/x?b=1&utm_source=kb"
    )
    assert with_utm("https://a.example/x", {}) == "https://a.example/x"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,x",
        'https://a.example/"onmouseover="x',
        "",
        "//a.example/x",
        "https:///x",
    ],
)
def test_only_plain_web_links_survive(url: str) -> None:
    assert safe_link(url, {}) == ""


def test_lcfirst_keeps_acronyms() -> None:
    assert lcfirst("Finding drivers") == "finding drivers"
    assert lcfirst("ED boarding") == "ED boarding"


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_md_escape_lets_no_markup_through(text: str) -> None:
    for line in (f"### {md_escape(text)}", f"{md_escape(text)} and more", md_escape(text)):
        page = markdown.markdown(line).strip()
        inner = re.sub(r"^<(h3|p)>|</(h3|p)>$", "", page)
        assert "<" not in inner, page


def long_title(core: str) -> str:
    return (core + " ") * 40


@given(
    title=st.text(min_size=1, max_size=600).map(lambda t: " ".join(t.split()) or "x"),
    problem=st.sampled_from((*ACCOUNT.problems, "")),
    person=st.sampled_from([None, DANA, MARCUS]),
)
@settings(max_examples=150, deadline=None)
def test_the_note_is_never_longer_than_300_characters(
    title: str, problem: str, person: Stakeholder | None
) -> None:
    pick = Pick(item(5, title=title), 0.9, ("why",), problem)
    text = render_digest(ENV, digest((pick,), stakeholder=person), "note", STYLE)
    assert len(text.rstrip("\n")) <= NOTE_LIMIT
    assert "https://wire.example/5?utm_medium=email&utm_source=kb" in text
    assert text.startswith("Hi Marcus," if person is MARCUS else "Hi Dana")


def test_a_hostile_long_title_is_shortened_not_the_link() -> None:
    title = long_title("<img src=x onerror=alert(1)> [click](javascript:alert(1))")
    text = render_digest(ENV, digest((Pick(item(6, title=title), 0.9, ("w",)),)), "note", STYLE)
    assert len(text.rstrip("\n")) <= NOTE_LIMIT
    assert text.rstrip("\n").endswith("https://wire.example/6?utm_medium=email&utm_source=kb – Sam")
    assert "…”" in text


def test_an_empty_digest_has_no_note_but_says_why() -> None:
    with pytest.raises(NothingToSend, match="ridgeline: no note: Nothing worth sending this week"):
        render_digest(ENV, digest(), "note", STYLE)


def test_an_item_without_a_usable_link_is_not_the_notes_link() -> None:
    picks = (Pick(item(7, url="javascript:alert(1)"), 0.9, ("w",)), Pick(item(8), 0.5, ("w",)))
    assert "https://wire.example/8?" in render_digest(ENV, digest(picks), "note", STYLE)


def test_a_project_note_template_that_cannot_fit_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "digest.note.j2").write_text("{{ greeting }} " + "blah " * 80 + "{{ best.link }}")
    env = make_environment(tmp_path)
    with pytest.raises(
        RenderError, match=r"digest.note.j2: the note for ridgeline is \d+ characters"
    ):
        render_digest(env, digest(PICKS), "note", STYLE)


def test_a_template_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "digest.md.j2").write_text("line one\n{% if %}\n")
    with pytest.raises(RenderError, match=r"digest.md.j2:2: template error"):
        render_digest(make_environment(tmp_path), digest(PICKS), "md", STYLE)


def test_history_is_one_line_per_item_newest_first() -> None:
    at = [datetime(2026, 11, d, tzinfo=UTC) for d in (2, 9)]
    history = (
        SentRecord("ridgeline", "a", "https://x/a", "Old story", at[0], "md"),
        SentRecord("ridgeline", "a", "https://x/a", "Old story", at[0], "html"),
        SentRecord("ridgeline", "b", "https://x/b", "Newer story", at[1], "md"),
    )
    sheet = render_digest(ENV, digest(PICKS, history=history), "call", STYLE)
    sent = sheet.split("## Sent before\n\n", 1)[1]
    assert sent == "- 9 Nov 2026: Newer story\n- 2 Nov 2026: Old story\n"


def test_every_format_renders_an_empty_digest_honestly() -> None:
    out = render_formats(ENV, digest(), ("md", "txt", "html", "json", "eml", "call"), STYLE)
    for fmt, text in out.items():
        assert "Nothing worth sending this week" in text or fmt == "eml", fmt
    assert "Subject: No news worth your time this week" in out["eml"]


def test_unknown_format_is_an_error() -> None:
    with pytest.raises(RenderError, match="unknown digest format 'pdf'"):
        render_digest(ENV, digest(PICKS), "pdf", STYLE)


@pytest.mark.parametrize(
    "url",
    [
        "https://news.example/a)(javascript:alert(1)",
        "https://news.example/a] [b](javascript:alert(2)",
        "javascript:alert(3)",
        'https://news.example/x"onmouseover=alert(4)',
    ],
)
def test_md_link_never_lets_a_url_end_the_link_early(url: str) -> None:
    html = markdown.markdown(md_link("A [story] *title*", safe_link(url, {})))
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert len(hrefs) <= 1
    assert all(h.startswith("https://news.example/") for h in hrefs)
    assert "<em>" not in html
