"""The ``kb`` MkDocs plugin: adds what ``kb build`` ranked to the site as real MkDocs files.

Thin on purpose: it never ranks and never imports the pipeline. ``kb build`` hands it the pages
directly; a plain ``mkdocs build`` or ``mkdocs serve`` reads the same pages from the manifest
the last ``kb build`` left in the state folder (see :mod:`.manifest`).

Pages are :meth:`File.generated`, so search, tags and navigation treat them like files on disk.
The project's own YAML and the raw notes under ``content/`` are taken out of the file list; any
other Markdown page a team keeps under ``content/`` (a playbook) is built as usual and listed in
the navigation after the generated sections, unless ``mkdocs.yml`` has a ``nav`` of its own.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mkdocs.config import config_options
from mkdocs.config.base import Config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.livereload import LiveReloadServer
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from mkdocs.utils import get_relative_url

from ..config import load_settings
from ..exceptions import KbError
from .manifest import AtomLink, NavEntry, SitePages, manifest_path, read_manifest
from .titles import escape_title

HIDDEN_PREFIXES = ("accounts/", "notes/")


class KbPluginConfig(Config):
    project = config_options.Optional(config_options.Type(str))


class KbPlugin(BasePlugin[KbPluginConfig]):
    pages: SitePages | None = None
    """Set by ``kb build``, which has just ranked everything; plain ``mkdocs build`` leaves it
    unset and the plugin reads what the last ``kb build`` wrote."""

    def __init__(self) -> None:
        self._site: SitePages | None = None
        self._manifest: Path | None = None

    def on_files(self, files: Files, /, *, config: MkDocsConfig) -> Files:
        root = Path(self.config.project or Path(config.config_file_path).parent)
        try:
            self._manifest = manifest_path(root / load_settings(root).state_dir)
            site = self.pages or read_manifest(self._manifest)
        except KbError as e:
            raise PluginError(f"kb: {e}") from e
        self._site = site
        for file in list(files):
            if file.src_uri.startswith(HIDDEN_PREFIXES) or file.src_uri.endswith((".yml", ".yaml")):
                files.remove(file)
        own = [f.src_uri for f in files.documentation_pages()]
        for src_uri, text in sorted(site.files.items()):
            existing = files.get_file_from_path(src_uri)
            if existing is not None:
                files.remove(existing)
            files.append(File.generated(config, src_uri, content=text))
        if config.nav is None:
            config.nav = [_nav(e) for e in site.nav] + _hand_written_nav(own, site)
            # Accounts and notes stay out of the navigation on purpose (it is repeated on every
            # page); MkDocs would list each of them at INFO level.
            config.validation.nav.omitted_files = logging.DEBUG
        return files

    def on_page_content(
        self, html: str, /, *, page: Page, config: MkDocsConfig, files: Files
    ) -> str:
        escape_title(page)
        return html

    def on_serve(
        self, server: LiveReloadServer, /, *, config: MkDocsConfig, builder: Callable[..., Any]
    ) -> LiveReloadServer:
        """``mkdocs serve`` rebuilds when a ``kb build`` leaves new pages."""
        if self._manifest is not None:
            server.watch(str(self._manifest))
        return server

    def on_post_page(self, output: str, /, *, page: Page, config: MkDocsConfig) -> str:
        """Announce the site's Atom feeds in every page's head (a topic page adds its own)."""
        feeds = list(self._site.feeds) if self._site else []
        for extra in page.meta.get("feeds") or ():
            if isinstance(extra, dict) and "uri" in extra:
                feeds.append(AtomLink(str(extra["uri"]), str(extra.get("title", ""))))
        if not feeds or "</head>" not in output:
            return output
        links = "".join(
            '<link rel="alternate" type="application/atom+xml" '
            f'title="{html.escape(f.title)}" href="{html.escape(get_relative_url(f.uri, page.url))}">'
            for f in feeds
        )
        return output.replace("</head>", links + "</head>", 1)


def _nav(entry: NavEntry) -> dict[str, Any]:
    if entry.children:
        return {entry.title: [_nav(c) for c in entry.children]}
    return {entry.title: entry.uri}


def _hand_written_nav(uris: Sequence[str], site: SitePages) -> list[Any]:
    """The team's own pages: top-level pages as they are, a folder as a section (its
    ``index.md`` first), in name order; titles come from each page's first heading. Pages in a
    generated section's folder (the newsletter archive) are reached from its index instead."""
    generated = {u.split("/", 1)[0] for u in site.files if "/" in u}
    pages = sorted(u for u in uris if u not in site.files and u.split("/", 1)[0] not in generated)
    top = [u for u in pages if "/" not in u and u != "index.md"]
    sections: dict[str, list[str]] = {}
    for uri in pages:
        if "/" in uri:
            folder = uri.split("/", 1)[0]
            sections.setdefault(folder, []).append(uri)
    nav: list[Any] = list(top)
    for folder, members in sorted(sections.items()):
        members.sort(key=lambda u: (not u.endswith("/index.md"), u))
        nav.append({folder.replace("-", " ").replace("_", " ").capitalize(): members})
    return nav
