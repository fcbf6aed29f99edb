"""Shared clean-up of a bullet's rendered text, used by both the wikitext and the HTML parser.

Both parsers render a bullet into pieces: plain text, and source markers where a cited
article stood. Doing the final clean-up in one place is what makes the two parsers agree.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..model import Link, Source

SOURCE_MARK = "\x00"  # stands where a cited source was, until the text is cleaned

_WS = re.compile(r"[\s\u00a0\u2000-\u200b\u202f\u205f\u3000\ufeff]+")
# A run of source markers with what separates or encloses them: "(", ")", ",", ";", "and".
_SOURCE_RUN = re.compile(
    r"\(?\s*" + SOURCE_MARK + r"(?:[\s,;/]*(?:and\s+)?" + SOURCE_MARK + r")*\s*\)?"
)
# "... Noem. [url (Bloomberg)]." -> "... Noem.": a full stop typed after a source that
# already followed the end of the sentence would otherwise read "Noem..".
_STOP_AROUND_SOURCE = re.compile(
    r"([.!?][\"'”’]?)(\s*" + _SOURCE_RUN.pattern + r")\s*\.(?!\.)"
)
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?)\]])")
_SPACE_AFTER_OPEN = re.compile(r"([(\[])\s+")
_EMPTY_BRACKETS = re.compile(r"\(\s*\)|\[\s*\]")
_SEPARATORS = ",;:–—-"
_TRAILING_SEPARATORS = re.compile(r"(?:\s*[,;:–—-])+$")
_OUTLET_JUNK = re.compile(r"^[\s(\[\"'‘“]+|[\s)\]\"'’”.,;:]+$")


@dataclass
class Rendered:
    """What a bullet says: text pieces (with source markers), its links and its sources."""

    parts: list[str] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    source_labels: list[str] = field(default_factory=list)  # how each source was shown

    def add_source(self, url: str, label: str) -> None:
        url = clean_url(url)
        if not url:
            return
        name = clean_outlet(label) or host_of(url)
        self.sources.append(Source(url=url, name=name))
        self.source_labels.append(label)
        self.parts.append(SOURCE_MARK)

    def text(self) -> str:
        return clean_text("".join(self.parts))

    def has_text(self) -> bool:
        return bool(self.text())


def clean_text(raw: str) -> str:
    """Plain sentence: entities decoded, sources and their brackets gone, single spaces.

    Called for every link label and sentence, so steps that cannot apply are skipped."""
    text = html.unescape(raw) if "&" in raw else raw
    if SOURCE_MARK in text:
        text = _STOP_AROUND_SOURCE.sub(r"\1\2", text)
        text = _SOURCE_RUN.sub(" ", text)
        text = text.replace(SOURCE_MARK, " ")
    text = _WS.sub(" ", text)
    brackets = "(" in text or "[" in text
    if brackets:
        text = _EMPTY_BRACKETS.sub("", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    if brackets:
        text = _SPACE_AFTER_OPEN.sub(r"\1", text)
    text = _WS.sub(" ", text).strip()
    if text and text[-1] in _SEPARATORS:
        # Separators left dangling where trailing sources were cut away.
        text = _TRAILING_SEPARATORS.sub("", text).strip()
    return text


def clean_outlet(label: str) -> str:
    """The outlet as written in a citation, without the brackets and quotes around it."""
    name = _WS.sub(" ", html.unescape(label)).strip()
    name = name.replace("''", "")
    previous = None
    while previous != name:
        previous = name
        name = _OUTLET_JUNK.sub("", name)
    # A label like "(AFP via (Daily Star" keeps balanced brackets only.
    if name.count("(") != name.count(")"):
        name = name.replace("(", "").replace(")", "")
    return _WS.sub(" ", name).strip()


def clean_url(url: str) -> str:
    """A source URL as MediaWiki would link it: no whitespace, quotes or angle brackets,
    no empty trailing fragment."""
    url = html.unescape(url.strip())
    url = re.split(r"[\s\"<>]", url, maxsplit=1)[0]
    if url.endswith("#"):
        url = url[:-1]
    if url.startswith("//"):
        url = "https:" + url
    return url


def host_of(url: str) -> str:
    """The host of a URL without `www.`, used as the outlet name when none is written."""
    host = urlsplit(url).hostname or ""
    return host[4:] if host.startswith("www.") else host


def only_links(rendered: Rendered) -> bool:
    """True when a bullet holds nothing but links and separators: a story heading."""
    text = rendered.text()
    if not text:
        return True
    rest = text
    for link in sorted(rendered.links, key=lambda link: -len(link.label)):
        rest = rest.replace(link.label, " ", 1)
    rest = re.sub(r"\b(?:and|or|&)\b", " ", rest)
    return not re.sub(r"[\s,;:/&–—\-]+", "", rest)
