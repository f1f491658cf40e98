"""Run an MkDocs build of the project's ``mkdocs.yml`` with the run's "now"."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from mkdocs.commands.build import build
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import MkDocsException

from ..exceptions import KbError
from ..models import Project
from .manifest import SitePages
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


def site_config(project: Project, site_dir: Path | None = None) -> tuple[MkDocsConfig, KbPlugin]:
    """The project's MkDocs configuration, checked: it exists and lists the ``kb`` plugin.

    ``kb build`` calls this before it writes anything, so a broken ``mkdocs.yml`` stops the run
    early instead of after the digests are out.
    """
    config_file = project.root / "mkdocs.yml"
    if not config_file.exists():
        raise KbError(f"{config_file}: missing; the site needs an mkdocs.yml (see `kb init`)")
    logging.getLogger("mkdocs").setLevel(logging.WARNING)
    target = (site_dir or project.site_dir).resolve()
    config = MkDocsConfig(config_file_path=str(config_file))
    try:
        with config_file.open("rb") as handle:
            config.load_file(handle)
        config.load_dict({"site_dir": str(target)})
        errors, _ = config.validate()
    except (MkDocsException, OSError) as e:
        raise KbError(f"{config_file}: {e}") from e
    if errors:
        raise KbError("\n".join(f"{config_file}: '{key}': {error}" for key, error in errors))
    plugin = config.plugins.get("kb")
    if not isinstance(plugin, KbPlugin):
        raise KbError(f"{config_file}: add '- kb' under 'plugins:' so the site has its pages")
    return config, plugin


def build_site(project: Project, now: datetime, pages: SitePages | None = None) -> Path:
    """Build the site into a fresh folder beside ``site_dir``, then swap it into place, so a
    failed or killed build leaves the previous site whole. ``pages``: what ``kb build`` just
    ranked; without them the plugin reads what the last ``kb build`` left."""
    final = project.site_dir
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        config, plugin = site_config(project, staging)
        plugin.pages = pages
        with _build_date(now):
            build(config)
        _swap(staging, final)
    except MkDocsException as e:
        raise KbError(f"site build failed: {e}") from e
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def _swap(new: Path, final: Path) -> None:
    old = final.with_name(f".{final.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    new.rename(final)
    shutil.rmtree(old, ignore_errors=True)
