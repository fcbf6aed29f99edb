"""The wikitext parser against hand-written quirk cases and whole real day pages.

Quirk cases live in tests/fixtures/quirks/<name>.wiki with the expected output, written by
hand from the output contract, in <name>.json. Whole days are the real pages copied from
../shared/data into tests/fixtures/wikitext/.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from newscontext.model import Event, ParsedDay
from newscontext.portal.wikitext import parse_wikitext

FIXTURES = Path(__file__).parent / "fixtures"
QUIRKS = FIXTURES / "quirks"
DAYS = FIXTURES / "wikitext"
QUIRK_NAMES = sorted(path.stem for path in QUIRKS.glob("*.wiki"))
DAY_FILES = sorted(DAYS.glob("*.wiki"))


def contract(event: Event) -> dict:
    """An event as `newscontext export events` prints it, minus id/date/removed."""
    return event.to_data()


def parse_day_file(path: Path) -> ParsedDay:
    return parse_wikitext(date.fromisoformat(path.stem), path.read_text(encoding="utf-8"))


# --- quirk cases ---------------------------------------------------------------------------


def test_quirk_cases_exist() -> None:
    """Guards against a glob that silently matches nothing (and every case pairs up)."""
    assert len(QUIRK_NAMES) >= 20
    assert sorted(path.stem for path in QUIRKS.glob("*.json")) == QUIRK_NAMES


@pytest.mark.parametrize("name", QUIRK_NAMES)
def test_quirk(name: str) -> None:
    expected = json.loads((QUIRKS / f"{name}.json").read_text(encoding="utf-8"))
    day = date.fromisoformat(expected["date"])
    parsed = parse_wikitext(day, (QUIRKS / f"{name}.wiki").read_text(encoding="utf-8"))

    assert [contract(event) for event in parsed.events] == expected["events"]

    got = [(warning.line, str(warning)) for warning in parsed.warnings]
    assert len(got) == len(expected["warnings"]), got
    for (line, message), want in zip(got, expected["warnings"], strict=True):
        assert line == want["line"], message
        assert want["contains"] in message, message
        # A warning names the day and the line, so an operator can find it.
        assert f"{day.isoformat()} line {line}" in message


# --- whole real days -----------------------------------------------------------------------


def test_day_fixtures_exist() -> None:
    assert len(DAY_FILES) == 13


@pytest.mark.parametrize("path", DAY_FILES, ids=lambda path: path.stem)
def test_real_day_parses_cleanly(path: Path) -> None:
    parsed = parse_day_file(path)
    assert parsed.warnings == []
    # A real day holds a handful to a few dozen events; 0 or hundreds means a broken reading.
    assert 3 <= len(parsed.events) <= 60
    # Every bullet with a source became an event: count them in the raw page.
    bullets_with_sources = sum(
        1 for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith("*") and "[http" in line
    )
    assert len(parsed.events) == bullets_with_sources


_BAD_IN_TEXT = ("[[", "]]", "{{", "}}", "<", "''", "&nbsp;", "  ")
_ENTITY = re.compile(r"&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);")


@pytest.mark.parametrize("path", DAY_FILES, ids=lambda path: path.stem)
def test_real_day_output_is_clean(path: Path) -> None:
    for event in parse_day_file(path).events:
        assert event.text, event
        assert event.text == event.text.strip()
        for bad in _BAD_IN_TEXT:
            assert bad not in event.text, (bad, event.text)
        assert not _ENTITY.search(event.text), event.text
        assert event.category, event.text  # every day of this slice has categories
        for story in event.stories:
            assert story.text and "[[" not in story.text and "  " not in story.text
        for link in event.links:
            assert link.target[:1].isupper() or not link.target[:1].isalpha(), link
            assert "_" not in link.target and "#" not in link.target, link
            assert not _ENTITY.search(link.target), link
            assert link.label in event.text, (link.label, event.text)
        for source in event.sources:
            assert re.match(r"https?://", source.url), source
            assert source.name and "''" not in source.name, source
            assert not source.name.startswith("(") and not source.name.endswith(")"), source


def _event(parsed: ParsedDay, start: str) -> Event:
    found = [event for event in parsed.events if event.text.startswith(start)]
    assert len(found) == 1, [event.text for event in parsed.events]
    return found[0]


def test_2016_01_19_known_events() -> None:
    parsed = parse_day_file(DAYS / "2016-01-19.wiki")
    assert len(parsed.events) == 12
    assert contract(_event(parsed, "The Syrian Observatory")) == {
        "category": "Armed conflicts and attacks",
        "stories": ["Syrian Civil War"],
        "text": "The Syrian Observatory for Human Rights claims that scores of Syrian Army troops "
        "have been killed in fighting with the Islamic State of Iraq and the Levant over the "
        "past few days with the fiercest battles near the city of Deir ez-Zor.",
        "links": [
            {"target": "Syrian Observatory for Human Rights",
             "label": "Syrian Observatory for Human Rights"},
            {"target": "Syrian Army", "label": "Syrian Army"},
            {"target": "Islamic State of Iraq and the Levant",
             "label": "Islamic State of Iraq and the Levant"},
            {"target": "Deir ez-Zor", "label": "Deir ez-Zor"},
        ],
        "sources": [
            {"url": "http://www.jpost.com/Breaking-News/"
                    "Fighting-between-Syrian-army-Islamic-State-kills-scores-442009",
             "name": "Jerusalem Post"},
        ],
    }
    isil = contract(_event(parsed, "ISIL confirms"))
    assert isil["stories"] == ["Syrian Civil War"]
    assert isil["links"][0] == {"target": "Islamic State of Iraq and the Levant", "label": "ISIL"}
    assert isil["sources"] == [{"url": "https://www.bbc.com/news/uk-35358101", "name": "BBC"}]

    oic = _event(parsed, "Iranian Deputy Foreign Minister")
    assert oic.category == "International relations"
    assert [story.text for story in oic.stories] == ["OIC and Iran-Saudi relations"]
    assert [link.target for link in oic.stories[0].links] == ["OIC", "Iran-Saudi relations"]
    assert [source.name for source in oic.sources] == ["IRIB World Service", "OIC"]

    prime = _event(parsed, "The Great Internet Mersenne Prime Search")
    assert "equal to 2^74,207,281-1." in prime.text
    assert prime.category == "Science and technology"

    oil = _event(parsed, "The price of oil")
    assert oil.stories == () and oil.links == []
    assert oil.sources[0].name == "The Huffington Post via MSN"
    assert [event.category for event in parsed.events].count("Armed conflicts and attacks") == 4


def test_2026_03_06_four_story_levels() -> None:
    parsed = parse_day_file(DAYS / "2026-03-06.wiki")
    deepest = max(parsed.events, key=lambda event: len(event.stories))
    assert [story.text for story in deepest.stories] == [
        "Middle Eastern crisis",
        "2026 Iran war",
        "Protests against the 2026 Iran war",
        "Protests against the 2026 Iran war in the United States",
    ]
    assert deepest.stories[0].links[0].target == "Middle Eastern crisis (2023–present)"
    assert deepest.text.startswith("Iranian diaspora protesters clash")
    assert deepest.sources[0].name == "Times of Israel"
    # The next bullet climbs back one level: same first three stories, not the fourth.
    sanaa = _event(parsed, "Demonstrators in Sanaa")
    assert [story.text for story in sanaa.stories] == [
        "Middle Eastern crisis", "2026 Iran war", "Protests against the 2026 Iran war",
    ]


def test_2026_03_09_five_asterisk_event() -> None:
    parsed = parse_day_file(DAYS / "2026-03-09.wiki")
    navy = _event(parsed, "The Inter-Services Public Relations")
    assert len(navy.stories) == 4
    assert navy.stories[-1].text == "Pakistan in the 2026 Iran war"
    assert navy.sources[0].name == "Arab News"


def test_2026_03_08_comments_do_not_leak() -> None:
    parsed = parse_day_file(DAYS / "2026-03-08.wiki")
    projectile = _event(parsed, "A military projectile struck")
    assert [story.text for story in projectile.stories] == ["Middle Eastern crisis"]
    oslo = _event(parsed, "A bomb exploded at the American embassy in Oslo")
    assert [story.text for story in oslo.stories] == ["Terrorism in Norway"]
    assert parsed.events[0].category == "Armed conflicts and attacks"


def test_events_keep_page_order_and_lines() -> None:
    path = DAYS / "2016-01-15.wiki"
    parsed = parse_day_file(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [event.line for event in parsed.events] == sorted(event.line for event in parsed.events)
    for event in parsed.events:
        assert lines[event.line - 1].startswith("*")
        assert event.sources[0].url in lines[event.line - 1]
