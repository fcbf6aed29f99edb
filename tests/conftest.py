"""Shared test helpers: fixture paths, a fresh archive, MediaWiki XML exports, Chromium."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from chromium import CHROMIUM, CHROMIUM_ARGS

from newscontext import Archive, Settings
from newscontext.portal.titles import day_title

pytest_plugins = ["mwapi"]  # the `fake_wiki` fixture: a local server answering like the API

FIXTURES = Path(__file__).parent / "fixtures"
WIKITEXT = FIXTURES / "wikitext"
HTML_PARSE_API = FIXTURES / "html-parse-api"
HTML_KIWICOPPLE = FIXTURES / "html-kiwicopple"
# An event of 2016-01-19 as written, and reworded (its old path becomes a redirect).
SOHR_LINE = ("**The [[Syrian Observatory for Human Rights]] claims that scores of [[Syrian Army]] "
             "troops have been killed in fighting with the [[Islamic State of Iraq and the "
             "Levant]] over the past few days with the fiercest battles near the city of "
             "[[Deir ez-Zor]].")
REWORDED = ("**The [[Syrian Observatory for Human Rights]] says dozens of [[Syrian Army]] "
            "soldiers were killed in days of fighting with the [[Islamic State of Iraq and the "
            "Levant]] near the city of Deir ez-Zor.")


def wikitext(day: str) -> str:
    return (WIKITEXT / f"{day}.wiki").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright, one a test module."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium (apt-get install chromium chromium-driver)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


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
