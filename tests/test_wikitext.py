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

from newscontext.model import Event, Link, ParsedDay, Source
from newscontext.portal.inline import split_topic
from newscontext.portal.wikitext import parse_wikitext

FIXTURES = Path(__file__).parent / "fixtures"
QUIRKS = FIXTURES / "quirks"
DAYS = FIXTURES / "wikitext"
QUIRK_NAMES = sorted(path.stem for path in QUIRKS.glob("*.wiki"))
DAY_FILES = sorted(DAYS.glob("*.wiki"))
DAYS_DATE = date(2016, 1, 19)


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


# --- the old eras (2003-2015) ----------------------------------------------------------------

OLD_DAYS = FIXTURES / "wikitext-2003-2015"
OLD_DAY_FILES = sorted(OLD_DAYS.glob("*.wiki"))
# Characters that Python's html.unescape makes of legacy entity names without a semicolon
# (`&reg`ion=, `&sect`ionid=, `&para`, `&copy`, `&not`): in a URL, only a decoding bug.
_LEGACY_DECODED = "®§¶©¬"


def test_old_day_fixtures_exist() -> None:
    assert len(OLD_DAY_FILES) == 7
    assert (OLD_DAYS / "SOURCE.txt").is_file()


@pytest.mark.parametrize("path", OLD_DAY_FILES, ids=lambda path: path.stem)
def test_old_day_reads_as_its_editors_meant(path: Path) -> None:
    raw = path.read_text(encoding="utf-8")
    parsed = parse_day_file(path)
    assert not [w for w in parsed.warnings if "unknown template" in w.message], parsed.warnings
    for event in parsed.events:
        assert event.text and event.text == event.text.strip()
        for bad in _BAD_IN_TEXT:
            assert bad not in event.text, (bad, event.text)
        assert not _ENTITY.search(event.text), event.text
        assert ".." not in event.text.replace("...", ""), event.text
        assert "(Wikinews)" not in event.text, event.text
        # A topic line's topic is the event's story, never the start of its sentence.
        assert split_topic(event.text, event.links)[0] is None, event.text
        for link in event.links:
            assert link.label in event.text, (link.label, event.text)
        for source in event.sources:
            assert source.name and source.name != "Archived copy", source
            if source.url.startswith("https://en.wikinews.org/wiki/"):
                continue  # built from [[n:Title]]
            # The URL as written: entities with a semicolon decoded, nothing else changed.
            assert source.url in raw.replace("&amp;", "&"), source.url
            assert not set(_LEGACY_DECODED) & set(source.url), source.url
    # Every bullet that names a source became an event or gave its source to one.
    cited = {url for event in parsed.events for url in (s.url for s in event.sources)}
    for url in re.findall(r"\[(https?://[^\s\]]+)", raw):
        url = url.replace("&amp;", "&")
        if url.startswith("https://web.archive.org/") and f"Webarchive|url={url}" in raw:
            continue
        assert url in cited, url


def test_2005_05_25_topic_lines_and_entity_urls() -> None:
    parsed = parse_day_file(OLD_DAYS / "2005-05-25.wiki")
    assert len(parsed.events) == 20 and parsed.warnings == []
    egypt = _event(parsed, "Egyptians vote in a referendum")
    assert [story.text for story in egypt.stories] == ["Elections in Egypt"]
    assert [link.target for link in egypt.stories[0].links] == ["Elections in Egypt"]
    assert egypt.links[0] == Link("Egypt", "Egyptians")
    khaleej = next(s for s in egypt.sources if s.name == "Khaleej Times")
    assert khaleej.url.endswith("comment_May25.xml&section=comment")
    suriname = _event(parsed, "General elections are underway in Suriname")
    assert [story.text for story in suriname.stories] == ["Elections in Suriname"]
    human = _event(parsed, "Human Rights Watch releases")
    assert [story.text for story in human.stories] == ["Human rights"]
    pickton = _event(parsed, "Accused Canadian serial killer")
    assert [s.name for s in pickton.sources] == ["CTV", "National Post", "Reuters Canada",
                                                 "New Criminologist"]


def test_2010_05_24_urls_and_a_stranded_source() -> None:
    parsed = parse_day_file(OLD_DAYS / "2010-05-24.wiki")
    assert len(parsed.events) == 30 and parsed.warnings == []
    press = [s.url for e in parsed.events for s in e.sources if s.name == "Press TV"]
    assert press == ["http://www.presstv.ir/detail.aspx?id=127632&sectionid=351020606",
                     "http://www.presstv.ir/detail.aspx?id=127544&sectionid=351020102"]
    # `*Keswick crash.` / `*24 goes off the air.` / `[url (Sky News)]`: the source line was
    # cut from the crash when the other line was put in between.
    keswick = _event(parsed, "At least three people die")
    assert [s.name for s in keswick.sources] == ["Sky News"]
    assert "Keswick" in keswick.sources[0].url
    assert _event(parsed, "Twentieth Century Fox").sources == []
    cheonan = _event(parsed, "South Korea cuts off trade")
    assert [story.text for story in cheonan.stories] == ["Sinking of the ROKS Cheonan"]


