"""The 404 page: a page of the site like the others (header, navigation, footer), written
by the build as `/404.html`, the file static hosts answer a missing address with, and served
by `serve` for a folder built before the build wrote it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..settings import Settings
from ..store import Store
from . import urls
from .model import not_found
from .render import SiteInfo

if TYPE_CHECKING:
    from .build import Shared
    from .manifest import Writer

FILE = urls.file_for(urls.NOT_FOUND, "html")


def not_found_html() -> bytes:
    """The page's bytes: it names no address (its links are site paths), so every site
    and every build has the same."""
    from .render import html  # loads the templates

    return html.render(not_found(), SiteInfo(url="", generated=""))


def not_found_page(store: Store, settings: Settings, outdir: Path, writer: Writer,
                   shared: Shared) -> int:
    """Build extra: write `/404.html` (unchanged bytes leave the file alone). Returns 1."""
    writer.write_many([(FILE, not_found_html())])
    return 1
