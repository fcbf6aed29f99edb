"""Event matching: the candidate index finds every pair the full comparison would."""

from __future__ import annotations

from datetime import date

from conftest import wikitext
from hypothesis import given, settings
from hypothesis import strategies as st

from newscontext import matching
from newscontext.model import Event, Source, Story
from newscontext.portal.wikitext import parse_wikitext


def brute_force(old: list[Event], new: list[Event], threshold: float, same_day: bool
                ) -> dict[int, int]:
    """The matching as it was: every pair scored, best first, nearest position on ties."""
    pairs = sorted(((matching.score(o, n, same_day=same_day), -abs(i - j), i, j)
                    for j, n in enumerate(new) for i, o in enumerate(old)), reverse=True)
    taken: set[int] = set()
    result: dict[int, int] = {}
    for value, _distance, i, j in pairs:
        if value >= threshold and i not in taken and j not in result:
            taken.add(i)
            result[j] = i
    return result


WORDS = ["the", "a", "of", "Syria", "army", "attack", "kills", "in", "president", "vote",
         "Iran", "rebels", "city", "talks", "new", "court"]
event = st.builds(
    lambda text, urls, category, story: Event(
        date=date(2016, 1, 19), category=category,
        stories=(Story(story, ()),) if story else (), text=" ".join(text), links=[],
        sources=[Source(f"https://{u}.example/x", "Outlet") for u in urls]),
    st.lists(st.sampled_from(WORDS), max_size=12),
    st.lists(st.sampled_from("abcdef"), max_size=3),
    st.sampled_from(["Armed conflicts and attacks", "Politics and elections", None]),
    st.sampled_from(["", "Syrian Civil War", "Elections"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(event, max_size=12), st.lists(event, max_size=12), st.booleans())
def test_index_finds_what_scoring_every_pair_finds(old, new, same_day):
    threshold = matching.MIN_SCORE if same_day else matching.MIN_MOVE_SCORE
    assert matching.match(old, new, threshold=threshold, same_day=same_day) == \
        brute_force(old, new, threshold, same_day)


def test_real_days_against_reworded_revisions():
    for name in ("2016-01-19", "2026-03-06", "2026-03-08"):
        day = date.fromisoformat(name)
        old = parse_wikitext(day, wikitext(name)).events
        text = wikitext(name).replace(" killed ", " left dead ").replace(" the ", " a ")
        new = parse_wikitext(day, text).events[3:]
        found = matching.match(old, new)
        assert found == brute_force(old, new, matching.MIN_SCORE, True)
        assert len(found) == len(new) > 8