def test_2007_09_01_wikinews_webarchive_and_a_line_without_bullet() -> None:
    parsed = parse_day_file(OLD_DAYS / "2007-09-01.wiki")
    assert len(parsed.events) == 32
    craig = _event(parsed, "Idaho Republican Senator Larry Craig")
    assert craig.text.endswith("International Airport.")
    assert craig.sources == [Source(
        "https://en.wikinews.org/wiki/U.S._Sen._Larry_Craig_resigns_over_sex_scandal", "Wikinews")]
    iraq = _event(parsed, "Iraq is to free up to 6,000")
    assert [s.url for s in iraq.sources] == [
        "https://www.telegraph.co.uk/news/main.jhtml?xml=/news/2007/09/02/wirq102.xml"]
    felix = _event(parsed, "Tropical Storm Felix")
    assert [story.text for story in felix.stories] == ["Hurricanes and tropical storms",
                                                      "2007 Atlantic hurricane season"]
    athletics = _event(parsed, "American athlete Tyson Gay")
    assert athletics.stories[0].links[0].target == "2007 World Championships in Athletics"
    cycle = parsed.events[-1]
    assert cycle.text == "Arizona's Stephen Drew and Seattle's Adrian Beltre hit for the cycle"
    [warning] = parsed.warnings
    assert warning.line == cycle.line == 35 and "read as an event" in warning.message


def test_2003_04_01_links_in_sentences_and_placeholder_titles() -> None:
    parsed = parse_day_file(OLD_DAYS / "2003-04-01.wiki")
    assert len(parsed.events) == 12 and parsed.warnings == []
    locus = _event(parsed, "Locus Online carries a fake news story")
    assert locus.sources[0].name == "Locus Online"
    queens = _event(parsed, "The Campus Security Department")
    assert "reported Computer bugs had infected systems throughout the Campus. Reading" \
        in queens.text
    assert queens.sources[0].name == "queensu.ca"
    japan = _event(parsed, "In Japan, The Postal Services Agency")
    assert japan.sources == [Source(
        "http://www.japantimes.co.jp/cgi-bin/getarticle.pl5?nn20030402a1.htm", "japantimes.co.jp")]
    assert "£5 million deal" in _event(parsed, "Alex McLeish").text


def test_2014_12_16_currency_and_full_stops() -> None:
    parsed = parse_day_file(OLD_DAYS / "2014-12-16.wiki")
    assert len(parsed.events) == 19 and parsed.warnings == []
    ruble = _event(parsed, "Despite rate hike")
    assert ruble.text == "Despite rate hike, the ruble falls to 65 RUB per US dollar and " \
        "80 RUB per Euro."
    assert _event(parsed, "The Montgomery County").text.endswith("near his home in Pennsburg, Pa.")
    nyt = _event(parsed, "Taliban gunmen storm").sources[-1]
    assert nyt.name == "The New York Times"


def test_2010_12_08_and_2012_02_10_categories_and_stories() -> None:
    december = parse_day_file(OLD_DAYS / "2010-12-08.wiki")
    assert len(december.events) == 36 and december.warnings == []
    assert {e.category for e in december.events} == {
        "Armed conflicts and attacks", "Arts and culture", "Disasters",
        "International relations", "Law and crime", "Politics and elections", "Science"}
    dragon = _event(december, "SpaceX launched")
    assert [story.text for story in dragon.stories] == ["SpaceX Dragon — COTS Demo Flight 1"]
    february = parse_day_file(OLD_DAYS / "2012-02-10.wiki")
    assert len(february.events) == 34 and february.warnings == []
    assert _event(february, "The Guard wins").text == \
        "The Guard wins The Guardian's annual First Film award."
    homs = _event(february, "The Syrian Army offensive")
    assert [story.text for story in homs.stories] == ["Arab Spring", "2011-2012 Syrian uprising"]


_FORBIDDEN = [chr(c) for c in (*range(0, 9), 0x0B, 0x0C, *range(0x0E, 0x20))] + [
    "\ufffe", "\uffff", "\ud800", "\udbff", "\udc00", "\udfff"]


@pytest.mark.parametrize("char", _FORBIDDEN, ids=lambda char: f"U+{ord(char):04X}")
def test_characters_xml_forbids_never_reach_an_event(char: str) -> None:
    """Issue 11, fault 1: `*Sentence with \\x07 char.` ingested, then stopped every build."""
    parsed = parse_wikitext(DAYS_DATE, f";Law and{char} crime\n*Sentence with {char} char. "
                            f"[http://example.com/a{char} (Out{char}let)] [[Bar{char}ack]]\n"
                            f"text{char} outside\n")
    [event] = parsed.events
    assert contract(event) == {
        "category": "Law and crime", "stories": [], "text": "Sentence with char. Barack",
        "links": [{"target": "Barack", "label": "Barack"}],
        "sources": [{"url": "http://example.com/a", "name": "Outlet"}]}
    [warning] = parsed.warnings
    assert warning.text == "text outside"
