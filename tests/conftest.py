"""Shared test helpers: fixture paths, a fresh archive, and MediaWiki XML exports."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from newscontext import Archive, Settings
from newscontext.portal.titles import day_title

pytest_plugins = ["mwapi"]  # the `fake_wiki` fixture: a local server answering like the API

FIXTURES = Path(__file__).parent / "fixtures"
WIKITEXT = FIXTURES / "wikitext"
HTML_PARSE_API = FIXTURES / "html-parse-api"
HTML_KIWICOPPLE = FIXTURES / "html-kiwicopple"


def wikitext(day: str) -> str:
    return (WIKITEXT / f"{day}.wiki").read_text(encoding="utf-8")


@pytest.fixture
def archive(tmp_path: Path):
    with Archive(Settings(db=tmp_path / "archive.sqlite3")) as opened:
        yield opened


def export_xml(pages: dict[date, list[tuple[int, str, str]]]) -> str:
    """A Special:Export document: {day: [(revid, timestamp, wikitext), ...]}, as
    MediaWiki writes it (export-0.11 namespace, one <page> per day)."""
    parts = [
        '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="0.11" xml:lang="en">',
        "<siteinfo><sitename>Wikipedia</sitename><dbname>enwiki</dbname></siteinfo>",
    ]
    for page_id, (day, revisions) in enumerate(sorted(pages.items()), start=1000):
        parts.append(f"<page><title>{escape(day_title(day))}</title><ns>100</ns><id>{page_id}</id>")
        for revid, timestamp, text in revisions:
            parts.append(
                f"<revision><id>{revid}</id><timestamp>{timestamp}</timestamp>"
                "<contributor><username>Editor</username><id>1</id></contributor>"
                "<model>wikitext</model><format>text/x-wiki</format>"
                f'<text bytes="{len(text.encode())}" xml:space="preserve">{escape(text)}</text>'
                "</revision>"
            )
        parts.append("</page>")
    parts.append("</mediawiki>")
    return "\n".join(parts)
