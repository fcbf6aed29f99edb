"""Related events: for every event, the other events that share the most telling context.

The first system counted shared context titles, so a hub such as `United States` weighed as
much as a rare, telling title such as `Deir ez-Zor`, and ties fell to path strings. Here each
shared entity weighs by its rarity (inverse document frequency), a story heading both events
stand under weighs more, and closeness in time lifts the score a little (and breaks ties).
`benchmarks/related_eval.py` measures these choices; `Method` holds them.

At archive scale (150,000 events) the work is a sparse product of the event x entity matrix
with its transpose, a block of rows at a time. Hubs (entities of very many events) are kept
out of the product, where they would pair almost every event with every other: their
weight is added exactly to the pairs the product finds, from bit matrices; an event left
with too few candidates gets hub-only candidates from the events nearest in time on each of
its hubs. Top-k selection and the shared-entity lists are vectorised.

After a small change most lists cannot change, and `update_pass` ranks only the rows a change
can reach (see `affected_rows`), giving exactly what a full pass would. That needs every
row's list to depend on nothing global that a small change moves: rarity weights use counts
rounded down to 1% steps (`idf_weights`), rows are ordered by (date, id) and columns by
title, so neither an event's position on its day nor the numbering of entities matters.
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .model import Related
from .workers import fork_pool

_WORD = re.compile(r"\w{3,}")

# An entity in more events than this is a hub (see the module docstring). Below it, the
# product is exact; the hub-only fill looks at this many nearest events per hub each side.
HUB_DF = 1000
HUB_WINDOW = 50


@dataclass(frozen=True)
class Method:
    """How shared context is scored. The defaults are the measured best (see README)."""

    name: str = "idf+story+time"
    idf: bool = True  # weigh each shared entity by log(N / df) instead of 1
    idf_step: float = 0.01  # N and df rounded down to 1% steps first (see idf_weights)
    story_boost: float = 1.0  # extra weight (x idf) of an entity both events have as story
    time_scale: float = 30.0  # days: closeness in time multiplies the score by up to 1+boost
    time_boost: float = 0.25
    path_tiebreak: bool = False  # the first system's rule: ties broken by path, descending
    text_weight: float = 0.0  # adds text_weight x TF-IDF cosine of the sentences' words


BASELINE = Method(name="count (first system)", idf=False, story_boost=0.0, time_boost=0.0,
                  path_tiebreak=True)
DEFAULT = Method()


@dataclass
class Contexts:
    """Events as rows of sparse matrices over entities (columns)."""

    ids: list[str]
    dates: np.ndarray  # ordinal day of each event
    titles: list[str]  # entity column -> title
    text: sp.csr_matrix  # 1 where the entity is linked in the sentence
    story: sp.csr_matrix  # 1 where the entity is linked in a story heading above the event
    paths: list[str] | None = None  # only for the first system's tie-break
    words: sp.csr_matrix | None = None  # L2-normalised TF-IDF of the sentences (optional)

    @classmethod
    def build(cls, rows: Iterable[tuple[str, int, str, int, int]], *,
              hide_stories: bool = False) -> Contexts:
        """From (event id, ordinal date, entity title, in_text, in_story) rows grouped by
        event. `hide_stories` keeps only entities linked in the sentences (for evaluation)."""
        ids: list[str] = []
        dates: list[int] = []
        column: dict[str, int] = {}
        numeric: list[tuple[int, int, int]] = []
        for event_id, day, title, in_text, in_story in rows:
            if not ids or ids[-1] != event_id:
                ids.append(event_id)
                dates.append(day)
            numeric.append((len(ids) - 1, column.setdefault(title, len(column)),
                            int(bool(in_text)) + 2 * int(bool(in_story))))
        return cls.from_arrays(ids, dates, list(column),
                               np.asarray(numeric, dtype=np.int64).reshape(-1, 3),
                               hide_stories=hide_stories)

    @classmethod
    def from_arrays(cls, ids: list[str], dates: Sequence[int], titles: list[str],
                    rows: np.ndarray, *, hide_stories: bool = False) -> Contexts:
        """From an (n, 3) array of (event index, entity index, flags: 1 in the sentence,
        2 in a story heading)."""
        event, entity, flags = rows[:, 0], rows[:, 1], rows[:, 2]
        shape = (len(ids), len(titles))

        def matrix(mask: np.ndarray) -> sp.csr_matrix:
            built = sp.csr_matrix((np.ones(int(mask.sum()), dtype=np.float32),
                                   (event[mask], entity[mask])), shape=shape)
            built.sum_duplicates()
            built.data[:] = 1.0
            return built

        text = matrix((flags & 1) == 1)
        story = matrix(np.zeros(len(rows), dtype=bool) if hide_stories else (flags & 2) == 2)
        return cls(ids, np.asarray(dates, dtype=np.int32), titles, text, story)

    @property
    def context(self) -> sp.csr_matrix:
        """1 where the entity is anywhere in the event's context."""
        both = (self.text + self.story).tocsr()
        both.sort_indices()
        both.data[:] = 1.0
        return both


