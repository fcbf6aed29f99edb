"""Spellings of one title folded by rule: the portal's editors link "Syrian civil war" and
"Syrian Civil War", "(2023-present)" and "(2023–present)" meaning one article, and MediaWiki
(case-sensitive after the first letter, dash-sensitive) sees two titles. Where the redirect
table or the API says nothing, such titles are made one subject here.

The rule (docs/cli.md says it for users):
- Two titles fold when they are equal once every dash (hyphen, en and em dash, minus ...)
  and the spaces around it are one hyphen, every run of spacing one space, and every word is
  lower case, except a word written all in capitals (two letters or more): "ISIS" and
  "Isis", "US" and "Us", "AIDS" and "Aids" stay apart, since an acronym and a word are often
  different pages (the goddess Isis is not the Islamic State). Their merging is the redirect
  table's or the API's job.
- A disambiguation page never folds: it is a page of its own by the wiki's word.
- The group's canonical member: the one title the wiki (table or API) knows as a page; if it
  knows two or more, they are different pages and nothing in the group folds. Else the most
  linked spelling; between equally linked ones, the one with fewer hyphens
  (Wikipedia titles have an en dash where keyboards give a hyphen: "(2023–present)"), then
  fewer capitals (Wikipedia titles are in sentence case: "Syrian civil war" before "Syrian
  Civil War"), then the shorter (no spaces around a dash), then the first in code-point
  order. So the result depends on what the archive holds, not on the order it came in.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from .titles import SPACES

# The rule's edition: `resolve` keeps each title's fold key and each group's outcome between
# runs (store/titles.py) and works everything out again when `rule_id()` differs from the
# one it kept. Change it with any change to fold_key, _preference or fold.
RULE = "1"

_DASHES = re.compile(r"\s*[-\u2010-\u2015\u2212\ufe58\ufe63\uff0d]\s*")
_HYPHENS = "-\u2010\u2011"  # hyphen-minus, hyphen, non-breaking hyphen
_WORDS = re.compile(r"[^\W\d_]+")  # runs of letters


def _word_key(match: re.Match[str]) -> str:
    word = match.group()
    return word if len(word) > 1 and word.isupper() else word.casefold()


def fold_key(title: str) -> str:
    """What two spellings of one title have in common (see the module's rule)."""
    text = unicodedata.normalize("NFC", title)
    text = SPACES.sub(" ", text).strip()
    text = _DASHES.sub("-", text)
    return _WORDS.sub(_word_key, text)


# Titles whose keys say whether fold_key still reads text as it did (Unicode data too).
_PROBES = ("Syrian Civil War", "Syrian civil\u00a0war", "2023\u2013present", "A \u2014 B",
           "A\u2212B", "ISIS", "Isis", "AIDS", "U.S.", "\u00c9cole  Normale", "e\u0301cole",
           "\u0130stanbul", "Stra\u00dfe", "\u03a3\u03bf\u03c6\u03af\u03b1", "Ko\u0308ln",
           "Saint-\u00c9tienne", "Coup d'\u00e9tat", "1\u20132", "Dz\u01c5")


def rule_id() -> str:
    """The rule's edition and a fingerprint of what fold_key makes of the probes, so that
    a Python with other Unicode data, or an edited fold_key, is noticed by itself."""
    keys = "\n".join(fold_key(title) for title in _PROBES)
    digest = hashlib.sha256(keys.encode()).hexdigest()[:16]
    return f"{RULE} {unicodedata.unidata_version} {digest}"


@dataclass(frozen=True, slots=True)
class Spelling:
    """A canonical title (redirects already followed) as the fold weighs it."""

    title: str
    links: int = 0  # events linking it, through any of its redirects
    article: bool = False  # the redirect table or the API knows it as a page
    disambiguation: bool = False


def _preference(spelling: Spelling) -> tuple[int, int, int, int, str]:
    """Sorts a group's spellings best first (see the module's rule)."""
    title = spelling.title
    return (-spelling.links, sum(1 for c in title if c in _HYPHENS),
            sum(1 for c in title if c.isupper()),
            len(title), title)


def fold(spellings: Iterable[Spelling]) -> dict[str, str]:
    """{title: the canonical member it folds into}, for every title that folds into another."""
    groups: dict[str, list[Spelling]] = defaultdict(list)
    for spelling in spellings:
        if not spelling.disambiguation:
            groups[fold_key(spelling.title)].append(spelling)
    folded: dict[str, str] = {}
    for group in groups.values():
        if len(group) < 2:
            continue
        pages = [s for s in group if s.article]
        if len(pages) > 1:
            continue
        winner = pages[0] if pages else min(group, key=_preference)
        folded.update((s.title, winner.title) for s in group if s.title != winner.title)
    return folded
