"""Which event of a new revision is which event we already have.

Portal days are edited for days: sentences reworded, sources added, events moved between
stories or days. An event keeps its identity when it is recognisably the same: it cites the
same articles, says nearly the same thing, or stands in the same place. Scores combine the
three; pairs are taken greedily from the best down, so each event matches at most once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher
from urllib.parse import urlsplit

from .model import Event

_WORD = re.compile(r"\w+", re.UNICODE)

# Weights of the evidence: sources are the strongest sign, then wording, then place.
W_TEXT, W_SOURCES, W_PLACE = 0.45, 0.4, 0.15
# Below this an old and a new event are different events (tuned on real reworded days:
# a reworded sentence with the same source scores > 0.6; unrelated events of one story < 0.3).
MIN_SCORE = 0.42
# Moves between days need stronger evidence than edits within a day.
MIN_MOVE_SCORE = 0.6


def url_key(url: str) -> str:
    """A URL without the differences editors make when re-pasting it (scheme, www, slash)."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{path}{query}"


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def text_similarity(a: str, b: str) -> float:
    """Share of words in common, in order (difflib ratio over word lists)."""
    if a == b:
        return 1.0
    wa, wb = words(a), words(b)
    if not wa or not wb:
        return 0.0
    return SequenceMatcher(None, wa, wb, autojunk=False).ratio()


def source_similarity(a: Event, b: Event) -> float:
    """Jaccard overlap of the cited URLs."""
    ua = {url_key(s.url) for s in a.sources}
    ub = {url_key(s.url) for s in b.sources}
    if not ua or not ub:
        return 0.0
    return len(ua & ub) / len(ua | ub)


def place_similarity(a: Event, b: Event) -> float:
    """1 for the same category and innermost story, 0.5 for the same category only."""
    if a.category != b.category:
        return 0.0
    story_a = a.stories[-1].text if a.stories else ""
    story_b = b.stories[-1].text if b.stories else ""
    return 1.0 if story_a == story_b else 0.5


def score(old: Event, new: Event) -> float:
    text = text_similarity(old.text, new.text)
    if text == 1.0:
        return 1.0 + place_similarity(old, new) * 0.01  # exact wording: prefer same place
    sources = source_similarity(old, new)
    if text < 0.25 and sources == 0.0:
        return 0.0  # nothing in common but the place: a different event
    return W_TEXT * text + W_SOURCES * sources + W_PLACE * place_similarity(old, new)


def match(
    old: Sequence[Event], new: Sequence[Event], *, threshold: float = MIN_SCORE,
    same_day: bool = True,
) -> dict[int, int]:
    """Pair new events with old ones: {index in new: index in old}. Unpaired new events
    are new; unpaired old events have left the page."""
    pairs: list[tuple[float, int, int]] = []
    for j, candidate in enumerate(new):
        for i, existing in enumerate(old):
            value = score(existing, candidate) if same_day else _move_score(existing, candidate)
            if value >= threshold:
                # Ties go to the nearest position, so duplicated sentences keep their order.
                pairs.append((value, -abs(i - j), i, j))
    pairs.sort(reverse=True)
    taken_old: set[int] = set()
    result: dict[int, int] = {}
    for _value, _distance, i, j in pairs:
        if i in taken_old or j in result:
            continue
        taken_old.add(i)
        result[j] = i
    return result


def _move_score(old: Event, new: Event) -> float:
    """Between days the place means little: wording and sources must carry it."""
    text = text_similarity(old.text, new.text)
    sources = source_similarity(old, new)
    if sources == 0.0:
        return text if text >= 0.9 else 0.0
    return 0.5 * text + 0.5 * sources
