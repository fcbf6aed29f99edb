"""Open Graph metadata and article text of a fetched news page.

The archive keeps two readings of every source: what the page *declares* about itself
(Open Graph and Twitter meta tags, JSON-LD) and the article as a reader sees it (title,
subtitle, author, date, body). Body text comes from trafilatura in precision mode, because
news pages carry much boilerplate next to the story; readability-lxml and JSON-LD
``articleBody`` stand in when trafilatura finds too little. Pages that hold only a teaser or
sit behind a paywall are flagged so that the archive never stores them as complete.

Nothing here touches the network; ``extract`` never raises on bad input and returns status
"empty" instead, because one broken page must not stop a crawl.
"""

from __future__ import annotations

import codecs
import html as htmllib
import itertools
import json
import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit

import charset_normalizer
import lxml.etree
import lxml.html
import trafilatura
from trafilatura.xml import xmltotxt

from ..textclean import xml_safe

__all__ = ["ArticleText", "Extraction", "OpenGraph", "extract"]

log = logging.getLogger(__name__)

# Below this many words the precision pass probably missed the story, so the recall pass
# and readability-lxml get a try. News articles are rarely shorter.
FALLBACK_WORDS = 150
# ... and a fallback's text replaces the precision text only when this many times longer.
FALLBACK_GAIN = 1.5
# Shorter than this, a "news article" is a teaser (or an alert page) rather than a story.
TEASER_WORDS = 50
# Text this short next to a subscription prompt or paywall markup is what a paywall lets through.
PAYWALL_WORDS = 150
# Share of the length the page announces (JSON-LD wordCount / articleBody) below which the
# text we found is only part of the article.
PARTIAL_RATIO = 0.5
# A description sharing this much of its vocabulary with the first paragraph restates the
# lede (BBC, Fox News do this) and is not a subtitle.
LEDE_OVERLAP = 0.7
# How many elements after the <h1> a dek may sit; further down, dek-styled text belongs to
# teasers of other stories.
DEK_REACH = 40

_STATUS_COMPLETE, _STATUS_TEASER, _STATUS_PAYWALLED, _STATUS_EMPTY = (
    "complete",
    "teaser",
    "paywalled",
    "empty",
)


@dataclass(slots=True)
class OpenGraph:
    """What the page declares about itself: Open Graph, Twitter cards, JSON-LD."""

    title: str | None = None
    description: str | None = None
    image: str | None = None
    site_name: str | None = None
    published: str | None = None
    # The picture described for those who cannot see it (og:image:alt, twitter:image:alt):
    # the cover picture's alt text on the site.
    image_alt: str | None = None


@dataclass(slots=True)
class ArticleText:
    """The article as a reader sees it; ``text`` holds paragraphs separated by blank lines."""

    title: str | None = None
    subtitle: str | None = None
    author: str | None = None
    published: str | None = None
    text: str = ""


@dataclass(slots=True)
class Extraction:
    """Everything extracted from one fetched page, with how complete the text is."""

    url: str
    final_url: str
    og: OpenGraph
    article: ArticleText
    status: str  # "complete" | "teaser" | "paywalled" | "empty"

    def to_json(self) -> dict[str, Any]:
        """Plain dict in the archive's JSON shape (the store and exports rely on the keys)."""
        return {
            "url": self.url,
            "final_url": self.final_url,
            "og": asdict(self.og),
            "article": asdict(self.article),
            "status": self.status,
        }


# --------------------------------------------------------------------------- entry point


def extract(
    html: str | bytes, url: str, final_url: str | None = None, *, content_type: str | None = None
) -> Extraction:
    """Extract Open Graph metadata and the article from one page; never raises on bad input.

    ``content_type`` is the HTTP Content-Type header, whose charset counts as much as the
    page's own declaration when the bytes are not UTF-8. Every string out is XML-safe.
    """
    final = final_url or url
    empty = Extraction(url, final, OpenGraph(), ArticleText(), _STATUS_EMPTY)
    try:
        text = _decode(html, content_type)
        tree = _parse(text) if text is not None else None
        if tree is None:
            return empty
        return _xml_safe(_extract_tree(tree, url, final))
    except Exception:  # a crawl must go on whatever one page holds
        log.warning("extraction failed for %s", final, exc_info=True)
        return empty


def _xml_safe(extraction: Extraction) -> Extraction:
    """Every field the page gave, without what XML 1.0 forbids. The page's text was cleaned
    before parsing, but JSON-LD escapes (``\\u0007``, lone surrogates) and entities decode
    afterwards, and one such character would stop the feed writer."""
    for part in (extraction.og, extraction.article):
        for spec in fields(part):
            value = getattr(part, spec.name)
            if isinstance(value, str) and (safe := xml_safe(value)) != value:
                setattr(part, spec.name, safe.strip() or spec.default)
    return extraction


def _extract_tree(tree: lxml.html.HtmlElement, url: str, final: str) -> Extraction:
    base = _base_url(tree, final)
    meta = _meta_tags(tree)
    ld = _json_ld(tree)
    site_tokens = _site_tokens(meta, ld, final)

    og = OpenGraph(
        title=_first_text(meta.get("og:title"), meta.get("twitter:title"), ld.headline),
        description=_first_text(
            meta.get("og:description"),
            meta.get("twitter:description"),
            meta.get("description"),
            ld.description,
        ),
        image=_first_url(
            base,
            meta.get("og:image"),
            meta.get("og:image:url"),
            meta.get("og:image:secure_url"),
            meta.get("twitter:image"),
            meta.get("twitter:image:src"),
            ld.images,
        ),
        site_name=_first_text(meta.get("og:site_name"), ld.publisher, meta.get("application-name")),
        published=_first_date(meta.get("article:published_time"), ld.date_published),
    )
    if og.image:
        og.image_alt = _first_text(meta.get("og:image:alt"), meta.get("twitter:image:alt"))

    title = _title(tree, meta, ld, og, site_tokens)
    blocks = _body_blocks(tree, final, ld)
    subtitle, blocks = _subtitle(tree, ld, og, title, blocks)
    text = "\n\n".join(blocks)
    article = ArticleText(
        title=title,
        subtitle=subtitle,
        author=_author(tree, meta, ld, site_tokens, title),
        published=_published(tree, meta, ld, final),
        text=text,
    )
    status = _status(tree, ld, og, text)
    return Extraction(url, final, og, article, status)


