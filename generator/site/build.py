"""Run an MkDocs build of the project's ``mkdocs.yml`` with the run's "now"."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from mkdocs.commands.build import build
from mkdocs.config import load_config
from mkdocs.exceptions import MkDocsException

from ..exceptions import KbError
from ..models import Project
from .plugin import KbPlugin


@contextmanager
def _build_date(now: datetime) -> Iterator[None]:
    """MkDocs stamps pages and the sitemap with the build date: make it the run's "now"."""
    saved = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(int(now.timestamp()))
    try:
        yield
    finally:
        if saved is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = saved


def build_site(project: Project, now: datetime) -> Path:
    config_file = project.root / "mkdocs.yml"
    if not config_file.exists():
        raise KbError(f"{config_file}: missing; the site needs an mkdocs.yml (see `kb init`)")
    logging.getLogger("mkdocs").setLevel(logging.WARNING)
    try:
        config = load_config(str(config_file), site_dir=str(project.site_dir.resolve()))
        plugin = config.plugins.get("kb")
        if not isinstance(plugin, KbPlugin):
            raise KbError(f"{config_file}: add '- kb' under 'plugins:' so the site has its pages")
        plugin.now = now
        with _build_date(now):
            build(config)
    except MkDocsException as e:
        raise KbError(f"site build failed: {e}") from e
    return project.site_dir
