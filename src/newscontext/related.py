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
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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
    """Related pairs, best first within each row: row, other row, score (flat arrays)."""

    rows: np.ndarray
    cols: np.ndarray
    scores: np.ndarray

    def lists(self) -> list[list[tuple[int, float]]]:
        out: list[list[tuple[int, float]]] = [[] for _ in range(self._n)]
        for row, col, score in zip(self.rows.tolist(), self.cols.tolist(),
                                   self.scores.tolist(), strict=True):
            out[row].append((col, score))
        return out

    _n: int = 0


def rank(ctx: Contexts, method: Method = DEFAULT, k: int = 10, *, block: int = 4096,
         hub_df: int = HUB_DF, rows: tuple[int, int] | None = None) -> Ranked:
    """Top-k other events per event (of all events, or of the rows [start, stop)), best
    first. An event never relates to itself; only events sharing an entity are related."""
    n = len(ctx.ids)
    empty = np.zeros(0, dtype=np.int64)
    if n == 0:
        return Ranked(empty, empty, np.zeros(0), 0)
    context = ctx.context
    story = ctx.story if method.story_boost else None
    df = np.asarray(context.sum(axis=0)).ravel()
    if method.idf:
        weight = np.maximum(np.log(n / np.maximum(df, 1)), 1e-3).astype(np.float32)
    else:
        weight = np.ones(len(df), dtype=np.float32)
    is_hub = df > hub_df
    hubs = _Hubs(context, story, weight, np.flatnonzero(is_hub), method.story_boost)
    keep = sp.diags((~is_hub).astype(np.float32))
    left = (context @ sp.diags(weight) @ keep).tocsr()
    right_t = (context @ keep).T.tocsr()
    if story is not None:
        story_left = (story @ sp.diags(weight * method.story_boost) @ keep).tocsr()
        story_right_t = (story @ keep).T.tocsr()
    words_t = ctx.words.T.tocsr() if method.text_weight and ctx.words is not None else None
    tiebreak = _path_order(ctx) if method.path_tiebreak else None
    parts = []
    first, last = rows or (0, n)
    for start in range(first, last, block):
        stop = min(start + block, last)
        scores = left[start:stop] @ right_t
        if story is not None:
            scores = scores + story_left[start:stop] @ story_right_t
        scores = scores.tocoo()
        rows = scores.row.astype(np.int64) + start
        cols = scores.col.astype(np.int64)
        vals = scores.data.astype(np.float64)
        if words_t is not None:
            vals = vals + method.text_weight * _pair_dot(ctx.words, rows, cols)
        vals = vals + hubs.shared_weight(rows, cols)
        rows, cols, vals = _drop_self(rows, cols, vals)
        top = _top_k(rows, cols, vals, ctx.dates, method, k, tiebreak)
        weak = hubs.weak_rows(top, start, stop, k, method)
        if weak.size:
            extra_rows, extra_cols = hubs.nearby(weak, ctx.dates)
            extra = hubs.shared_weight(extra_rows, extra_cols)
            rows = np.concatenate([top[0], extra_rows])
            cols = np.concatenate([top[1], extra_cols])
            base = np.concatenate([top[3], extra])
            rows, cols, base = _drop_self(*_dedupe(rows, cols, base))
            top = _top_k(rows, cols, base, ctx.dates, method, k, tiebreak)
        parts.append(top[:3])
    rows = np.concatenate([p[0] for p in parts])
    cols = np.concatenate([p[1] for p in parts])
    scores = np.round(np.concatenate([p[2] for p in parts]), 4)
    return Ranked(rows, cols, scores, n)