@dataclass
class Ranked:
    """Related pairs, best first within each row: row, other row, score (flat arrays); and,
    per ranked row (`ranked`, ascending), what a later change needs to know (see
    `affected_rows`): the k-th best score among the pairs the product found, how many it
    found, and whether hub-only candidates were looked for (a weak row)."""

    rows: np.ndarray
    cols: np.ndarray
    scores: np.ndarray
    _n: int = 0
    ranked: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    pre_kth: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pre_count: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    weak: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def lists(self) -> list[list[tuple[int, float]]]:
        out: list[list[tuple[int, float]]] = [[] for _ in range(self._n)]
        for row, col, score in zip(self.rows.tolist(), self.cols.tolist(),
                                   self.scores.tolist(), strict=True):
            out[row].append((col, score))
        return out


def entity_counts(ctx: Contexts) -> np.ndarray:
    """How many events each entity (column) is in."""
    context = ctx.context
    return np.bincount(context.indices, minlength=context.shape[1]).astype(np.int64)


def _log_steps(count, method: Method):
    """log(count), rounded down to a whole number of steps of log(1 + idf_step)."""
    logs = np.log(np.asarray(count, dtype=np.float64))
    if not method.idf_step:
        return logs
    unit = math.log1p(method.idf_step)
    return np.floor(logs / unit + 1e-9) * unit


def idf_weights(df: np.ndarray, n: int, method: Method) -> np.ndarray:
    """Each entity's rarity weight, log(N / df), with N (events) and df (its events) first
    rounded down to steps of 1%: a weight moves only when a count crosses a step, so a
    small change leaves the weights of all but the few entities it touches as they were
    (the exact IDF would move every weight a little with every added event and so every
    score). Each weight is within log(1 + idf_step) of the exact log(N / df)."""
    if not method.idf:
        return np.ones(len(df), dtype=np.float32)
    return np.maximum(_log_steps(n, method) - _log_steps(np.maximum(df, 1), method),
                      1e-3).astype(np.float32)


def _selection(rows: tuple[int, int] | np.ndarray | None, n: int) -> np.ndarray:
    if rows is None:
        return np.arange(n, dtype=np.int64)
    if isinstance(rows, tuple):
        return np.arange(rows[0], rows[1], dtype=np.int64)
    return np.asarray(rows, dtype=np.int64)


