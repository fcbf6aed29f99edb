"""Local inputs: day pages as `.wiki` files, MediaWiki XML exports, or rendered `.html`.

Each input yields PageRevisions, or InputErrors for what cannot be read, so one broken
file never stops the others.
"""

from __future__ import annotations

import bz2
import gzip
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO

from lxml import etree

from ..model import PageRevision
from .titles import day_of_title

log = logging.getLogger("newscontext.inputs")

WIKITEXT_SUFFIXES = (".wiki", ".wikitext", ".mediawiki")
HTML_SUFFIXES = (".html", ".htm")
XML_SUFFIXES = (".xml", ".xml.gz", ".xml.bz2")
_ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_HTML_DAY = re.compile(rb'class="[^"]*\bdtstart\b[^"]*"[^>]*>(\d{4}-\d{2}-\d{2})<')


@dataclass(frozen=True, slots=True)
class InputError:
    """An input that could not be read; `place` names the file (and page) concerned."""

    place: str
    message: str


def _kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(XML_SUFFIXES):
        return "xml"
    if name.endswith(WIKITEXT_SUFFIXES):
        return "wikitext"
    if name.endswith(HTML_SUFFIXES):
        return "html"
    return None


def _day_from_name(path: Path) -> date | None:
    match = _ISO_DAY.search(path.name)
    if match:
        try:
            return date(*(int(part) for part in match.groups()))
        except ValueError:
            return None
    stem = path.name.split(".", 1)[0]
    return day_of_title(stem)


def expand(paths: Iterable[Path]) -> tuple[list[Path], list[InputError]]:
    """Files to read, from files and folders (recursively), in a stable order."""
    files: list[Path] = []
    errors: list[InputError] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and _kind(p))
            if not found:
                errors.append(InputError(str(path), "folder holds no .wiki, .xml or .html files"))
            files += found
        elif path.is_file():
            if _kind(path):
                files.append(path)
            else:
                errors.append(InputError(str(path), "not a .wiki, .xml or .html file; skipped"))
        else:
            errors.append(InputError(str(path), "no such file or folder"))
    return files, errors


def read_paths(paths: Iterable[Path]) -> Iterator[PageRevision | InputError]:
    files, errors = expand(paths)
    yield from errors
    for path in files:
        kind = _kind(path)
        try:
            if kind == "xml":
                yield from read_export(path)
            else:
                yield read_day_file(path)
        except (OSError, UnicodeDecodeError) as exc:
            yield InputError(str(path), f"cannot read: {exc}")


def read_day_file(path: Path) -> PageRevision | InputError:
    """One day page in a file named by its date (`2016-01-19.wiki`, `2016-01-19.html`)."""
    kind = _kind(path) or "wikitext"
    raw = path.read_bytes()
    day = _day_from_name(path)
    if day is None and kind == "html":
        match = _HTML_DAY.search(raw)
        day = date.fromisoformat(match.group(1).decode()) if match else None
    if day is None:
        return InputError(str(path), "cannot tell the day: name the file YYYY-MM-DD"
                          f"{'.html' if kind == 'html' else '.wiki'}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return InputError(str(path), f"not UTF-8 ({exc})")
    if not text.strip():
        return InputError(str(path), "file is empty")
    return PageRevision(date=day, text=text, format=kind, origin=str(path))


def _open_export(path: Path) -> IO[bytes]:
    name = path.name.lower()
    if name.endswith(".gz"):
        return gzip.open(path, "rb")
    if name.endswith(".bz2"):
        return bz2.open(path, "rb")
    return path.open("rb")


def read_export(path: Path) -> Iterator[PageRevision | InputError]:
    """Stream a Special:Export (or dump) file page by page, revision by revision, without
    loading it whole; pages that are not day pages are skipped."""
    with _open_export(path) as handle:
        context = etree.iterparse(handle, events=("end",), tag="{*}page", huge_tree=True,
                                  recover=False)
        try:
            for _event, page in context:
                yield from _export_page(path, page)
                page.clear()
                while page.getprevious() is not None:
                    del page.getparent()[0]
        except etree.XMLSyntaxError as exc:
            yield InputError(str(path), f"malformed XML, reading stopped here: {exc}")


def _child_text(element, name: str) -> str | None:
    found = element.find(f"{{*}}{name}")
    return found.text if found is not None else None


def _export_page(path: Path, page) -> Iterator[PageRevision | InputError]:
    title = _child_text(page, "title") or ""
    day = day_of_title(title)
    if day is None:
        log.info("%s: %r is not a day page; skipped", path, title)
        return
    for revision in page.iterfind("{*}revision"):
        revid_text = _child_text(revision, "id")
        text_node = revision.find("{*}text")
        place = f"{path} ({title}, revision {revid_text or '?'})"
        if text_node is None or text_node.get("deleted") is not None:
            yield InputError(place, "revision text is missing or deleted")
            continue
        model = _child_text(revision, "model") or "wikitext"
        if model != "wikitext":
            yield InputError(place, f"content model {model!r} is not wikitext")
            continue
        try:
            revid = int(revid_text) if revid_text else None
        except ValueError:
            yield InputError(place, f"revision id {revid_text!r} is not a number")
            continue
        yield PageRevision(
            date=day, text=text_node.text or "", format="wikitext", origin=f"{path}#{title}",
            revid=revid, timestamp=_child_text(revision, "timestamp"),
        )
