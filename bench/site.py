"""Site build at team scale: the kb site for 100, 500 and 1,000 generated accounts, next to a plain
``mkdocs build`` of the same pages as static Markdown, same theme and navigation, in the same run.

Run: ``python bench/site.py [--accounts 100 500 1000] [--notes-per-account 0.5] [--items 300]``.
Each team is the bundled example grown by ``tests/team.py`` (accounts over industries and reps,
notes, a local feed of extra stories); it is fetched and ranked first, untimed. Then:

- ``kb site``: what ``kb build``'s site stage costs: the pages from what was ranked, the manifest
  written to the state folder, and MkDocs with the ``kb`` plugin;
- ``plain mkdocs``: the peer: the same Markdown files written to disk, the same ``mkdocs.yml``
  without the plugin (``nav`` given as the plugin would set it), ``mkdocs build``.

Prints seconds, output size, pages and the largest HTML page, then the growth exponent of time
and size (``log(t2/t1) / log(n2/n1)``: 1.0 is linear) and what the plugin adds over the peer.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from mkdocs.commands.build import build
from mkdocs.config.defaults import MkDocsConfig

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from team import make_team

from generator import pipeline
from generator.archive import load_archive
from generator.models import Project
from generator.site.build import build_site as mkdocs_build
from generator.site.manifest import NavEntry, SitePages, manifest_path, write_manifest
from generator.site.pages import site_pages


def tree_size(folder: Path) -> tuple[int, int, int]:
    """Bytes in the folder, HTML pages, and the largest HTML page's bytes."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    pages = [p.stat().st_size for p in files if p.suffix == ".html"]
    return sum(p.stat().st_size for p in files), len(pages), max(pages)


def nav_yaml(entry: NavEntry) -> object:
    if entry.children:
        return {entry.title: [nav_yaml(c) for c in entry.children]}
    return {entry.title: entry.uri}


def ranked(project_dir: Path) -> tuple[Project, datetime, dict[str, Any]]:
    """Fetch and rank, as ``kb build`` does before the site (untimed here)."""
    project = pipeline.open_project(project_dir)
    now = pipeline.resolve_now(project, None)
    with pipeline.opened_store(project) as store:
        pipeline.fetch(project, store)
        items = store.items()
        pipeline.embed_stored(store, items)
        ranking = pipeline.rank_accounts(project, project.accounts, items, now, store=store)
        run: dict[str, Any] = {
            "states": store.feed_states(),
            "items": items,
            "digests": pipeline.digests_for(project, store, project.accounts, now, ranking=ranking),
            "newsletter": pipeline.newsletter_for(
                project, store, None, now, items=items, ranking=ranking
            ),
        }
    return project, now, run


def kb_site(
    project: Project, now: datetime, run: dict[str, Any]
) -> tuple[float, dict[str, float], SitePages]:
    """The site stage as ``pipeline.build_site`` runs it, timed by phase: the pages, the
    manifest, MkDocs with the plugin (its configuration loaded, as ``kb build`` does)."""
    start = time.perf_counter()
    pages = site_pages(
        project,
        run["items"],
        run["digests"],
        run["newsletter"],
        now,
        states=run["states"],
        archive=load_archive(project.root, []),
        links=pipeline.check_site(project),
    )
    made = time.perf_counter()
    write_manifest(manifest_path(project.state_dir), pages)
    written = time.perf_counter()
    mkdocs_build(project, now, pages)
    done = time.perf_counter()
    phases = {"pages": made - start, "manifest": written - made, "mkdocs": done - written}
    return done - start, phases, pages


def peer_project(root: Path, config_file: Path, pages: SitePages) -> Path:
    """The same pages as static files, the same theme, navigation and plugins but kb."""
    docs = root / "docs"
    for uri, text in pages.files.items():
        path = docs / uri
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    settings = yaml.safe_load(config_file.read_text())
    settings["plugins"] = [p for p in settings["plugins"] if p != "kb"]
    nav = [nav_yaml(e) for e in pages.nav]
    settings.update(docs_dir="docs", site_dir="site", nav=nav)
    settings["validation"] = {"nav": {"omitted_files": "ignore"}}
    (root / "mkdocs.yml").write_text(yaml.safe_dump(settings, sort_keys=False))
    return root / "mkdocs.yml"


def plain_site(config_file: Path) -> float:
    """``mkdocs build`` of the peer: configuration loaded and the site built."""
    start = time.perf_counter()
    config = MkDocsConfig(config_file_path=str(config_file))
    with config_file.open("rb") as handle:
        config.load_file(handle)
    errors, _ = config.validate()
    assert not errors, errors
    build(config)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--notes-per-account", type=float, default=0.5)
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each build; best kept")
    args = parser.parse_args()
    logging.getLogger("mkdocs").setLevel(logging.WARNING)
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    print(f"cores: {os.cpu_count()}; notes = {args.notes_per_account} x accounts; "
          f"{args.items} extra items; the example's 7 feeds")  # fmt: skip
    header = f"{'accounts':>8} {'what':<14} {'seconds':>8} {'MB':>7} {'pages':>6} {'max page':>9}"
    print(header)
    rows: list[tuple[int, float, float, int, int]] = []
    with tempfile.TemporaryDirectory(prefix="kb-bench-site-") as temp:
        for count in args.accounts:
            project = make_team(
                Path(temp) / f"team-{count}", count, int(count * args.notes_per_account), args.items
            )
            project_model, now, run = ranked(project)
            peer_root = Path(temp) / f"plain-{count}"
            peer_root.mkdir()
            kb_runs, peer_runs = [], []
            for _ in range(args.repeat):  # alternate, keep the best of each: a shared machine
                kb_runs.append(kb_site(project_model, now, run))
                if not peer_runs:
                    config = peer_project(peer_root, project / "mkdocs.yml", kb_runs[0][2])
                peer_runs.append(plain_site(config))
            took, phases, _ = min(kb_runs, key=lambda r: r[0])
            peer = min(peer_runs)
            size, pages, largest = tree_size(project / "site")
            peer_size, peer_pages, peer_largest = tree_size(peer_root / "site")
            for what, t, s, p, m in (
                ("kb site", took, size, pages, largest),
                ("plain mkdocs", peer, peer_size, peer_pages, peer_largest),
            ):
                print(f"{count:>8} {what:<14} {t:8.2f} {s / 1e6:7.1f} {p:>6} {m / 1024:7.1f} KB")
            split = ", ".join(f"{k} {v:.2f} s" for k, v in phases.items())
            print(f"{'':>8} kb site = {split}")
            print(f"{'':>8} plugin adds {100 * (took - peer) / peer:+.0f} % over plain mkdocs")
            rows.append((count, took, peer, size, largest))
            shutil.rmtree(project)
            shutil.rmtree(peer_root)
    if len(rows) > 1:
        (n1, t1, p1, s1, _), (n2, t2, p2, s2, _) = rows[0], rows[-1]
        ratio = math.log(n2 / n1)
        print(
            f"growth exponent {n1} -> {n2} accounts: time {math.log(t2 / t1) / ratio:.2f} "
            f"(plain mkdocs {math.log(p2 / p1) / ratio:.2f}), size {math.log(s2 / s1) / ratio:.2f}"
        )


if __name__ == "__main__":
    main()