class _Hubs:
    """Hub entities as packed bit matrices, to add their weight to candidate pairs."""

    def __init__(self, context: sp.csr_matrix, story: sp.csr_matrix | None,
                 weight: np.ndarray, columns: np.ndarray, story_boost: float):
        self.count = len(columns)
        self.story_boost = story_boost
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

    def weak_rows(self, top, start: int, stop: int, k: int, method: Method) -> np.ndarray:
        """Rows whose top-k a hub-only candidate could still enter."""
        if not self.count:
            return np.zeros(0, dtype=np.int64)
        rows_with_hubs = np.arange(start, stop)
        rows_with_hubs = rows_with_hubs[self.indptr[rows_with_hubs + 1]
                                        > self.indptr[rows_with_hubs]]
        if not rows_with_hubs.size:
            return rows_with_hubs
        counts = np.bincount(top[0] - start, minlength=stop - start)
        kth = np.full(stop - start, np.inf)
        if len(top[0]):
            last = np.r_[top[0][1:] != top[0][:-1], True]
            kth[top[0][last] - start] = top[2][last]  # lowest final score kept per row
        candidates = rows_with_hubs
        full = counts[candidates - start] >= k
        bound = self.row_bound[candidates] * (1 + method.time_boost)
        return candidates[~full | (kth[candidates - start] < bound)]

    def nearby(self, rows: np.ndarray, dates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each row, the events nearest in time on each of its hubs' posting lists."""
        out_rows, out_cols = [], []
        for row in rows.tolist():
            for hub in self.indices[self.indptr[row] : self.indptr[row + 1]].tolist():
                posting = self.postings.indices[self.postings.indptr[hub]
                                                : self.postings.indptr[hub + 1]]
                at = int(np.searchsorted(posting, row))
                near = posting[max(0, at - HUB_WINDOW) : at + HUB_WINDOW + 1]
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
    """Every event's related list as the JSON the store keeps, computed by `workers`
    processes over halves of the rows (the matrices are shared by forking)."""
    n = len(ctx.ids)
    if workers <= 1 or n < 20_000:
        return _related_json_rows(ctx, method, k, (0, n))
    bounds = [(n * w // workers, n * (w + 1) // workers) for w in range(workers)]
    global _SHARED
    _SHARED = (ctx, method, k)
    try:
        with fork_pool(workers) as pool:  # they die with this process if it is killed
            parts = list(pool.map(_related_json_part, bounds))
    finally:
        _SHARED = None
    return [item for part in parts for item in part]


_SHARED: tuple[Contexts, Method, int] | None = None  # what forked workers read


def _related_json_part(rows: tuple[int, int]) -> list[tuple[str, str]]:
    assert _SHARED is not None
    ctx, method, k = _SHARED
    return _related_json_rows(ctx, method, k, rows)


CHUNK = 16_384  # events ranked and encoded at a time: bounds the memory of one pass


def _related_json_rows(ctx: Contexts, method: Method, k: int, rows: tuple[int, int]
                       ) -> list[tuple[str, str]]:
    context = ctx.context
    out: list[tuple[str, str]] = []
    for start in range(rows[0], rows[1], CHUNK):
        out += _related_json_chunk(ctx, context, method, k, (start, min(start + CHUNK, rows[1])))
    return out


def _related_json_chunk(ctx: Contexts, context: sp.csr_matrix, method: Method, k: int,
                        rows: tuple[int, int]) -> list[tuple[str, str]]:
    ranked = rank(ctx, method, k, rows=rows)
    shared = context[ranked.rows].multiply(context[ranked.cols]).tocsr()
    shared.sort_indices()
    titles = ctx.titles
    encoded: dict[int, str] = {}  # entity column -> its title as JSON, made once

    def title(col: int) -> str:
        text = encoded.get(col)
        if text is None:
            text = encoded[col] = json.dumps(titles[col], ensure_ascii=False)
        return text

    def order(col: int) -> tuple[str, str]:  # shared titles read case-insensitively sorted
        return titles[col].casefold(), titles[col]

    ids = ctx.ids
    lists: dict[int, list[str]] = {}
    indptr, indices = shared.indptr, shared.indices.tolist()
    for n, (row, col, score) in enumerate(zip(ranked.rows.tolist(), ranked.cols.tolist(),
                                              ranked.scores.tolist(), strict=True)):
        names = ",".join(title(c) for c in sorted(indices[indptr[n] : indptr[n + 1]], key=order))
        lists.setdefault(row, []).append(
            f'{{"id":"{ids[col]}","score":{score!r},"shared":[{names}]}}')
    return [(ids[row], "[" + ",".join(lists.get(row, ())) + "]")
            for row in range(rows[0], rows[1])]


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
