"""`kb digest` (ranking side), `kb due` and `kb history` on the bundled example."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import EXAMPLE_NOW, run_kb

from generator.config import load_project
from generator.relevance.text import phrase_in, terms


def digest_json(example: Path, *args: str) -> dict[str, object]:
    result = run_kb(
        "--project", example, "digest", *args, "--format", "json", "--dry-run", "--now", EXAMPLE_NOW
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def test_json_digest_shows_items_scores_and_why(fetched_example: Path) -> None:
    example = fetched_example
    data = digest_json(example, "ridgeline-freight")
    items = data["items"]
    assert isinstance(items, list) and items
    for entry in items:
        assert entry["score"] > 0
        assert entry["why"] and isinstance(entry["why"][0], str)


def test_no_keyword_trap_from_the_noise_feed_in_any_example_digest(fetched_example: Path) -> None:
    example = fetched_example
    for account in sorted(p.stem for p in (example / "content" / "accounts").glob("*.yml")):
        data = digest_json(example, account)
        sources = {s for entry in data["items"] for s in entry["sources"]}  # type: ignore[union-attr]
        assert "business-tech-roundup" not in sources, account


def _mentions(text_terms: tuple[str, ...], phrase: str) -> bool:
    return phrase_in(tuple(terms(phrase)), text_terms)


def test_no_item_from_another_industrys_feed_lands_where_it_does_not_belong(
    fetched_example: Path,
) -> None:
    """A story from a feed that covers none of the account's topics (another industry's news)
    is only sent if it speaks of the account's own field: one of its topics' phrases or
    keywords, or a word of its industry. "Turnover" or "bills climb" alone are not enough."""
    example = fetched_example
    project = load_project(example)
    topics = {t.id: t for t in project.topics}
    feed_topics = {f.name: set(f.topics) for f in project.feeds}
    for account in project.accounts:
        field = [
            *(k for t in account.topics if t in topics for k in topics[t].keywords),
            *account.keywords,
            *terms(account.industry),
        ]
        for entry in digest_json(example, account.slug)["items"]:  # type: ignore[union-attr]
            if any(feed_topics.get(s, set()) & set(account.topics) for s in entry["sources"]):
                continue
            said = tuple(terms(f"{entry['title']} {entry['summary']}"))
            assert any(_mentions(said, phrase) for phrase in field), (
                account.slug,
                entry["title"],
            )


def test_an_adhoc_problem_gets_a_digest_and_nothing_is_recorded(fetched_example: Path) -> None:
    example = fetched_example
    data = digest_json(
        example,
        "--problem",
        "our truckers keep quitting after a few months",
        "--industry",
        "trucking",
    )
    titles = [e["title"] for e in data["items"]]  # type: ignore[union-attr]
    assert any("quit" in t for t in titles[:3]), titles
    result = run_kb(
        "--project",
        example,
        "digest",
        "--problem",
        "our truckers keep quitting",
        "--now",
        EXAMPLE_NOW,
    )
    assert result.exit_code == 0
    assert "\nHello,\n" in result.stdout, "a caller with no account file is greeted plainly"
    assert (
        json.loads(
            run_kb("--project", example, "history", "ridgeline-freight", "--format", "json").stdout
        )
        == []
    )


def test_nothing_worth_sending_says_so(fetched_example: Path) -> None:
    example = fetched_example
    data = digest_json(
        example, "--problem", "zirconia crowns that do not fit at the dentist's chair"
    )
    assert data["items"] == []
    assert (
        data["reason"] == "Nothing worth sending this week: no new item cleared the relevance bar."
    )


def test_explain_says_why_an_item_was_or_was_not_chosen(fetched_example: Path) -> None:
    example = fetched_example
    chosen = digest_json(example, "ridgeline-freight")["items"][0]["url"].split("?")[0]  # type: ignore[index]
    result = run_kb(
        "--project",
        example,
        "digest",
        "ridgeline-freight",
        "--explain",
        chosen,
        "--now",
        EXAMPLE_NOW,
    )
    assert result.exit_code == 0
    assert "chosen (relevance" in result.stdout and "Speaks to your problem" in result.stdout
    items = json.loads(run_kb("--project", example, "items", "--format", "json").stdout)
    gpu = next(i["url"] for i in items if "GPU driver" in i["title"])
    result = run_kb(
        "--project", example, "digest", "ridgeline-freight", "--explain", gpu, "--now", EXAMPLE_NOW
    )
    verdict = result.stdout.splitlines()[1]
    assert verdict.startswith(
        "not chosen: it did not pass the gate: not about the account's field: similarity "
    )
    assert "; does not speak to a problem: closest similarity " in verdict
    assert "FAILED  field: not about the account's field: similarity " in result.stdout


def test_sent_items_are_not_sent_again_and_history_lists_them(fetched_example: Path) -> None:
    example = fetched_example
    assert (
        run_kb(
            "--project",
            example,
            "digest",
            "ridgeline-freight",
            "--format",
            "json",
            "--now",
            "2026-11-10T09:00:00Z",
        ).exit_code
        == 0
    )
    history = json.loads(
        run_kb("--project", example, "history", "ridgeline-freight", "--format", "json").stdout
    )
    assert history and {"url", "title", "sent_at", "format"} <= set(history[0])
    sent = {h["url"] for h in history}
    later = digest_json(example, "ridgeline-freight")
    assert not sent & {e["url"].split("?")[0] for e in later["items"]}  # type: ignore[union-attr]
    again = digest_json(example, "ridgeline-freight", "--include-sent")
    assert sent & {e["url"].split("?")[0] for e in again["items"]}  # type: ignore[union-attr]


def test_due_lists_accounts_worth_contacting(fetched_example: Path) -> None:
    example = fetched_example
    result = run_kb("--project", example, "due", "--format", "json", "--now", EXAMPLE_NOW)
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert rows and rows[0]["top"]["why"]
    assert [r["top"]["score"] for r in rows] == sorted(
        (r["top"]["score"] for r in rows), reverse=True
    )
    run_kb("--project", example, "digest", rows[0]["account"], "--now", "2026-11-15T09:00:00Z")
    later = json.loads(
        run_kb("--project", example, "due", "--format", "json", "--now", EXAMPLE_NOW).stdout
    )
    assert rows[0]["account"] not in {r["account"] for r in later}


def test_due_and_digests_agree_on_what_was_sent_at_the_same_moment(fetched_example: Path) -> None:
    example = fetched_example
    assert run_kb("--project", example, "build", "--no-site").exit_code == 0
    same = json.loads(
        run_kb("--project", example, "due", "--format", "json", "--now", EXAMPLE_NOW).stdout
    )
    assert same, "a re-run at the build's own moment sees what the build saw"
    next_day = json.loads(
        run_kb("--project", example, "due", "--format", "json", "--now", "2026-11-17").stdout
    )
    assert next_day == []
