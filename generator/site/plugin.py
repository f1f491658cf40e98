"""The ``kb`` MkDocs plugin: adds the generated pages as real MkDocs files.

Pages are :meth:`File.generated`, so search and navigation treat them like files on disk. The
project's own YAML and the raw notes under ``content/`` are taken out of the file list; any
other Markdown page a team keeps under ``content/`` is built as usual.
"""

from __future__ import annotations

import os

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from mkdocs.config import config_options
from mkdocs.config.base import Config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files

from ..config import load_project
from ..exceptions import KbError
from ..pipeline import (
    digests_for,
    newsletter_for,
    opened_store,
    rank_accounts,
    resolve_now,
    with_store,
)
from .pages import site_pages

HIDDEN_PREFIXES = ("accounts/", "notes/")


class KbPluginConfig(Config):
    project = config_options.Optional(config_options.Type(str))


class KbPlugin(BasePlugin[KbPluginConfig]):
    now: datetime | None = None
    pages: Mapping[str, str] | None = None
    """Set by ``kb build``, which has ranked everything already; plain ``mkdocs build`` leaves it
    unset and the plugin ranks for itself."""

    def on_files(self, files: Files, /, *, config: MkDocsConfig) -> Files:
        root = Path(self.config.project or Path(config.config_file_path).parent)
        try:
            pages = self._pages(root) if self.pages is None else self.pages
        except KbError as e:
            raise PluginError(f"kb: {e}") from e
        for file in list(files):
            if file.src_uri.startswith(HIDDEN_PREFIXES) or file.src_uri.endswith((".yml", ".yaml")):
                files.remove(file)
        for src_uri, text in sorted(pages.items()):
            existing = files.get_file_from_path(src_uri)
            if existing is not None:
                files.remove(existing)
            files.append(File.generated(config, src_uri, content=text))
        return files

    def _pages(self, root: Path) -> dict[str, str]:
        project = with_store(load_project(root), os.environ.get("KB_STORE"))  # as kb does
        now = resolve_now(project, self.now)
        with opened_store(project) as store:
            items = store.items()
            ranking = rank_accounts(project, project.accounts, items, now, store=store)
            digests = digests_for(project, store, project.accounts, now, ranking=ranking)
            newsletter = newsletter_for(project, store, None, now, items=items, ranking=ranking)
        return site_pages(project, items, digests, newsletter, now)