def rank(ctx: Contexts, method: Method = DEFAULT, k: int = 10, *, block: int = 4096,
         hub_df: int = HUB_DF, hub_window: int = HUB_WINDOW,
         rows: tuple[int, int] | np.ndarray | None = None) -> Ranked:
    """Top-k other events per event (of all events, of the rows [start, stop) or of an
    ascending array of rows), best first. An event never relates to itself; only events
    sharing an entity are related. A row's list depends only on the contexts and dates,
    never on which other rows are ranked with it."""
    n = len(ctx.ids)
    empty = np.zeros(0, dtype=np.int64)
    selected = _selection(rows, n)
    if n == 0 or not len(selected):
        return Ranked(empty, empty, np.zeros(0), n)
    context = ctx.context
    story = ctx.story if method.story_boost else None
    df = entity_counts(ctx)
    weight = idf_weights(df, n, method)
    is_hub = df > hub_df
    hubs = _Hubs(context, story, weight, np.flatnonzero(is_hub), method.story_boost, hub_window)
    keep = sp.diags((~is_hub).astype(np.float32))
    left = (context @ sp.diags(weight) @ keep).tocsr()
    right_t = (context @ keep).T.tocsr()
    if story is not None:
        story_left = (story @ sp.diags(weight * method.story_boost) @ keep).tocsr()
        story_right_t = (story @ keep).T.tocsr()
    words_t = ctx.words.T.tocsr() if method.text_weight and ctx.words is not None else None
    tiebreak = _path_order(ctx) if method.path_tiebreak else None
    parts, facts = [], []
    for start in range(0, len(selected), block):
        sel = selected[start : start + block]
        scores = left[sel] @ right_t
        if story is not None:
            scores = scores + story_left[sel] @ story_right_t
        scores = scores.tocoo()
        pair_rows = sel[scores.row]
        cols = scores.col.astype(np.int64)
        vals = scores.data.astype(np.float64)
        if words_t is not None:
            vals = vals + method.text_weight * _pair_dot(ctx.words, pair_rows, cols)
        vals = vals + hubs.shared_weight(pair_rows, cols)
        pair_rows, cols, vals = _drop_self(pair_rows, cols, vals)
        top = _top_k(pair_rows, cols, vals, ctx.dates, method, k, tiebreak)
        count, kth = _kth(top, sel)
        weak = hubs.weak_rows(sel, count, kth, k, method)
        if weak.any():
            extra_rows, extra_cols = hubs.nearby(sel[weak], ctx.dates)
            extra = hubs.shared_weight(extra_rows, extra_cols)
            pair_rows = np.concatenate([top[0], extra_rows])
            cols = np.concatenate([top[1], extra_cols])
            base = np.concatenate([top[3], extra])
            pair_rows, cols, base = _drop_self(*_dedupe(pair_rows, cols, base))
            top = _top_k(pair_rows, cols, base, ctx.dates, method, k, tiebreak)
        parts.append(top[:3])
        facts.append((kth, count, weak))
    return Ranked(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                  np.round(np.concatenate([p[2] for p in parts]), 4), n, selected,
                  np.concatenate([f[0] for f in facts]), np.concatenate([f[1] for f in facts]),
                  np.concatenate([f[2] for f in facts]))