# --------------------------------------------------------------------------- decoding


_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)
_HEADER_CHARSET_RE = re.compile(r"""charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)


def _decode(data: str | bytes | bytearray | None, content_type: str | None = None) -> str | None:
    """Bytes to text (see `_decode_bytes`), without what XML 1.0 forbids, raw or as a
    character reference (lxml refuses it)."""
    if data is None:
        return None
    if isinstance(data, str):
        text = data
    elif isinstance(data, bytes | bytearray):
        text = _decode_bytes(bytes(data), content_type)
    else:
        return None
    if not text or not text.strip() or _looks_binary(text):
        return None
    if "&#" in text:
        text = _CHAR_REF_RE.sub(_allowed_ref, text)
    return xml_safe(text)


_CHAR_REF_RE = re.compile(r"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));?")


def _allowed_ref(match: re.Match[str]) -> str:
    """A character reference, or nothing when it names what XML 1.0 forbids: the HTML
    parser would decode ``&#7;`` into the tree, and the fallback extractors (readability's
    lxml serialisation) fail on it."""
    digits = (match[1] or match[2]).lstrip("0")
    if len(digits) > 7:  # past U+10FFFF in either base (and too long for int())
        return ""
    point = int(digits or "0", 16 if match[1] else 10)
    return match[0] if point <= 0x10FFFF and xml_safe(chr(point)) else ""


def _decode_bytes(data: bytes, content_type: str | None = None) -> str:
    """BOM, then UTF-8 when the bytes are UTF-8, then what the server and the page declare,
    checked against the bytes.

    Declarations lie both ways. Many pages that declare a legacy charset are really UTF-8,
    and many UTF-8 pages hold a stray byte or two, so bytes that decode as UTF-8 win. Bytes
    that do not are not UTF-8 whatever is declared (a cp1251 page whose template says
    ``utf-8``), so such a declaration is dropped. A single-byte charset decodes any bytes,
    so what it gives is read (`_code_page`): the declared one wins unless another makes
    words of the page where it makes garbage.
    """
    for bom, codec in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    text = data.decode("utf-8", errors="replace")
    if _is_utf8(text):
        return text
    header = _HEADER_CHARSET_RE.search(content_type or "")
    meta = _CHARSET_RE.search(data[:4096])
    declared = [
        codec
        for codec in dict.fromkeys(
            (_codec(header.group(1)) if header else None, _codec(meta.group(1)) if meta else None)
        )
        if codec and not codec.startswith("utf")
    ]
    for codec in declared:
        if not _SINGLE_BYTE_RE.match(codec):  # Shift JIS, GBK...: decoding is the test
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                continue
    single = [codec for codec in declared if _SINGLE_BYTE_RE.match(codec)]
    best = charset_normalizer.from_bytes(data[:200_000]).best()
    detected = _codec(best.encoding) if best is not None else None
    if detected and not _SINGLE_BYTE_RE.match(detected):
        if not single:
            return data.decode(detected, errors="replace")
        detected = None
    preferred = [*single, "cp1252", *([detected] if detected else [])]
    return data.decode(_code_page(data, preferred), errors="replace")


def _is_utf8(text: str) -> bool:
    """Whether a UTF-8 decoding (errors replaced) is the page: no more than a few stray
    bytes, and fewer than the characters that did decode. A legacy page declaring UTF-8
    decodes to little else than replacement characters; one stray byte in a long UTF-8
    page is noise."""
    bad = text.count("\ufffd")
    if bad <= 2:
        return True
    if bad > len(text) // 5000:
        return False
    good = len(text) - len(text.encode("ascii", "ignore")) - bad  # non-ASCII, decoded
    return good > bad


def _codec(name: str | bytes) -> str | None:
    """Python's codec for a declared charset; Latin-1 and ASCII read as windows-1252, as
    browsers do (WHATWG encoding standard)."""
    if isinstance(name, bytes):
        name = name.decode("ascii", "ignore")
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    return "cp1252" if codec in ("latin-1", "iso8859-1", "ascii") else codec


# Code pages with one byte a character: they decode any bytes, so only reading tells.
_SINGLE_BYTE_RE = re.compile(
    r"^(?:cp(?:8\d\d|12\d\d|1006|1125)|iso8859_\d+|latin_\d|mac_\w+|koi8_\w|tis_620|ptcp154"
    r"|kz1048|hp_roman8)$"
)
# The legacy Windows code pages of the web, Western first: what a page is read in besides
# its declared charset and the detector's guess.
_CODE_PAGES = ("cp1252", "cp1251", "cp1250", "cp1253", "cp1254", "cp1257", "cp1255", "cp1256")
_HIGH_WORDS_RE = re.compile(rb"[A-Za-z]*[\x80-\xff][A-Za-z\x80-\xff]*")
_LETTERS_RE = re.compile(r"[^\W\d_]+")


def _code_page(data: bytes, preferred: list[str]) -> str:
    """The single-byte code page in which the page's non-ASCII words read as words.

    The wrong one shows: Cyrillic read as windows-1252 makes words of accented Latin letters
    only ("Ïàâîäîê"), French read as windows-1251 puts Cyrillic letters inside Latin words
    ("dйputй"). A detector needs much text to tell; a headline is enough here. Ties go to
    the first of `preferred` (the declared charsets, windows-1252, the detector's guess).
    """
    words = b" ".join(m[0] for m in itertools.islice(_HIGH_WORDS_RE.finditer(data), 5000))
    if not words:
        return preferred[0]
    scores = {}
    for codec in dict.fromkeys([*preferred, *_CODE_PAGES]):
        try:
            scores[codec] = _garbled(words.decode(codec, errors="replace"))
        except LookupError:
            continue
    fewest = min(scores.values())
    # a clear difference only: one odd word does not overrule a declaration
    return next(c for c, bad in scores.items() if bad <= fewest + max(1, fewest // 4))


def _garbled(text: str) -> int:
    """How many words of `text` no language writes: accented Latin letters only (three or
    more), Latin letters next to another script's, or undecodable bytes."""
    bad = text.count("\ufffd")
    for word in _LETTERS_RE.findall(text):
        if word.isascii():
            continue
        scripts = {_script(ch) for ch in word if not ch.isascii()}
        has_ascii = any(ch.isascii() for ch in word)
        if len(scripts) > 1:
            bad += 1  # Greek and Cyrillic, Latin and Hebrew...
        elif scripts != {"LATIN"}:
            bad += has_ascii  # "dйputй"
        else:
            bad += len(word) >= 3 and not has_ascii  # "Ïàâîäîê"
    return bad


def _script(ch: str) -> str:
    """The script of a non-ASCII letter: the first word of its Unicode name, and Latin for
    all of Latin-1 and Latin Extended (whose ª, º and µ are named otherwise)."""
    return "LATIN" if ch <= "\u024f" else unicodedata.name(ch, "?").split(" ", 1)[0]


def _looks_binary(text: str) -> bool:
    """Images, PDFs and random bytes decode to many control characters; real HTML has few."""
    sample = text[:8192]
    controls = sum(1 for ch in sample if ch < " " and ch not in "\t\n\r\f")
    replaced = sample.count("\ufffd")
    return controls + replaced > max(8, len(sample) // 50)


def _parse(text: str) -> lxml.html.HtmlElement | None:
    text = _XML_DECL_RE.sub("", text, count=1)
    if "<" not in text[:65536]:
        return None  # plain text or junk, not a web page
    parser = lxml.html.HTMLParser(
        collect_ids=False, default_doctype=False, remove_comments=True, remove_pis=True
    )
    try:
        tree = lxml.html.document_fromstring(text, parser=parser)
    except (lxml.etree.ParserError, ValueError):
        return None
    return tree if tree is not None and len(tree) else None


# --------------------------------------------------------------------------- small helpers


_WS_RE = re.compile(r"\s+")
_ZERO_WIDTH_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")


def _clean(value: Any) -> str | None:
    """Decode entities (also double-encoded ones such as ``&amp;#39;``), collapse whitespace,
    drop what XML 1.0 forbids (JSON-LD strings may hold it)."""
    if not isinstance(value, str):
        return None
    text = value
    for _ in range(3):  # "&amp;amp;#39;" needs three rounds
        if "&" not in text:
            break
        decoded = htmllib.unescape(text)
        if decoded == text:
            break
        text = decoded
    text = _ZERO_WIDTH_RE.sub("", xml_safe(text))
    text = _WS_RE.sub(" ", text).strip()
    return text or None


def _values(*sources: Any) -> Iterator[Any]:
    """Flatten candidates: None is skipped, lists/tuples are expanded in order."""
    for source in sources:
        if source is None:
            continue
        if isinstance(source, list | tuple):
            yield from _values(*source)
        else:
            yield source


def _first_text(*sources: Any) -> str | None:
    for value in _values(*sources):
        text = _clean(value)
        if text:
            return text
    return None


def _absolute(base: str, value: Any) -> str | None:
    url = _clean(value) if isinstance(value, str) else None
    if not url:
        return None
    url = url.replace(" ", "%20")
    if url.startswith("data:"):
        return None
    try:
        absolute = urljoin(base, url)
    except ValueError:
        return None
    return absolute if urlsplit(absolute).scheme in ("http", "https") else None


def _first_url(base: str, *sources: Any) -> str | None:
    for value in _values(*sources):
        url = _absolute(base, value)
        if url:
            return url
    return None


def _norm(text: str | None) -> str:
    """Comparison key: lowercase letters and digits only."""
    return re.sub(r"[\W_]+", "", (text or "").casefold())


# Chinese, Japanese and Thai write words without spaces; about two characters make a word.
_UNSPACED_RE = re.compile("[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _words(text: str | None) -> int:
    """Length in words, also for scripts that do not separate words with spaces."""
    if not text:
        return 0
    return len(text.split()) + len(_UNSPACED_RE.findall(text)) // 2


def _base_url(tree: lxml.html.HtmlElement, final: str) -> str:
    """Relative URLs resolve against <base href> when the page has one, as browsers do."""
    for href in tree.xpath("//head/base/@href")[:1]:
        resolved = _absolute(final, str(href))
        if resolved:
            return resolved
    return final


_INVISIBLE = frozenset({"script", "style", "noscript", "template", "head", "title"})


def _text_of(element: lxml.html.HtmlElement, skip: frozenset[str] = _INVISIBLE) -> str:
    """Visible text of an element, leaving out subtrees whose tag is in ``skip``.

    Iterative on purpose: pages nest deep enough to exhaust Python's recursion limit.
    """
    parts: list[str] = []
    hidden: set[lxml.html.HtmlElement] = set()
    for node in element.iter():
        if node is element:
            if node.text:
                parts.append(node.text)
            continue
        inside_hidden = node.getparent() in hidden
        if inside_hidden or not isinstance(node.tag, str) or node.tag in skip:
            hidden.add(node)
        elif node.text:
            parts.append(node.text)
        if node.tail and not inside_hidden:
            parts.append(node.tail)
    return _WS_RE.sub(" ", " ".join(parts)).strip()


# --------------------------------------------------------------------------- meta tags


def _meta_tags(tree: lxml.html.HtmlElement) -> dict[str, list[str]]:
    """All <meta> values by lowercased key; ``property=``, ``name=`` and ``itemprop=`` alike."""
    found: dict[str, list[str]] = {}
    for element in tree.iter("meta"):
        content = element.get("content")
        if content is None:
            content = element.get("value")
        if content is None or not content.strip():
            continue
        for attr in ("property", "name", "itemprop"):
            key = (element.get(attr) or "").strip().lower()
            if not key:
                continue
            if key.startswith("og:article:"):  # BBC and others prefix article: with og:
                key = key[3:]
            found.setdefault(key, []).append(content)
    return found


# --------------------------------------------------------------------------- JSON-LD

_ARTICLE_TYPES = {
    "article",
    "newsarticle",
    "reportagenewsarticle",
    "analysisnewsarticle",
    "opinionnewsarticle",
    "backgroundnewsarticle",
    "reviewnewsarticle",
    "askpublicnewsarticle",
    "blogposting",
    "liveblogposting",
    "socialmediaposting",
    "report",
}


@dataclass(slots=True)
class _LinkedData:
    """The fields we use from the page's JSON-LD article object (and its graph)."""

    headline: str | None = None
    alternative_headline: str | None = None
    description: str | None = None
    images: list[str] | None = None
    authors: list[str] | None = None
    creators: list[str] | None = None
    date_published: str | None = None
    publisher: str | None = None
    article_body: str | None = None
    word_count: int | None = None
    free: bool | None = None  # isAccessibleForFree; None when not said


def _json_ld(tree: lxml.html.HtmlElement) -> _LinkedData:
    nodes: list[dict[str, Any]] = []
    for script in tree.xpath('//script[contains(translate(@type,"LDJSON","ldjson"),"ld+json")]'):
        nodes.extend(_json_nodes(_load_json(script.text or "")))
    by_id = {n["@id"]: n for n in nodes if isinstance(n.get("@id"), str) and len(n) > 1}
    articles = [n for n in nodes if _types(n) & _ARTICLE_TYPES]
    articles.sort(key=lambda n: (not n.get("headline"), not n.get("articleBody")))
    result = _LinkedData()
    if articles:
        art = articles[0]
        result.headline = _first_text(art.get("headline"), art.get("name"))
        result.alternative_headline = _first_text(art.get("alternativeHeadline"))
        result.description = _first_text(art.get("description"))
        result.images = _ld_images(art.get("image"), by_id) or _ld_images(
            art.get("thumbnailUrl"), by_id
        )
        result.authors = _ld_names(art.get("author"), by_id)
        result.creators = _ld_names(art.get("creator"), by_id)
        result.date_published = _first_text(art.get("datePublished"), art.get("dateCreated"))
        publisher = _ld_names(art.get("publisher"), by_id)
        result.publisher = publisher[0] if publisher else None
        body = art.get("articleBody")
        result.article_body = body if isinstance(body, str) and body.strip() else None
        result.word_count = _int(art.get("wordCount"))
        result.free = _ld_free(art)
    if result.publisher is None:
        sites = [n for n in nodes if _types(n) & {"website", "newsmediaorganization"}]
        result.publisher = _first_text(*(n.get("name") for n in sites))
    if result.free is None:
        # some pages put isAccessibleForFree on the WebPage that wraps the article
        flags = [_ld_free(n) for n in nodes]
        result.free = False if False in flags else None
    return result


def _load_json(raw: str) -> Any:
    """Parse a JSON-LD script, tolerating comments, CDATA, trailing junk and raw newlines."""
    text = raw.strip()
    text = re.sub(r"^\s*(?://\s*)?<!\[CDATA\[|(?://\s*)?\]\]>\s*$", "", text).strip()
    text = re.sub(r"^<!--|-->$", "", text).strip()
    decoder = json.JSONDecoder(strict=False)
    for candidate in (text, htmllib.unescape(text)):
        items: list[Any] = []
        pos = 0
        while pos < len(candidate):
            while pos < len(candidate) and candidate[pos] in " \t\r\n;,":
                pos += 1
            if pos >= len(candidate):
                break
            try:
                value, pos = decoder.raw_decode(candidate, pos)
            except json.JSONDecodeError:
                break
            items.append(value)
        if items:
            return items
    return []


def _json_nodes(value: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Every object in a JSON-LD document, depth first (covers @graph, lists and nesting)."""
    if depth > 12:
        return
    if isinstance(value, list):
        for item in value:
            yield from _json_nodes(item, depth + 1)
    elif isinstance(value, dict):
        yield value
        for item in value.values():
            if isinstance(item, dict | list):
                yield from _json_nodes(item, depth + 1)


def _types(node: dict[str, Any]) -> set[str]:
    raw = node.get("@type")
    names = raw if isinstance(raw, list) else [raw]
    return {re.split(r"[/:#]", n)[-1].lower() for n in names if isinstance(n, str)}


def _resolve(value: Any, by_id: dict[str, dict[str, Any]]) -> Any:
    if isinstance(value, dict) and set(value) <= {"@id", "@type"} and value.get("@id") in by_id:
        return by_id[value["@id"]]
    return value


def _ld_names(value: Any, by_id: dict[str, dict[str, Any]]) -> list[str]:
    names: list[str] = []
    if isinstance(value, dict) and "@list" in value:
        value = value["@list"]
    for item in _values(value):
        item = _resolve(item, by_id)
        name = _first_text(item.get("name")) if isinstance(item, dict) else _clean(item)
        if name and name not in names:
            names.append(name)
    return names


def _ld_images(value: Any, by_id: dict[str, dict[str, Any]]) -> list[str]:
    images: list[str] = []
    if isinstance(value, dict) and "@list" in value:
        value = value["@list"]
    for item in _values(value):
        item = _resolve(item, by_id)
        if isinstance(item, dict):
            item = item.get("url") or item.get("contentUrl") or item.get("@id")
        if isinstance(item, str) and item.strip():
            images.append(item)
    return images


def _ld_free(node: dict[str, Any]) -> bool | None:
    flags = [node.get("isAccessibleForFree")]
    for part in _values(node.get("hasPart")):
        if isinstance(part, dict):
            flags.append(part.get("isAccessibleForFree"))
    for flag in flags:
        if flag is False or (isinstance(flag, str) and flag.strip().lower() == "false"):
            return False
    for flag in flags:
        if flag is True or (isinstance(flag, str) and flag.strip().lower() == "true"):
            return True
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip()) or None
    return None


# --------------------------------------------------------------------------- title


_TITLE_SEPARATORS = re.compile(r"\s+(?:[|\-–—:»·•]|::)\s+")


_HOST_NOISE = {"www", "com", "org", "net", "co", "news", "edition", "amp", "m", "mobile"}


def _site_tokens(meta: dict[str, list[str]], ld: _LinkedData, final: str) -> set[str]:
    """Normalised names of the site, to recognise "Title | Site" and "Jane Doe, CNN"."""
    names = [
        *meta.get("og:site_name", []),
        *meta.get("application-name", []),
        *meta.get("dc.publisher", []),
        *meta.get("twitter:site", []),
        *meta.get("article:publisher", []),
        ld.publisher,
    ]
    tokens = {_norm(n.lstrip("@")) for n in names if n and not n.startswith("http")}
    host = (urlsplit(final).hostname or "").removeprefix("www.")
    if host:
        tokens.add(_norm(host))
        tokens.add(_norm(host.rsplit(".", 1)[0]))
        tokens.update(label for label in host.split(".")[:-1] if label not in _HOST_NOISE)
    tokens.discard("")
    return tokens


def _is_site(text: str, site_tokens: set[str]) -> bool:
    key = _norm(text)
    if not key:
        return False
    return any(
        key == t or key == "the" + t or t == "the" + key or (len(t) > 3 and key.startswith(t))
        for t in site_tokens
    )


def _strip_site(title: str, site_tokens: set[str], others: list[str]) -> str:
    """Drop a " | Site" suffix (or "Site | " prefix) when the part dropped names the site."""
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) < 2:
        return title
    other_keys = {_norm(o) for o in others if o}
    # another candidate (h1, headline) equal to a leading part settles it
    for keep in range(len(parts) - 1, 0, -1):
        head = _join_head(title, keep)
        if _norm(head) in other_keys:
            return head
    for keep in range(1, len(parts)):
        if all(_is_site(tail, site_tokens) for tail in parts[keep:]):
            return _join_head(title, keep)
    if _is_site(parts[0], site_tokens):
        return _TITLE_SEPARATORS.split(title, maxsplit=1)[1].strip()
    return title


def _join_head(title: str, keep: int) -> str:
    """The first ``keep`` separator-delimited parts of ``title``, with their separators."""
    matches = list(_TITLE_SEPARATORS.finditer(title))
    return title[: matches[keep - 1].start()].strip()


def _title(
    tree: lxml.html.HtmlElement,
    meta: dict[str, list[str]],
    ld: _LinkedData,
    og: OpenGraph,
    site_tokens: set[str],
) -> str | None:
    h1 = None
    for element in tree.xpath("//article//h1") + tree.xpath("//h1"):
        h1 = _clean(_text_of(element))
        if h1:
            break
    page_title = _first_text(*(_text_of(t) for t in tree.xpath("//head/title | //title")[:1]))
    candidates = [og.title, ld.headline, h1, page_title, _first_text(meta.get("dc.title"))]
    candidates = [c for c in candidates if c]
    if not candidates:
        return None
    chosen = candidates[0]
    others = [c for c in candidates if c != chosen]
    return _strip_site(chosen, site_tokens, others) or chosen


# --------------------------------------------------------------------------- author

_AUTHOR_META = (
    "author",
    "dc.creator",
    "dcterms.creator",
    "parsely-author",
    "sailthru.author",
    "article_author",
    "article.author",
    "byl",
    "cxenseparse:author",
    "citation_author",
)
_BYLINE_XPATHS = (
    '//*[contains(concat(" ", normalize-space(@itemprop), " "), " author ")]',
    '//a[contains(concat(" ", normalize-space(@rel), " "), " author ")]',
    '//*[contains(@class, "byline") or contains(@id, "byline") or contains(@class, "Byline")]',
    '//*[contains(@class, "author-name") or contains(@class, "authorName")'
    ' or contains(@class, "author_name") or contains(@class, "article-author")]',
)
_BY_PREFIX_RE = re.compile(
    r"^(?:(?:written|posted|reported|story|words)\s+)?(?:by|par|von|por|door|di|av|af)\b[:\s]*",
    re.I,
)
_AUTHOR_SPLIT_RE = re.compile(r"\s*(?:,|;|\band\b|&|\bund\b)\s*", re.I)
_BYLINE_CUT_RE = re.compile(r"\s+(?:[|•·—–]|-|/)\s+|\s+(?:updated|published|posted)\b", re.I)


def _author(
    tree: lxml.html.HtmlElement,
    meta: dict[str, list[str]],
    ld: _LinkedData,
    site_tokens: set[str],
    title: str | None,
) -> str | None:
    """First source that names people: JSON-LD, author metas, byline markup, article:author.

    Visible bylines beat ``article:author``, which the Open Graph spec meant for profile URLs
    and which some sites fill from a template with the wrong name.
    """
    candidates: Iterator[list[str] | str | None] = (
        candidate()
        for candidate in (
            lambda: ld.authors,
            *(lambda key=key: meta.get(key) for key in _AUTHOR_META),
            lambda: _byline_markup(tree, title),
            lambda: meta.get("article:author"),
            lambda: ld.creators,
        )
    )
    for candidate in candidates:
        names = _author_names(candidate, site_tokens)
        if names:
            return ", ".join(names)
    return None


def _byline_markup(tree: lxml.html.HtmlElement, title: str | None) -> str | None:
    """The byline nearest after the headline: pages also carry bylines of other stories."""
    candidates: list[tuple[lxml.html.HtmlElement, str]] = []
    for xpath in _BYLINE_XPATHS:
        for element in tree.xpath(xpath):
            if element.tag in ("meta", "link"):
                text = element.get("content") or ""
            else:
                if element.xpath("ancestor::*[self::script or self::nav or self::aside]"):
                    continue
                names = [
                    n.get("content") or _text_of(n) for n in element.xpath('.//*[@itemprop="name"]')
                ]
                text = ", ".join(n for n in names if n and n.strip()) or _byline_text(element)
            text = _clean(text) or ""
            if 2 <= len(text) <= 150 and re.search(r"[^\W\d_]", text):
                candidates.append((element, text))
    if len(candidates) < 2:
        return candidates[0][1] if candidates else None
    headline = _headline(tree, title)
    order = _positions(tree, [element for element, _ in candidates] + [headline])
    anchor = order.get(headline, 0)
    ranked = []
    for rank, (element, text) in enumerate(candidates):
        where = order[element]
        ranked.append((where < anchor, abs(where - anchor), rank, text))
    return min(ranked)[3]


def _headline(tree: lxml.html.HtmlElement, title: str | None) -> lxml.html.HtmlElement | None:
    """The <h1> that holds the title, else the first <h1>."""
    headings = tree.xpath("//h1")
    key = _norm(title)
    for heading in headings:
        if key and _norm(_text_of(heading)) == key:
            return heading
    return headings[0] if headings else None


def _positions(tree: lxml.html.HtmlElement, elements: list[Any]) -> dict[Any, int]:
    """Document-order index of each of `elements`, in one pass over the page (asking each
    element for its count of preceding nodes is quadratic on pages with many bylines)."""
    wanted = {id(element) for element in elements if element is not None}
    return {node: i for i, node in enumerate(tree.iter()) if id(node) in wanted}


def _byline_text(element: lxml.html.HtmlElement) -> str:
    """Byline text without the dates, buttons and scripts that often share its box."""
    text = _text_of(element, _INVISIBLE | {"time", "button", "img", "svg"})
    return _BYLINE_CUT_RE.split(text, maxsplit=1)[0]


def _author_names(value: list[str] | str | None, site_tokens: set[str]) -> list[str]:
    names: list[str] = []
    for raw in _values(value):
        text = _clean(raw)
        if not text or text.startswith(("http://", "https://", "www.")) or "/" in text:
            continue
        parts = [text] if "(" in text else _AUTHOR_SPLIT_RE.split(text)
        for part in parts:
            part = _BY_PREFIX_RE.sub("", part).strip(" ,;:-|")
            if (
                not part
                or "@" in part
                or len(part) > 100
                or not re.search(r"[^\W\d_]", part)
                or part in names
            ):
                continue
            names.append(part)
    people = [n for n in names if not _is_site(n, site_tokens)]
    return people or names


# --------------------------------------------------------------------------- dates

_DATE_META = (
    "article:published_time",
    "article:published",
    "datepublished",
    "article:publicationdate",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "pub_date",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dcterms.issued",
    "dcterms.created",
    "dc.date.created",
    "article_date_original",
    "datecreated",
    "dc.date",
    "date",
    "dcsext.articlefirstpublished",
    "pdate",
)
_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        (
            "jan january janv janvier enero januar gennaio",
            "feb february fév fevrier février febrero februar febbraio",
            "mar march mars marzo märz",
            "apr april avr avril abril aprile",
            "may mai mayo maggio",
            "jun june juin junio juni giugno",
            "jul july juil juillet julio juli luglio",
            "aug august août aout agosto",
            "sep sept september septembre septiembre settembre",
            "oct october octobre octubre oktober ottobre",
            "nov november novembre noviembre",
            "dec december déc décembre diciembre dezember dicembre",
        )
    )
    for m in names.split()
}
_ISO_RE = re.compile(
    r"^(\d{4})-?(\d{2})-?(\d{2})"
    r"(?:[T\s]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?)?"
)
_NAMED_RE = re.compile(
    r"(?:(\d{1,2})(?:st|nd|rd|th)?\.?\s+([^\W\d_]{3,10})\.?,?\s+(\d{4})"
    r"|([^\W\d_]{3,10})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4}))"
    r"(?:,?\s+(?:at\s+)?(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([ap]\.?m\.?))?"
    r"(?:\s+([+-]\d{4}|[A-Z]{2,4}))?)?",
    re.I,
)
# ctime and Unix `date` style: "Fri Mar 13 21:30:09 EST 2015"
_CTIME_RE = re.compile(
    r"([^\W\d_]{3,10})\.?\s+(\d{1,2})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?"
    r"(?:\s+([+-]\d{4}|[A-Z]{2,5}))?\s+(\d{4})\b",
    re.I,
)
# Only unambiguous zone names: "EST" is UTC-5 in New York and UTC+10 in Melbourne, so other
# abbreviations leave the time without an offset rather than with a wrong one.
_TZ_NAMES = {"UTC": 0, "GMT": 0, "Z": 0}


def _iso_date(value: Any) -> str | None:
    """ISO 8601 from the date formats news pages use; None when it is not a plausible date."""
    text = _clean(value) if isinstance(value, str) else None
    if not text:
        return None
    m = _ISO_RE.match(text)
    if m:
        y, mo, d, hh, mi, ss, tz = m.groups()
        return _build_date(int(y), int(mo), int(d), hh, mi, ss, None, tz)
    m = _CTIME_RE.search(text)
    if m:
        mon, d, hh, mi, ss, tz, y = m.groups()
        month = _MONTHS.get(mon.lower())
        if month:
            return _build_date(int(y), month, int(d), hh, mi, ss, None, tz)
    m = _NAMED_RE.search(text)
    if m:
        d1, mon1, y1, mon2, d2, y2, hh, mi, ss, ampm, tz = m.groups()
        month = _MONTHS.get((mon1 or mon2 or "").lower().rstrip("."))
        if month:
            return _build_date(int(y1 or y2), month, int(d1 or d2), hh, mi, ss, ampm, tz)
    return None


def _build_date(
    y: int,
    mo: int,
    d: int,
    hh: str | None,
    mi: str | None,
    ss: str | None,
    ampm: str | None,
    tz: str | None,
) -> str | None:
    if not 1900 <= y <= 2200:
        return None
    try:
        day = date(y, mo, d)
        if hh is None:
            return day.isoformat()
        hour = int(hh)
        if ampm:
            hour = hour % 12 + (12 if ampm.lower().startswith("p") else 0)
        tzinfo = _tz(tz)
        moment = datetime(y, mo, d, hour, int(mi or 0), int(ss or 0), tzinfo=tzinfo)
    except ValueError:
        return None
    return moment.isoformat()


def _tz(tz: str | None) -> timezone | None:
    if not tz:
        return None
    tz = tz.upper()
    if tz in _TZ_NAMES:
        return timezone(timedelta(hours=_TZ_NAMES[tz]))
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", tz)
    if not m:
        return None
    sign = -1 if m.group(1) == "-" else 1
    offset = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
    if offset >= timedelta(hours=24):
        return None
    return timezone(sign * offset)


def _first_date(*sources: Any) -> str | None:
    for value in _values(*sources):
        iso = _iso_date(value)
        if iso:
            return iso
    return None


def _published(
    tree: lxml.html.HtmlElement, meta: dict[str, list[str]], ld: _LinkedData, final: str
) -> str | None:
    """Publication date: JSON-LD (what search engines check), meta tags, <time>, the URL."""
    found = _first_date(ld.date_published, *(meta.get(key) for key in _DATE_META))
    if found:
        return found
    times = tree.xpath(
        '//*[@itemprop="datePublished"]/@datetime | //*[@itemprop="datePublished"]/@content'
        " | //time[@pubdate]/@datetime | //article//time/@datetime | //time/@datetime"
    )
    found = _first_date([str(t) for t in times[:5]])
    if found:
        return found
    m = _URL_DATE_RE.search(urlsplit(final).path)
    return _build_date(int(m[1]), int(m[2]), int(m[3]), None, None, None, None, None) if m else None


_URL_DATE_RE = re.compile(r"/((?:19|20)\d{2})[/-](\d{1,2})[/-](\d{1,2})(?:/|$|[-_])")


# --------------------------------------------------------------------------- body

# Text a browser does not show inside a paragraph (hover cards, tooltips) would otherwise
# land in the middle of a sentence. Only inside paragraphs: a hidden <div> elsewhere may be
# the collapsed rest of the article behind a "read more" button, which we want.
# Written as "hidden things inside a <p>", not "//p//*[...]": libxml2 takes time quadratic in
# the page's size for the latter (2 s on a 2 MB page, evaluated once per trafilatura pass).
_PRUNE_XPATHS = [
    "//*[@hidden][ancestor::p]",
    '//*[contains(translate(@style, " ", ""), "display:none")][ancestor::p]',
    # The Hill: a politician's name opens a card with their latest headlines (hidden by CSS)
    '//*[contains(@class, "rollover-people-block")]',
]


def _body_blocks(tree: lxml.html.HtmlElement, final: str, ld: _LinkedData) -> list[str]:
    """Paragraphs of the article: trafilatura first, fallbacks when it finds too little."""
    blocks = _trafilatura_blocks(tree, final, favor_precision=True)
    if _words("\n".join(blocks)) < FALLBACK_WORDS:
        for fallback in (
            lambda: _trafilatura_blocks(tree, final, favor_recall=True),
            lambda: _readability_blocks(tree),
        ):
            candidate = fallback()
            if _clearly_longer(candidate, blocks):
                blocks = candidate
    if ld.article_body and _words(ld.article_body) > 1.3 * _words("\n".join(blocks)):
        blocks = [b for b in (_clean(p) for p in ld.article_body.split("\n")) if b]
    blocks = _dedupe(blocks)
    if not any(re.search(r"[^\W_]", b) for b in blocks):
        return []  # only punctuation (a lone "<", rules): no article here
    # a subscription prompt after the free paragraphs is the site talking, not the article
    while blocks and _words(blocks[-1]) <= 60 and _PAYWALL_TEXT_RE.search(blocks[-1]):
        blocks.pop()
    return blocks


def _clearly_longer(candidate: list[str], current: list[str]) -> bool:
    """A fallback wins only by a wide margin: on a teaser page the few extra words it finds
    are bylines and "read more" links, and taking them would make the teaser look complete."""
    have, found = _words("\n".join(current)), _words("\n".join(candidate))
    if have == 0:
        return found > 0
    return found >= FALLBACK_GAIN * have and found - have >= 30


def _trafilatura_blocks(tree: lxml.html.HtmlElement, final: str, **options: bool) -> list[str]:
    try:
        document = trafilatura.bare_extraction(
            tree,
            url=final,
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=False,
            prune_xpath=_PRUNE_XPATHS,
            **options,
        )
    except Exception:  # trafilatura is robust, but a crawl must survive its bugs too
        log.debug("trafilatura failed on %s", final, exc_info=True)
        return []
    body = getattr(document, "body", None)
    if body is None:
        return []
    blocks = []
    for child in body:
        child.tail = None
        text = xmltotxt(child, False)
        lines = [_WS_RE.sub(" ", line).strip() for line in text.splitlines()]
        block = "\n".join(line for line in lines if line)
        if block:
            blocks.append(block)
    return blocks


def _readability_blocks(tree: lxml.html.HtmlElement) -> list[str]:
    try:
        from readability import Document  # readability-lxml

        summary = Document(lxml.html.tostring(tree, encoding="unicode")).summary(html_partial=True)
        root = lxml.html.fragment_fromstring(summary, create_parent="div")
    except Exception:
        log.debug("readability failed", exc_info=True)
        return []
    blocks = []
    for element in root.iter("p", "h2", "h3", "h4", "li", "blockquote", "pre", "td"):
        if element.xpath("ancestor::p | ancestor::li | ancestor::blockquote"):
            continue
        text = _clean(_text_of(element))
        if text:
            blocks.append(text)
    return blocks


def _dedupe(blocks: list[str]) -> list[str]:
    """Drop blocks repeated verbatim (share bars and captions often repeat)."""
    seen: set[str] = set()
    kept = []
    for block in blocks:
        key = _norm(block)
        if len(key) > 30 and key in seen:
            continue
        seen.add(key)
        kept.append(block)
    return kept


# --------------------------------------------------------------------------- subtitle

_DEK_CLASS_RE = re.compile(
    r"(?:^|[\s_-])(?:dek|deck|standfirst|stand-first|sub-?headline|sub-?title|strapline"
    r"|sub-?line|article-?summary|summary-?text|lede-?text|intro-?text|subhed)(?:$|[\s_-])",
    re.I,
)


def _subtitle(
    tree: lxml.html.HtmlElement,
    ld: _LinkedData,
    og: OpenGraph,
    title: str | None,
    blocks: list[str],
) -> tuple[str | None, list[str]]:
    """The dek under the headline, and the body without it when the body repeats it.

    A description counts as a dek only when the body does not contain it: many sites reuse
    the first paragraph as their description, and that is not a subtitle.
    """
    title_key = _norm(title)
    # the body often starts with the headline and the dek; both are kept in their own fields
    while blocks and title_key and _norm(blocks[0]) == title_key:
        blocks = blocks[1:]
    body_key = _norm(" ".join(blocks))
    alternative, markup = _dek_markup(tree, title)
    for candidate, from_markup, is_alternative in (
        (ld.alternative_headline, True, True),
        (alternative, True, True),
        (markup, True, False),
        (og.description, False, False),
    ):
        text = _clean(candidate)
        key = _norm(text)
        if not text or len(key) < 15 or _restates(text, title, is_alternative):
            continue
        if blocks and _norm(blocks[0]) == key and from_markup:
            return text, blocks[1:]
        probe = _norm(re.sub(r"(?:\.\.\.|…)\s*$", "", text).rsplit(" ", 1)[0])
        if probe and probe in body_key:
            continue
        if not from_markup and any(_overlap(text, block) >= LEDE_OVERLAP for block in blocks[:2]):
            continue  # a paraphrase of the lede, not a dek
        return text, blocks
    return None, blocks


def _restates(text: str, title: str | None, alternative: bool) -> bool:
    """Another wording of the headline (SEO or print headlines), not a dek.

    A dek shares little of the headline's vocabulary; an ``alternativeHeadline`` must also be
    longer than the headline, as print headlines fill that field too.
    """
    if not title:
        return False
    if max(_overlap(text, title), _overlap(title, text)) >= LEDE_OVERLAP:
        return True
    return alternative and _words(text) <= _words(title)


def _overlap(short: str, long: str) -> float:
    """Share of the words of ``short`` that also occur in ``long``."""
    words = set(re.findall(r"[^\W_]+", short.casefold()))
    if not words:
        return 0.0
    return len(words & set(re.findall(r"[^\W_]+", long.casefold()))) / len(words)


def _dek_markup(tree: lxml.html.HtmlElement, title: str | None) -> tuple[str | None, str | None]:
    """Microdata alternativeHeadline, and a subheading under the headline.

    The subheading is an <h2> right after the <h1>, or dek-like markup close below it: dek
    classes also style the teasers of other stories further down.
    """
    alternative = None
    for element in tree.xpath('//*[@itemprop="alternativeHeadline"]'):
        alternative = _clean(element.get("content") or _text_of(element))
        if alternative:
            break
    headline = _headline(tree, title)
    if headline is None:
        return alternative, None
    following = headline.getnext()
    if following is not None and following.tag == "h2":
        text = _clean(_text_of(following))
        if text and 30 <= len(text) <= 400:
            return alternative, text
    for element in headline.xpath(f"following::*[position() <= {DEK_REACH}][@class]"):
        if element.tag in ("script", "style", "li", "a") or not _DEK_CLASS_RE.search(
            element.get("class", "")
        ):
            continue
        if element.xpath("ancestor::*[self::nav or self::aside or self::li]"):
            continue
        text = _clean(_text_of(element))
        if text and 30 <= len(text) <= 400:
            return alternative, text
    return alternative, None


# --------------------------------------------------------------------------- status

_PAYWALL_CLASS_XPATH = (
    "//*[@class or @id][contains(translate(concat(@class, ' ', @id),"
    " 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), 'paywall')"
    " or contains(@class, 'regwall') or contains(@class, 'subscriber-only')"
    " or contains(@class, 'subscribers-only') or contains(@class, 'premium-content')"
    " or contains(@class, 'locked-content') or contains(@class, 'article-locked')"
    " or contains(@class, 'meteredContent') or contains(@class, 'piano-offer')]"
)
_PAYWALL_TEXT_RE = re.compile(
    r"subscribe (?:now )?to (?:continue|keep) reading|subscribe to read|to continue reading"
    r"|continue reading (?:this|the) (?:article|story)|for subscribers only|subscribers only"
    r"|(?:only|exclusively) available to (?:paid )?subscribers|already a subscriber"
    r"|become a (?:paid )?subscriber|this (?:article|story|content) is for (?:paid )?subscribers"
    r"|you have reached (?:your|the) (?:free )?(?:article|story) limit"
    r"|unlock this (?:article|story)"
    r"|sign in to (?:continue|keep) reading|create a free account to (?:continue|read)"
    r"|réservé aux abonnés|pour lire la suite|article réservé|abonnez-vous pour"
    r"|nur für abonnenten|jetzt weiterlesen|exclusivo para suscriptores",
    re.I,
)


def _status(tree: lxml.html.HtmlElement, ld: _LinkedData, og: OpenGraph, text: str) -> str:
    """complete / teaser / paywalled / empty: how much of the article we really hold."""
    words = _words(text)
    expected = ld.word_count or 0
    if ld.article_body:
        expected = max(expected, _words(ld.article_body))
    partial = bool(expected) and words < PARTIAL_RATIO * expected
    short = words < PAYWALL_WORDS or partial
    if short and _paywall_signals(tree, ld):
        return _STATUS_PAYWALLED
    if words == 0:
        return _STATUS_EMPTY
    description = _words(og.description)
    if partial or words < TEASER_WORDS or (description and words <= description * 1.5 + 10):
        return _STATUS_TEASER
    return _STATUS_COMPLETE


def _paywall_signals(tree: lxml.html.HtmlElement, ld: _LinkedData) -> bool:
    """Whether the page says it is (partly) for subscribers: JSON-LD, markup or wording.

    Free pages carry such markup too (metered sites, "Subscribe" buttons), so callers only
    ask when the text is short.
    """
    if ld.free is False:
        return True
    if tree.xpath(f"({_PAYWALL_CLASS_XPATH})[1]"):
        return True
    body = tree.find("body")
    page_text = _text_of(body) if body is not None else ""
    return bool(_PAYWALL_TEXT_RE.search(page_text))
