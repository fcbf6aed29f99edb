"""What a link target leads to, from four layers of knowledge, the first that knows winning:
the MediaWiki API's answer, a redirect table file given to `resolve`, the table shipped with
newscontext, and the spelling fold (portal/fold.py) among titles none of them redirects.

Every function here is pure: it reads the rows of the titles table (store/titles.py) and
says which rows to write, so `resolve` gives the same rows whatever order the titles came in.

The fold decides group by group (the spellings with one fold key), so after a change only
the groups it can reach are folded again (`reached_titles`, `group_targets`): those of the
targets whose events changed and of the titles whose rows were saved, each group being its
own spelling's and those of the titles its row led to before and leads to after. A group
none of them reaches has the same spellings, links and pages as when it was last folded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .model import TitleInfo
from .portal.fold import Spelling, fold, fold_key
from .portal.titles import (
    SHIPPED_REDIRECTS,
    follow_redirects,
    read_redirect_table,
    shipped_redirects,
)
from .store.titles import API, FOLD, SHIPPED_PREFIX, TitleRow

SHIPPED = SHIPPED_PREFIX + SHIPPED_REDIRECTS


def rank(origin: str) -> int:
    """How much a row's origin weighs: the API above a given file above the shipped table
    above the fold."""
    if origin == API:
        return 3
    if origin == FOLD:
        return 0
    return 1 if origin.startswith(SHIPPED_PREFIX) else 2


@dataclass
class Table:
    """The shipped redirect table with a given file's rows added over it."""

    redirects: dict[str, str]
    origin: dict[str, str]  # from-title -> SHIPPED or the file's path
    problems: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, given: Path | None) -> Table:
        redirects = dict(shipped_redirects())
        table = cls(redirects, dict.fromkeys(redirects, SHIPPED))
        if given is not None:
            rows, table.problems = read_redirect_table(given)
            table.redirects.update(rows)
            table.origin.update(dict.fromkeys(rows, str(given)))
        return table

    def infos(self, targets: Iterable[str], rows: Mapping[str, TitleRow]
              ) -> dict[str, list[TitleInfo]]:
        """{origin: what to save} for the targets the table redirects, where no weightier
        origin knows them and the archive does not hold this row already."""
        learnt: dict[str, list[TitleInfo]] = {}
        for title in sorted(set(targets) & self.redirects.keys()):
            origin = self.origin[title]
            row = rows.get(title)
            if row is not None and rank(row.origin) > rank(origin):
                continue
            canonical = follow_redirects(title, self.redirects)
            if row is None or (row.canonical, row.origin) != (canonical, origin):
                learnt.setdefault(origin, []).append(TitleInfo(title, canonical))
        return learnt


def redirected(title: str, rows: Mapping[str, TitleRow]) -> str:
    """Where a title leads before the fold (a fold row does not count)."""
    row = rows.get(title)
    return row.canonical if row is not None and row.origin != FOLD else title


def spellings(targets: Iterable[str], rows: Mapping[str, TitleRow],
              links: Mapping[str, int]) -> list[Spelling]:
    """Every title the targets lead to, with its links and what the wiki says it is."""
    targets = list(targets)
    counts: Counter[str] = Counter()
    for title in targets:
        counts[redirected(title, rows)] += links.get(title, 0)
    known = [row for row in rows.values() if row.origin != FOLD]
    pages = {row.canonical for row in known if row.canonical != row.title}
    pages |= {row.title for row in known
              if row.origin == API and row.canonical == row.title and not row.missing}
    disambiguation = {row.canonical for row in known if row.disambiguation}
    return [Spelling(title, counts[title], title in pages, title in disambiguation)
            for title in sorted(counts)]


def fold_infos(targets: Iterable[str], rows: Mapping[str, TitleRow], links: Mapping[str, int]
               ) -> tuple[dict[str, str], dict[str, list[TitleInfo]]]:
    """The fold of the targets' spellings ({title: canonical}) and {origin: rows to save}:
    fold rows for titles folded now, and titles folded before but no longer set back to
    themselves (an API answer a fold row kept turns back into an API row). A folded title
    keeps what the API said of it (`missing`, page id)."""
    targets = sorted(set(targets))
    folded = fold(spellings(targets, rows, links))
    learnt: dict[str, list[TitleInfo]] = {}
    for title in targets:
        row = rows.get(title)
        if row is not None and row.origin != FOLD and row.canonical != title:
            continue  # a redirect: the fold never moves one
        target = folded.get(title)
        if target is not None:
            if row is None or (row.origin, row.canonical) != (FOLD, target):
                learnt.setdefault(FOLD, []).append(_info(title, target, row))
        elif row is not None and row.origin == FOLD and row.canonical != title:
            origin = API if row.missing else FOLD
            learnt.setdefault(origin, []).append(_info(title, title, row))
    return folded, learnt


def _info(title: str, canonical: str, row: TitleRow | None) -> TitleInfo:
    if row is None:
        return TitleInfo(title, canonical)
    return TitleInfo(title, canonical, row.pageid, row.wikidata, row.disambiguation,
                     row.missing)


def reached_titles(titles: Iterable[str], *rows: Mapping[str, TitleRow]) -> set[str]:
    """These titles and every title their rows (before and after a change) lead to: the
    spellings whose groups a change to these titles can reach."""
    reached = set(titles)
    for known in rows:
        reached |= {known[t].canonical for t in reached & known.keys()}
    return reached


def fold_keys(titles: Iterable[str]) -> dict[str, str]:
    return {title: fold_key(title) for title in titles}


def every_spelling(targets: Iterable[str], rows: Mapping[str, TitleRow]) -> set[str]:
    """The targets and what they lead to before the fold: every title a group may hold."""
    targets = set(targets)
    return targets | {redirected(t, rows) for t in targets}


def group_targets(counts: Mapping[str, int], rows: Mapping[str, TitleRow],
                  members: Iterable[str]) -> list[str]:
    """Those of the targets (`counts`: their links) whose spelling is one of `members`, the
    titles with the reached groups' keys: the targets whose fold rows those groups decide."""
    members = set(members)
    return sorted(t for t in counts if redirected(t, rows) in members)
