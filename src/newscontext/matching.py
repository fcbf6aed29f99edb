"""Which event of a new revision is which event we already have.

Portal days are edited for days: sentences reworded, sources added, events moved between
stories or days. An event keeps its identity when it is recognisably the same: it cites the
same articles, says nearly the same thing, or stands in the same place. Scores combine the
three; pairs are taken greedily from the best down, so each event matches at most once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterable, Sequence
from difflib import SequenceMatcher
from urllib.parse import urlsplit

from .model import Event
from .portal.categories import canonical as canonical_category

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
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
    except ValueError:  # "http://[x" and the like: only the same text is the same URL
        return url.strip()
    if host.startswith("www."):
        host = host[4:]
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{path}{query}"


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class _Item:
    """An event with what scoring reads of it, computed once instead of once per pair."""

    __slots__ = ("event", "story", "urls", "words")

    def __init__(self, event: Event):
        self.event = event
        self.words = words(event.text)
        self.urls = frozenset(url_key(s.url) for s in event.sources)
        self.story = event.stories[-1].text if event.stories else ""


def _text(a: _Item, b: _Item) -> float:
    """Share of words in common, in order (difflib ratio over word lists)."""
    if a.event.text == b.event.text:
        return 1.0
    if not a.words or not b.words:
        return 0.0
    return SequenceMatcher(None, a.words, b.words, autojunk=False).ratio()


def _sources(a: _Item, b: _Item) -> float:
    """Jaccard overlap of the cited URLs."""
    if not a.urls or not b.urls:
        return 0.0
    return len(a.urls & b.urls) / len(a.urls | b.urls)


def _place(a: _Item, b: _Item) -> float:
    """1 for the same category and innermost story, 0.5 for the same category only (by its
    current name: a page renamed "Health" to "Health and environment" moved nothing)."""
    if canonical_category(a.event.category) != canonical_category(b.event.category):
        return 0.0
    return 1.0 if a.story == b.story else 0.5


def _score(old: _Item, new: _Item) -> float:
    text = _text(old, new)
    if text == 1.0:
        return 1.0 + _place(old, new) * 0.01  # exact wording: prefer same place
    sources = _sources(old, new)
    if text < 0.25 and sources == 0.0:
        return 0.0  # nothing in common but the place: a different event
    return W_TEXT * text + W_SOURCES * sources + W_PLACE * _place(old, new)


def _move(old: _Item, new: _Item) -> float:
    """Between days the place means little: wording and sources must carry it."""
    text = _text(old, new)
    sources = _sources(old, new)
    if sources == 0.0:
        return text if text >= 0.9 else 0.0
    return 0.5 * text + 0.5 * sources


class _Index:
    """Old events indexed so that a new event is scored only against those that can reach
    the threshold: the ones citing a URL it cites, with its exact wording, or sharing a word
    of its rarest words. Scoring every pair made one large day quadratic to ingest.

    The word filter is exact (prefix filtering): a word-sequence ratio of at least r needs
    at least r*la/(2-r) of the la query words matched, so among any la*(2-2r)/(2-r) + 1 of
    them one occurs in the candidate; taking the rarest keeps the lists read short.
    """

    def __init__(self, old: Sequence[_Item]):
        self.by_url: dict[str, list[int]] = {}
        self.by_text: dict[str, list[int]] = {}
        self.by_word: dict[str, list[int]] = {}
        for i, item in enumerate(old):
            for url in item.urls:
                self.by_url.setdefault(url, []).append(i)
            self.by_text.setdefault(item.event.text, []).append(i)
            for word in set(item.words):
                self.by_word.setdefault(word, []).append(i)

    def candidates(self, item: _Item, min_text: float) -> set[int]:
        found = set(self.by_text.get(item.event.text, ()))
        for url in item.urls:
            found.update(self.by_url.get(url, ()))
        count = len(item.words)
        if count:
            r = max(min_text - 1e-9, 1e-9)
            prefix = min(count, int(count * (2 - 2 * r) / (2 - r)) + 1)
            by_word = self.by_word
            rarest = sorted(item.words, key=lambda w: (len(by_word.get(w, ())), w))[:prefix]
            for word in set(rarest):
                found.update(by_word.get(word, ()))
        return found


def score(old: Event, new: Event, *, same_day: bool = True) -> float:
    """How surely `new` is `old` (>= MIN_SCORE within a day, MIN_MOVE_SCORE between days)."""
    return (_score if same_day else _move)(_Item(old), _Item(new))


def _min_text(threshold: float, same_day: bool) -> float:
    """The least text similarity with which a pair citing no common URL can reach the
    threshold (see _score and _move)."""
    if same_day:
        return max(0.25, (threshold - W_PLACE) / W_TEXT)
    return max(0.9, threshold)


def match(
    old: Sequence[Event], new: Sequence[Event], *, threshold: float = MIN_SCORE,
    same_day: bool = True,
) -> dict[int, int]:
    """Pair new events with old ones: {index in new: index in old}. Unpaired new events
    are new; unpaired old events have left the page."""
    olds = [_Item(e) for e in old]
    news = [_Item(e) for e in new]
    index = _Index(olds)
    result: dict[int, int] = {}
    taken: set[int] = set()
    # The same wording scores above 1, any other pair below 1: pairing the same wordings
    # first, then the rest, takes the pairs in the order one list of every pair would.
    exact = [(j, index.by_text.get(item.event.text, ())) for j, item in enumerate(news)]
    _take(olds, news, exact, _score if same_day else _move, threshold, result, taken)
    min_text = _min_text(threshold, same_day)
    rest = [(j, index.candidates(news[j], min_text) - taken)
            for j in range(len(news)) if j not in result]
    _take(olds, news, rest, _score if same_day else _move, threshold, result, taken)
    return result


def _take(olds: Sequence[_Item], news: Sequence[_Item],
          candidates: Iterable[tuple[int, Iterable[int]]],
          scorer: Callable[[_Item, _Item], float], threshold: float,
          result: dict[int, int], taken: set[int]) -> None:
    """Score the candidate pairs and take them greedily, best first; each old and each new
    event is taken once."""
    pairs: list[tuple[float, int, int, int]] = []
    for j, found in candidates:
        for i in found:
            value = scorer(olds[i], news[j])
            if value >= threshold:
                # Ties go to the nearest position, so duplicated sentences keep their order.
                pairs.append((value, -abs(i - j), i, j))
    pairs.sort(reverse=True)
    for _value, _distance, i, j in pairs:
        if i in taken or j in result:
            continue
        taken.add(i)
        result[j] = i


class MoveFinder:
    """Events of several days, asked one event at a time for the one it moved from or to:
    the best match on another day within `window` days (indexed once for a whole run, so a
    day of thousands of new events is not a scan of its neighbours per event)."""

    def __init__(self, events: Sequence[Event]):
        self.items = [_Item(e) for e in events]
        self.index = _Index(self.items)

    def find(self, event: Event, window: int, exclude: Container[int] = ()) -> int | None:
        """Index of the best partner of `event`, ties to the earliest; None below
        MIN_MOVE_SCORE."""
        item = _Item(event)
        best: tuple[float, int] | None = None
        for i in self.index.candidates(item, _min_text(MIN_MOVE_SCORE, False)):
            if i in exclude or not 0 < abs((self.items[i].event.date - event.date).days) <= window:
                continue
            value = _move(self.items[i], item)
            if value >= MIN_MOVE_SCORE and (best is None or (value, -i) > (best[0], -best[1])):
                best = (value, i)
        return None if best is None else best[1]