def _kth(top, sel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of `sel`: how many pairs `top` keeps, and the lowest final score kept (inf
    for none)."""
    at = np.searchsorted(sel, top[0])
    count = np.bincount(at, minlength=len(sel)).astype(np.int64)
    kth = np.full(len(sel), np.inf)
    if len(top[0]):
        last = np.r_[top[0][1:] != top[0][:-1], True]
        kth[at[last]] = top[2][last]
    return count, kth


class _Hubs:
    """Hub entities as packed bit matrices, to add their weight to candidate pairs."""

    def __init__(self, context: sp.csr_matrix, story: sp.csr_matrix | None,
                 weight: np.ndarray, columns: np.ndarray, story_boost: float,
                 window: int = HUB_WINDOW):
        self.count = len(columns)
        self.story_boost = story_boost
        self.window = window
        if not self.count:
            return
        sub = context[:, columns].tocsr()
        sub.sort_indices()
        self.indptr, self.indices = sub.indptr, sub.indices
        self.weight = weight[columns].astype(np.float64)
        self.bits = _packed(sub)
        self.story_bits = _packed(story[:, columns].tocsr()) if story is not None else None
        # The most a hub-only candidate of each row could score, before time.
        self.row_bound = (sub @ self.weight) * (1 + story_boost)
        self.postings = sub.T.tocsr()  # hub -> events, in row (date) order
        self.postings.sort_indices()

    def _has(self, bits: np.ndarray, rows: np.ndarray, hub: np.ndarray) -> np.ndarray:
        return (bits[rows, hub >> 3] >> (7 - (hub & 7)).astype(np.uint8)) & 1

    def shared_weight(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Sum of hub weights each (row, col) pair shares (story boost included)."""
        total = np.zeros(len(rows), dtype=np.float64)
        if not self.count or not len(rows):
            return total
        start = self.indptr[rows]
        length = self.indptr[rows + 1] - start
        for slot in range(int(length.max(initial=0))):
            active = np.flatnonzero(length > slot)
            hub = self.indices[start[active] + slot].astype(np.int64)
            shared = self._has(self.bits, cols[active], hub).astype(np.float64)
            factor = np.ones(len(active))
            if self.story_bits is not None and self.story_boost:
                both = (self._has(self.story_bits, rows[active], hub)
                        & self._has(self.story_bits, cols[active], hub))
                factor += self.story_boost * both
            total[active] += shared * self.weight[hub] * factor
        return total

    def weak_rows(self, sel: np.ndarray, count: np.ndarray, kth: np.ndarray, k: int,
                  method: Method) -> np.ndarray:
        """Which rows of `sel` a hub-only candidate could still enter the top k of."""
        if not self.count:
            return np.zeros(len(sel), dtype=bool)
        has_hubs = self.indptr[sel + 1] > self.indptr[sel]
        bound = self.row_bound[sel] * (1 + method.time_boost)
        return has_hubs & ((count < k) | (kth < bound))

    def nearby(self, rows: np.ndarray, dates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each row, the events nearest in time on each of its hubs' posting lists."""
        out_rows, out_cols = [], []
        for row in rows.tolist():
            for hub in self.indices[self.indptr[row] : self.indptr[row + 1]].tolist():
                posting = self.postings.indices[self.postings.indptr[hub]
                                                : self.postings.indptr[hub + 1]]
                at = int(np.searchsorted(posting, row))
                near = posting[max(0, at - self.window) : at + self.window + 1]
                out_rows.append(np.full(len(near), row, dtype=np.int64))
                out_cols.append(near.astype(np.int64))
        if not out_rows:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        return np.concatenate(out_rows), np.concatenate(out_cols)


def _packed(matrix: sp.csr_matrix) -> np.ndarray:
    """Rows of a 0/1 sparse matrix as packed bits (8 columns a byte)."""
    coo = matrix.tocoo()
    dense = np.zeros(matrix.shape, dtype=bool)
    dense[coo.row, coo.col] = True
    return np.packbits(dense, axis=1)


def _drop_self(rows, cols, vals):
    keep = rows != cols
    return rows[keep], cols[keep], vals[keep]


def _dedupe(rows, cols, vals):
    """One entry per (row, col), keeping the larger score."""
    order = np.lexsort((-vals, cols, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    first = np.r_[True, (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])]
    return rows[first], cols[first], vals[first]


def _pair_dot(matrix: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    return np.asarray(matrix[rows].multiply(matrix[cols]).sum(axis=1)).ravel()


def _top_k(rows, cols, base, dates, method: Method, k: int, tiebreak):
    """Best k per row: (rows, cols, final scores, base scores), sorted by row then rank.
    Equal scores go to the nearer date, then to the lower row (reproducible)."""
    gap = np.abs(dates[cols] - dates[rows]).astype(np.float64)
    final = base * (1.0 + method.time_boost * np.exp(-gap / method.time_scale)) \
        if method.time_boost else base.copy()
    key = final + tiebreak[cols] if tiebreak is not None else final
    order = np.lexsort((cols, gap, -key, rows))
    rows, cols, final, base = rows[order], cols[order], final[order], base[order]
    if len(rows):
        starts = np.r_[0, np.flatnonzero(rows[1:] != rows[:-1]) + 1]
        lengths = np.diff(np.r_[starts, len(rows)])
        position = np.arange(len(rows)) - np.repeat(starts, lengths)
        keep = position < k
        rows, cols, final, base = rows[keep], cols[keep], final[keep], base[keep]
    return rows, cols, final, base


def word_matrix(texts: Sequence[str]) -> sp.csr_matrix:
    """L2-normalised TF-IDF rows of the sentences' words (for the text-similarity option)."""
    vocabulary: dict[str, int] = {}
    rows, cols = [], []
    for row, text in enumerate(texts):
        for word in set(_WORD.findall(text.lower())):
            rows.append(row)
            cols.append(vocabulary.setdefault(word, len(vocabulary)))
    matrix = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                           shape=(len(texts), len(vocabulary)))
    df = np.asarray(matrix.sum(axis=0)).ravel()
    idf = np.log(len(texts) / np.maximum(df, 1)).astype(np.float32)
    matrix = (matrix @ sp.diags(idf)).tocsr()
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    return (sp.diags(1.0 / np.maximum(norms, 1e-9)) @ matrix).tocsr()


def _path_order(ctx: Contexts) -> np.ndarray:
    """Each event's position when paths are sorted, scaled to [0, 0.5): a tie-break term
    that prefers the larger path, as the first system did."""
    paths = ctx.paths or ctx.ids
    order = np.argsort(np.asarray(paths, dtype=object), kind="stable")
    position = np.empty(len(paths), dtype=np.float64)
    position[order] = np.arange(len(paths))
    return position / max(len(paths), 1) * 0.5


def related_lists(ctx: Contexts, method: Method = DEFAULT, k: int = 10
                  ) -> list[tuple[str, list[Related]]]:
    """Every event's related list with the titles each pair shares, sorted."""
    return [(event_id, [Related(i["id"], i["score"], tuple(i["shared"]))
                        for i in json.loads(items)])
            for event_id, items in related_json(ctx, method, k, workers=1)]


def related_json(ctx: Contexts, method: Method = DEFAULT, k: int = 10, workers: int = 2
                 ) -> list[tuple[str, str]]:
    """Every event's related list as the JSON the store keeps (see `rank_lists`)."""
    return rank_lists(ctx, method, k, workers=workers).items


@dataclass
class Lists:
    """Related lists as the store keeps them, (event id, JSON), for the rows `rows`; and
    per row the facts a later pass needs (see `Ranked`) and the length of its list."""

    items: list[tuple[str, str]]
    rows: np.ndarray
    pre_kth: np.ndarray
    pre_count: np.ndarray
    weak: np.ndarray
    links: np.ndarray

    @classmethod
    def join(cls, parts: Sequence[Lists]) -> Lists:
        if not parts:
            none = np.zeros(0, dtype=np.int64)
            return cls([], none, np.zeros(0), none, np.zeros(0, dtype=bool), none)
        return cls([item for part in parts for item in part.items],
                   *(np.concatenate([getattr(p, name) for p in parts])
                     for name in ("rows", "pre_kth", "pre_count", "weak", "links")))


def rank_lists(ctx: Contexts, method: Method = DEFAULT, k: int = 10, *,
               rows: np.ndarray | None = None, workers: int = 2, hub_df: int = HUB_DF,
               hub_window: int = HUB_WINDOW) -> Lists:
    """The related lists of every event (or of the ascending `rows`), computed by `workers`
    processes over equal runs of the rows (the matrices are shared by forking)."""
    selected = _selection(rows, len(ctx.ids))
    if workers <= 1 or len(selected) < 20_000:
        return _lists_rows(ctx, method, k, selected, hub_df, hub_window)
    global _SHARED
    _SHARED = (ctx, method, k, hub_df, hub_window)
    try:
        with fork_pool(workers) as pool:  # they die with this process if it is killed
            parts = list(pool.map(_lists_part, np.array_split(selected, workers)))
    finally:
        _SHARED = None
    return Lists.join(parts)


_SHARED: tuple[Contexts, Method, int, int, int] | None = None  # what forked workers read


def _lists_part(rows: np.ndarray) -> Lists:
    assert _SHARED is not None
    ctx, method, k, hub_df, hub_window = _SHARED
    return _lists_rows(ctx, method, k, rows, hub_df, hub_window)


CHUNK = 16_384  # events ranked and encoded at a time: bounds the memory of one pass


def _lists_rows(ctx: Contexts, method: Method, k: int, rows: np.ndarray, hub_df: int,
                hub_window: int) -> Lists:
    context = ctx.context
    return Lists.join([_lists_chunk(ctx, context, method, k, rows[start : start + CHUNK],
                                    hub_df, hub_window)
                       for start in range(0, len(rows), CHUNK)])


def _lists_chunk(ctx: Contexts, context: sp.csr_matrix, method: Method, k: int,
                 rows: np.ndarray, hub_df: int, hub_window: int) -> Lists:
    ranked = rank(ctx, method, k, rows=rows, hub_df=hub_df, hub_window=hub_window)
    shared = context[ranked.rows].multiply(context[ranked.cols]).tocsr()
    shared.sort_indices()
    # Shared titles read case-insensitively sorted: order this chunk's titles once, then
    # every pair's by one sort of (pair, place of title).
    columns, inverse = np.unique(shared.indices, return_inverse=True)
    names = [ctx.titles[col] for col in columns.tolist()]
    place = np.empty(len(names), dtype=np.int64)
    place[sorted(range(len(names)), key=lambda i: (names[i].casefold(), names[i]))] = \
        np.arange(len(names))
    pair = np.repeat(np.arange(len(ranked.rows)), np.diff(shared.indptr))
    ordered = inverse.ravel()[np.lexsort((place[inverse.ravel()], pair))].tolist()
    encoded = [json.dumps(name, ensure_ascii=False) for name in names]
    indptr = shared.indptr.tolist()
    ids = ctx.ids
    lists: dict[int, list[str]] = {}
    for n, (row, col, score) in enumerate(zip(ranked.rows.tolist(), ranked.cols.tolist(),
                                              ranked.scores.tolist(), strict=True)):
        titles = ",".join([encoded[i] for i in ordered[indptr[n] : indptr[n + 1]]])
        lists.setdefault(row, []).append(
            f'{{"id":"{ids[col]}","score":{score!r},"shared":[{titles}]}}')
    rows_list = rows.tolist()
    return Lists([(ids[row], "[" + ",".join(lists.get(row, ())) + "]") for row in rows_list],
                 rows, ranked.pre_kth, ranked.pre_count, ranked.weak,
                 np.array([len(lists.get(row, ())) for row in rows_list], dtype=np.int64))


# -- incremental passes -------------------------------------------------------------------


@dataclass
class Pass:
    """What a pass leaves for the next: the contexts it ranked and, per row, the facts
    that decide whether a later change can reach the row's list (see `affected_rows`)."""

    ctx: Contexts
    pre_kth: np.ndarray  # k-th best score of the pairs the product found (inf: fewer)
    pre_count: np.ndarray  # how many it found (up to k)
    weak: np.ndarray  # hub-only candidates were looked for
    links: np.ndarray  # length of the row's list

    @classmethod
    def blank(cls, ctx: Contexts) -> Pass:
        n = len(ctx.ids)
        return cls(ctx, np.full(n, np.inf), np.zeros(n, dtype=np.int64),
                   np.zeros(n, dtype=bool), np.zeros(n, dtype=np.int64))

    def record(self, lists: Lists) -> None:
        rows = lists.rows
        self.pre_kth[rows] = lists.pre_kth
        self.pre_count[rows] = lists.pre_count
        self.weak[rows] = lists.weak
        self.links[rows] = lists.links


@dataclass
class Change:
    """Events changed since a pass, as they stand now: id, whether still live (on the
    portal), ordinal date, and context rows (index into ids, index into titles, flags:
    1 linked in the sentence, 2 in a story heading)."""

    ids: list[str]
    live: list[bool]
    dates: list[int]
    titles: list[str]
    rows: np.ndarray


def full_pass(ctx: Contexts, method: Method = DEFAULT, k: int = 10, *, workers: int = 2,
              hub_df: int = HUB_DF, hub_window: int = HUB_WINDOW
              ) -> tuple[list[tuple[str, str]], Pass]:
    """Every list, and what the next pass needs."""
    lists = rank_lists(ctx, method, k, workers=workers, hub_df=hub_df, hub_window=hub_window)
    done = Pass.blank(ctx)
    done.record(lists)
    return lists.items, done


def update_pass(previous: Pass, change: Change, shown: Iterable[str], method: Method = DEFAULT,
                k: int = 10, *, workers: int = 2, hub_df: int = HUB_DF,
                hub_window: int = HUB_WINDOW
                ) -> tuple[list[tuple[str, str]], Pass, int] | None:
    """The lists a change can reach, ranked again: the same lists a full pass would give.
    `shown` are the events whose stored lists show a changed event. Returns the lists to
    store (changed events no longer live get an empty one), the pass state and how many
    rows were ranked; None when only a full pass will do (the event count crossed a step
    of the weights, which moves every weight; or a method option this does not follow)."""
    if method.text_weight or method.path_tiebreak or not len(previous.ctx.ids):
        return None
    new, old_to_new, changed_old, changed_new, remap = update_contexts(previous.ctx, change)
    n_old, n_new = len(previous.ctx.ids), len(new.ids)
    if not n_new or (method.idf and _log_steps(n_old, method) != _log_steps(n_new, method)):
        return None
    done = Pass.blank(new)
    kept = old_to_new >= 0
    for name in ("pre_kth", "pre_count", "weak", "links"):
        getattr(done, name)[old_to_new[kept]] = getattr(previous, name)[kept]
    index = {event_id: row for row, event_id in enumerate(previous.ctx.ids)}
    shown_old = np.array([index[i] for i in shown if i in index], dtype=np.int64)
    shown_rows = old_to_new[shown_old]
    rows = affected_rows(previous.ctx, new, changed_old, changed_new, remap, done,
                         shown_rows[shown_rows >= 0], method, k, hub_df, hub_window)
    lists = rank_lists(new, method, k, rows=rows, workers=workers, hub_df=hub_df,
                       hub_window=hub_window)
    done.record(lists)
    gone = [(event_id, "[]") for event_id, live in zip(change.ids, change.live, strict=True)
            if not live]
    return lists.items + gone, done, len(rows)


def update_contexts(old: Contexts, change: Change
                    ) -> tuple[Contexts, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The contexts with `change` applied, rows in (date, id) order and titles sorted.
    Returns them, each old row's new row (-1: a changed event), the old rows of the changed
    events, the new rows of those live now (in order), and each old column's new column."""
    index = {event_id: row for row, event_id in enumerate(old.ids)}
    changed_old = np.array(sorted(index[i] for i in change.ids if i in index), dtype=np.int64)
    fresh = sorted(set(change.titles).difference(old.titles))
    titles = sorted(old.titles + fresh) if fresh else old.titles
    remap = np.delete(np.arange(len(titles)), [bisect_left(titles, t) for t in fresh])
    column = np.array([bisect_left(titles, t) for t in change.titles], dtype=np.int64)
    keep = np.ones(len(old.ids), dtype=bool)
    keep[changed_old] = False
    kept = np.flatnonzero(keep)
    live = [j for j, is_live in enumerate(change.live) if is_live]
    joined = [old.ids[row] for row in kept.tolist()] + [change.ids[j] for j in live]
    dates = np.concatenate([old.dates[kept],
                            np.array([change.dates[j] for j in live], dtype=np.int32)])
    order = np.lexsort((np.array(joined, dtype=str), dates))
    position = np.empty(len(joined), dtype=np.int64)
    position[order] = np.arange(len(joined))
    old_to_new = np.full(len(old.ids), -1, dtype=np.int64)
    old_to_new[kept] = position[: len(kept)]
    new_row = np.full(len(change.ids), -1, dtype=np.int64)
    new_row[live] = position[len(kept):]
    text, story = old.text.tocoo(), old.story.tocoo()
    flags = np.concatenate([np.ones(text.nnz, dtype=np.int64), np.full(story.nnz, 2)])
    rows = np.concatenate([text.row, story.row]).astype(np.int64)
    cols = np.concatenate([text.col, story.col]).astype(np.int64)
    stay = keep[rows]
    mine = change.rows[new_row[change.rows[:, 0]] >= 0] if len(change.rows) else change.rows
    triples = np.concatenate([
        np.column_stack([old_to_new[rows[stay]], remap[cols[stay]], flags[stay]]),
        np.column_stack([new_row[mine[:, 0]], column[mine[:, 1]], mine[:, 2]]),
    ]).astype(np.int64).reshape(-1, 3)
    new = Contexts.from_arrays([joined[i] for i in order.tolist()], dates[order], titles,
                               triples)
    return new, old_to_new, changed_old, np.sort(new_row[live]), remap


def affected_rows(old: Contexts, new: Contexts, changed_old: np.ndarray,
                  changed_new: np.ndarray, remap: np.ndarray, facts: Pass,
                  shown: np.ndarray, method: Method, k: int, hub_df: int, hub_window: int
                  ) -> np.ndarray:
    """The rows (of `new`) whose list a change can reach; every other row's list is what a
    full pass over `new` gives it. `facts` holds the previous pass's facts per row.

    A row's list is a function of its context, its product candidates (events sharing a
    non-hub entity) with their scores, the weights and hub status of its entities, and,
    for a weak row, the events near it on its hubs' posting lists. So a list can change
    only for: a changed event; an event with an entity whose weight or hub status moved;
    an event whose list shows a changed event; an event for which a changed event, as it
    was or as it is, is a product candidate scoring at least the k-th best product score
    (or that found fewer than k); and a weak event within the hub window of a changed
    event's place, before or after, on a shared hub."""
    context = new.context
    n = len(new.ids)
    df = entity_counts(new)
    df_before = np.zeros(len(df), dtype=np.int64)
    df_before[remap] = entity_counts(old)
    weight = idf_weights(df, n, method)
    is_hub = df > hub_df
    moved = ((weight != idf_weights(df_before, len(old.ids), method))
             | (is_hub != (df_before > hub_df))) & (df > 0)
    found = [changed_new, shown]
    if moved.any():
        found.append(np.unique(context[:, np.flatnonzero(moved)].tocoo().row))
    # Probes: each changed event as it was (old context, date, place) and as it is.
    shape = (len(changed_old), len(new.titles))

    def before(matrix: sp.csr_matrix) -> sp.csr_matrix:
        part = matrix[changed_old].tocoo()
        return sp.csr_matrix((part.data, (part.row, remap[part.col])), shape=shape)

    probe = sp.vstack([before(old.context), context[changed_new]]).tocsr()
    probe_story = sp.vstack([before(old.story), new.story[changed_new]]).tocsr()
    probe_dates = np.concatenate([old.dates[changed_old], new.dates[changed_new]])
    places = [_place(new, int(old.dates[row]), old.ids[row]) for row in changed_old.tolist()]
    places = np.array(places + changed_new.tolist(), dtype=np.int64)
    if probe.nnz:
        keep = sp.diags((~is_hub).astype(np.float32))
        pairs = (probe @ keep @ context.T).tocoo()
        q, x = pairs.row.astype(np.int64), pairs.col.astype(np.int64)
        w = sp.diags(weight.astype(np.float64))
        base = np.asarray((probe[q].multiply(context[x]) @ w).sum(axis=1)).ravel()
        if method.story_boost:
            base += method.story_boost * np.asarray(
                (probe_story[q].multiply(new.story[x]) @ w).sum(axis=1)).ravel()
        gap = np.abs(new.dates[x] - probe_dates[q]).astype(np.float64)
        final = base * (1.0 + method.time_boost * np.exp(-gap / method.time_scale))
        kth = facts.pre_kth[x]  # a margin for the two ways of adding up a score
        low = kth - (1e-4 + 1e-5 * np.abs(np.where(np.isfinite(kth), kth, 0.0)))
        reach = (facts.pre_count[x] < k) | (final >= low)
        found.append(x[reach])
        hubs = np.flatnonzero(is_hub)
        if len(hubs):
            postings = context[:, hubs].T.tocsr()
            postings.sort_indices()
            hub_probe = probe[:, hubs].tocsr()
            for qi, place in enumerate(places.tolist()):
                for h in hub_probe.indices[hub_probe.indptr[qi] : hub_probe.indptr[qi + 1]]:
                    posting = postings.indices[postings.indptr[h] : postings.indptr[h + 1]]
                    at = int(np.searchsorted(posting, place))
                    near = posting[max(0, at - hub_window - 1) : at + hub_window + 2]
                    found.append(near[facts.weak[near]].astype(np.int64))
    return np.unique(np.concatenate(found).astype(np.int64))


def _place(ctx: Contexts, day: int, event_id: str) -> int:
    """Where an event of this date and id goes in the rows (ordered by date, then id)."""
    low = int(np.searchsorted(ctx.dates, day, side="left"))
    high = int(np.searchsorted(ctx.dates, day, side="right"))
    return bisect_left(ctx.ids, event_id, low, high)


def precision_at_k(ranked: Ranked | Sequence[Sequence[tuple[int, float]]],
                   stories: Sequence[str | None], k: int = 10) -> tuple[float, float, int]:
    """How often related lists hold events of the same innermost story.

    Returns (P@k, normalised P@k, events scored): P@k = same-story hits / k; the normalised
    form divides by min(k, other events of that story), so 1.0 is reachable for small
    stories. Only events whose story has at least one other event count."""
    lists = ranked.lists() if isinstance(ranked, Ranked) else ranked
    sizes: dict[str, int] = {}
    for story in stories:
        if story:
            sizes[story] = sizes.get(story, 0) + 1
    total = normalised = 0.0
    counted = 0
    for row, items in enumerate(lists):
        story = stories[row]
        if not story or sizes[story] < 2:
            continue
        hits = sum(1 for other, _ in items[:k] if stories[other] == story)
        total += hits / k
        normalised += hits / min(k, sizes[story] - 1)
        counted += 1
    if not counted:
        return math.nan, math.nan, 0
    return total / counted, normalised / counted, counted
