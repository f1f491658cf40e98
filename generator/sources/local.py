"""Feeds kept as files under the project's ``feeds/`` folder (bundled and offline feeds)."""

from __future__ import annotations

from pathlib import Path

from ..exceptions import FetchError
from . import Fetched


def read_local(name: str, url: str, feeds_dir: Path, max_bytes: int) -> Fetched:
    path = (feeds_dir / url).resolve()
    if not path.is_relative_to(feeds_dir.resolve()):
        raise FetchError(name, f"'{url}' is outside the feeds folder")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise FetchError(name, f"file is {size} bytes, over the {max_bytes}-byte limit")
        data = path.read_bytes()
    except OSError as e:
        raise FetchError(name, f"cannot read {url}: {e.strerror or e}") from e
    return Fetched(url=path.as_uri(), data=data)
