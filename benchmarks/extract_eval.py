"""Quality and speed of newscontext's article extraction next to plain trafilatura.

Body text: the Zyte article-extraction-benchmark pages, scored as that benchmark does
(whitespace tokens, multiset overlap -> precision, recall, F1 per page, then averaged).
Metadata: title, author and description on the Mozilla Readability and newspaper4k pages,
scored by normalised exact match (casefolded, punctuation and a leading "By" dropped) and by
token F1 on the same normalised words; pages whose reference has no value are not scored.
The plain baseline is ``trafilatura.extract(html)`` with defaults for the body and
``trafilatura.extract_metadata(html)`` for the metadata.

Usage: python benchmarks/extract_eval.py [--repeat N] [--pages]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import trafilatura

from newscontext.sources.extract import extract

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "articles"

# References we checked by hand and found wrong; still scored as misses, but explained.
KNOWN_BAD_REFERENCES = {
    ("readability/herald-sun-1", "author"): "the reference is the byline of a teaser further down;"
    " the byline under the headline and article:author both say Laurie Oakes",
}


# --------------------------------------------------------------------------- data


def zyte_pages() -> list[tuple[str, str, bytes, str]]:
    """(id, url, html, articleBody) for every Zyte page we keep."""
    root = FIXTURES / "zyte"
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    return [
        (
            key[:8],
            item["url"],
            gzip.decompress((root / "html" / f"{key}.html.gz").read_bytes()),
            item["articleBody"],
        )
        for key, item in sorted(truth.items(), key=lambda kv: kv[1]["url"])
    ]


def metadata_pages() -> list[tuple[str, str, bytes, dict[str, str | None]]]:
    """(name, url, html, {title, author, description}) from Readability and newspaper4k."""
    pages = []
    for folder in sorted((FIXTURES / "readability").iterdir()):
        if not folder.is_dir():
            continue
        expected = json.loads((folder / "expected-metadata.json").read_text(encoding="utf-8"))
        html = (folder / "source.html").read_bytes()
        pages.append(
            (
                f"readability/{folder.name}",
                "http://fakehost/test/page.html",  # the URL Readability's own tests use
                html,
                {
                    "title": expected.get("title"),
                    "author": expected.get("byline"),
                    "description": expected.get("excerpt"),
                },
            )
        )
    root = FIXTURES / "newspaper4k" / "data"
    for meta_file in sorted((root / "metadata").glob("*.json")):
        name = meta_file.stem
        expected = json.loads(meta_file.read_text(encoding="utf-8"))
        pages.append(
            (
                f"newspaper4k/{name}",
                expected["url"],
                (root / "html" / f"{name}.html").read_bytes(),
                {
                    "title": expected.get("title"),
                    "author": ", ".join(expected.get("authors") or []) or None,
                    "description": expected.get("meta_description"),
                },
            )
        )
    return pages


# --------------------------------------------------------------------------- scores


def prf(predicted: str, truth: str) -> tuple[float, float, float]:
    """Token-level precision, recall, F1 (whitespace tokens, multiset overlap)."""
    pred, true = Counter(predicted.split()), Counter(truth.split())
    overlap = sum((pred & true).values())
    if not pred and not true:
        return 1.0, 1.0, 1.0
    precision = overlap / sum(pred.values()) if pred else 0.0
    recall = overlap / sum(true.values()) if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def normalise(value: str | None) -> str:
    text = (value or "").casefold()
    text = re.sub(r"^\s*by\s+", "", text)
    return " ".join(re.findall(r"[^\W_]+", text))


def field_scores(predicted: str | None, expected: str) -> tuple[float, float]:
    """(normalised exact match, token F1 of normalised words)."""
    pred, true = normalise(predicted), normalise(expected)
    return float(pred == true), prf(pred, true)[2]


# --------------------------------------------------------------------------- runners


def ours_body(html: bytes, url: str) -> str:
    return extract(html, url).article.text


def plain_body(html: bytes, url: str) -> str:
    return trafilatura.extract(html) or ""


def ours_meta(html: bytes, url: str) -> dict[str, str | None]:
    result = extract(html, url)
    return {
        "title": result.article.title,
        "author": result.article.author,
        "description": result.og.description,
    }


def plain_meta(html: bytes, url: str) -> dict[str, str | None]:
    meta = trafilatura.extract_metadata(html, default_url=url)
    if meta is None:
        return {"title": None, "author": None, "description": None}
    author = meta.author.replace("; ", ", ") if meta.author else None
    return {"title": meta.title, "author": author, "description": meta.description}


def timed(fn: Callable[[bytes, str], object], pages: list[tuple[bytes, str]], repeat: int) -> float:
    """Pages per second, best of ``repeat`` runs (after one warm-up run)."""
    for html, url in pages:
        fn(html, url)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for html, url in pages:
            fn(html, url)
        best = min(best, time.perf_counter() - start)
    return len(pages) / best


# --------------------------------------------------------------------------- report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timing runs (best is kept)")
    parser.add_argument("--pages", action="store_true", help="print per-page body scores")
    args = parser.parse_args(argv)

    zyte = zyte_pages()
    ours = [prf(ours_body(html, url), truth) for _, url, html, truth in zyte]
    plain = [prf(plain_body(html, url), truth) for _, url, html, truth in zyte]

    print(f"Body text: {len(zyte)} Zyte benchmark pages (token P/R/F1, mean over pages)")
    print(f"{'':26}{'precision':>10}{'recall':>10}{'F1':>10}{'min F1':>10}")
    for name, scores in (("newscontext extract()", ours), ("plain trafilatura", plain)):
        p, r, f = (statistics.mean(s[i] for s in scores) for i in range(3))
        print(f"{name:26}{p:10.3f}{r:10.3f}{f:10.3f}{min(s[2] for s in scores):10.3f}")
    if args.pages:
        print(f"\n{'page':10}{'ours F1':>9}{'plain F1':>9}  url")
        for (key, url, _, _), mine, base in zip(zyte, ours, plain, strict=True):
            print(f"{key:10}{mine[2]:9.3f}{base[2]:9.3f}  {url[:70]}")

    meta_pages = metadata_pages()
    print(f"\nMetadata: {len(meta_pages)} Readability + newspaper4k pages")
    print("(exact = normalised exact match; F1 = token F1; n = pages whose reference has a value)")
    print(
        f"{'field':13}{'n':>3}{'ours exact':>12}{'ours F1':>9}{'plain exact':>13}{'plain F1':>10}"
    )
    ours_meta_all = [ours_meta(html, url) for _, url, html, _ in meta_pages]
    plain_meta_all = [plain_meta(html, url) for _, url, html, _ in meta_pages]
    misses: list[str] = []
    for field in ("title", "author", "description"):
        rows_ours, rows_plain = [], []
        for (name, _, _, expected), mine, base in zip(
            meta_pages, ours_meta_all, plain_meta_all, strict=True
        ):
            if not expected.get(field):
                continue
            rows_ours.append(field_scores(mine[field], expected[field]))
            rows_plain.append(field_scores(base[field], expected[field]))
            if rows_ours[-1][0] < 1:
                note = KNOWN_BAD_REFERENCES.get((name, field), "")
                misses.append(
                    f"  {name} {field}: got {mine[field]!r}, reference {expected[field]!r}"
                    + (f"\n    ({note})" if note else "")
                )
        exact_ours, f1_ours = (statistics.mean(r[i] for r in rows_ours) for i in (0, 1))
        exact_plain, f1_plain = (statistics.mean(r[i] for r in rows_plain) for i in (0, 1))
        print(
            f"{field:13}{len(rows_ours):3}{exact_ours:12.2f}{f1_ours:9.2f}"
            f"{exact_plain:13.2f}{f1_plain:10.2f}"
        )
    if misses:
        print("Our misses against the references:")
        print("\n".join(m[:220] for m in misses))

    all_pages = [(html, url) for _, url, html, _ in zyte] + [
        (html, url) for _, url, html, _ in meta_pages
    ]
    print(f"\nSpeed on {len(all_pages)} pages (best of {args.repeat}, one core)")
    runners: list[tuple[str, Callable[[bytes, str], object]]] = [
        ("newscontext extract() (metadata + body + status)", extract),
        ("plain trafilatura.extract(html) (body only)", plain_body),
        (
            "trafilatura.bare_extraction(html, with_metadata=True)",
            lambda h, u: trafilatura.bare_extraction(h, with_metadata=True),
        ),
    ]
    for label, runner in runners:
        print(f"{label:56}{timed(runner, all_pages, args.repeat):8.1f} pages/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
