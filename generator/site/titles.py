"""Page titles that stay text in the theme's ``<title>``.

MkDocs takes a page's title from its first heading, as HTML (``&lt;`` for a ``<`` in a feed
title). mkdocs-material prints it in ``<title>`` through Jinja's ``striptags``, which also
*unescapes* entities: a note titled ``</title><script>...`` would become live script in every
browser tab. Material prints ``page.meta.title`` as it is, so the title is put there, as
text escaped once. Pages whose front matter sets a title, and the home page (whose
``<title>`` is the site name), are left alone.
"""

from __future__ import annotations

import html
import re

from mkdocs.structure.pages import Page

_TAG = re.compile(r"<[^>]*>")


def escape_title(page: Page) -> None:
    if page.is_homepage or "title" in page.meta or not page.title:
        return
    text = html.unescape(_TAG.sub("", page.title))
    page.meta["title"] = html.escape(text, quote=False)
