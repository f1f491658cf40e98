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
from ..folders import STAGING, folder_problem, mark, staging_folders
from ..models import Project
from ..outputs import current_umask
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
    _restrict_snippets(config)
    plugin = config.plugins.get("kb")
    if not isinstance(plugin, KbPlugin):
        raise KbError(f"{config_file}: add '- kb' under 'plugins:' so the site has its pages")
    return config, plugin


def _restrict_snippets(config: MkDocsConfig) -> None:
    """A team may enable ``pymdownx.snippets`` for its own pages; includes then stay within
    its ``base_path``. Generated pages cannot include at all: every untrusted text in them is
    escaped or sanitized HTML, so no line of theirs reads as ``--8<--``."""
    if "pymdownx.snippets" in config.markdown_extensions:
        config.mdx_configs.setdefault("pymdownx.snippets", {})["restrict_base_path"] = True


def build_site(project: Project, now: datetime, pages: SitePages | None = None) -> Path:
    """Build the site into a fresh folder beside ``site_dir``, then swap it into place, so a
    failed or killed build leaves the previous site whole. ``pages``: what ``kb build`` just
    ranked; without them the plugin reads what the last ``kb build`` left.

    The caller holds the project lock, so staging folders left by killed builds are removed
    first. The site folder is replaced only if kb made it (see :mod:`generator.folders`).
    """
    final = project.site_dir
    problem = folder_problem(project.root, project.settings.site_dir, "site_dir")
    if problem:
        raise KbError(f"{project.root / 'kb.yml'}: {problem}")
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        old = _aside(final)
        if old.is_dir() and not final.exists():
            old.rename(final)  # a build killed between the two renames of the swap
        for stale in staging_folders(final):
            shutil.rmtree(stale, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.{STAGING}", dir=final.parent))
    except OSError as e:
        raise KbError(f"{final}: cannot build the site here: {e.strerror or e}") from e
    try:
        mark(staging)
        config, plugin = site_config(project, staging)
        plugin.pages = pages
        with _build_date(now):
            build(config)
        staging.chmod(0o777 & ~current_umask())  # mkdtemp made it owner-only
        _swap(staging, final)
    except MkDocsException as e:
        raise KbError(f"site build failed: {e}") from e
    except OSError as e:
        raise KbError(f"{final}: could not write the site: {e.strerror or e}") from e
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def _aside(final: Path) -> Path:
    """Where the previous site waits during the swap."""
    return final.with_name(f".{final.name}.{STAGING}old")


def _swap(new: Path, final: Path) -> None:
    """Put ``new`` in the place of ``final``: two renames, the old site kept aside until the
    new one is in place."""
    old = _aside(final)
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    try:
        new.rename(final)
    except OSError:
        if old.exists() and not final.exists():
            old.rename(final)  # put the previous site back
        raise
    shutil.rmtree(old, ignore_errors=True)
