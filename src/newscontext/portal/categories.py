"""The portal's categories as one set across its eras.

Day pages have been headed by categories since December 2010, under names that changed:
"Armed attacks and conflicts" became "Armed conflicts and attacks", "Health" became "Health
and environment", early pages said "Disasters", "Politics", "Science" or "Sport". The site,
its filters and `export events` show the portal's current ten names; the heading as the page
wrote it is stored (lossless) and published beside it as `category_heading`.

The mapping is applied when events are read, not when they are parsed: the archive keeps
what the portal said, and a variant added here reaches every archive at once, with no
migration or re-parse. A heading this table does not know (a vandal's, or a category the
portal tried for a while) is shown as written: better a stray category than a wrong one.
"""

from __future__ import annotations

import re

# The portal's ten categories as it heads its days now (2025-2026 pages), in its order.
CATEGORIES = (
    "Armed conflicts and attacks",
    "Arts and culture",
    "Business and economy",
    "Disasters and accidents",
    "Health and environment",
    "International relations",
    "Law and crime",
    "Politics and elections",
    "Science and technology",
    "Sports",
)

# Earlier names of the ten, as real pages and parses of them wrote them (compared by `key`).
VARIANTS = {
    # Day pages of 2010-2016 (tests/fixtures/wikitext, wikitext-2003-2015).
    "Armed attacks and conflicts": "Armed conflicts and attacks",
    "Disasters": "Disasters and accidents",
    "Health": "Health and environment",
    "Politics": "Politics and elections",
    "Science": "Science and technology",
    "Sport": "Sports",
    # WikiTimes' names for the same categories (its parse of September 2015,
    # tests/fixtures/wikitimes), written with underscores.
    "War_Conflict": "Armed conflicts and attacks",
    "Entertainment_Culture": "Arts and culture",
    "Business_Finance": "Business and economy",
    "Disaster_Accident": "Disasters and accidents",
    "International_Relation": "International relations",
    "Law_Crime": "Law and crime",
    "Technology_Internet": "Science and technology",
}

_SPACES = re.compile(r"[\s_]+")


def key(heading: str) -> str:
    """What two spellings of a heading share: case, `&` for "and", underscores, runs of
    spaces and a trailing colon or full stop do not count."""
    text = _SPACES.sub(" ", heading.replace("&", " and ")).strip(" :.").casefold()
    return text


_CANONICAL = {key(name): name for name in CATEGORIES}
_CANONICAL.update({key(variant): name for variant, name in VARIANTS.items()})


def canonical(heading: str | None) -> str | None:
    """The category a heading stands for: one of CATEGORIES when it is one of them or of
    their variants, else the heading itself (None for none)."""
    if heading is None:
        return None
    return _CANONICAL.get(key(heading), heading)

