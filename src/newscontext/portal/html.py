"""Rendered HTML of a portal day page (as the MediaWiki parse API returns it) -> events.

Yields the same events as `wikitext.py` for the same revision: categories are `<p><b>`
(or `<dl><dt>`, `<h2>`-`<h4>`, `div role=heading`) blocks, stories and events are nested
`<ul><li>` items, sources are `a.external` links and `<ref>` citations resolved through the
references list. The final text clean-up is shared with the wikitext parser (`inline.py`).
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlsplit

import lxml.html
from lxml import etree

from ..model import Event, Link, ParsedDay, ParseWarning, Story
from ..textclean import xml_safe
from .inline import Rendered, clean_text, only_links, split_topic, stray_line, xml_safe_day
from .titles import NON_ARTICLE_NAMESPACES, namespace_of, normalize_title, title_from_href

_SKIP_CLASSES = frozenset({"noprint", "mw-editsection", "reference", "mw-cite-backlink",
                           "error", "mw-empty-elt", "sortkey", "navbar",
                           "current-events-navbar", "webarchive"})
_SKIP_TAGS = frozenset({"style", "script", "noscript", "s", "del", "strike", "math",
                        "template", "link", "meta", "img"})
_REDLINK_SUFFIX = " (page does not exist)"
# Parts of a rendered citation that are not the outlet: dates, retrieval and archive notes.
_NOT_OUTLET = re.compile(r"\b\d{4}\b|^(?:retrieved|archived|accessed|p{1,2}\.)\b", re.I)
_HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6", "dt"})
_WIKINEWS_HOSTS = frozenset({"en.wikinews.org", "en.m.wikinews.org"})


# The address schemes MediaWiki links ($wgUrlProtocols, less the chat and news ones).
_URL_PROTOCOLS = frozenset({"http", "https", "ftp", "ftps", "sftp", "mailto", "git", "svn"})

def parse_html(day: date, markup: str) -> ParsedDay:
    """Parse a rendered day page. Malformed parts become warnings; the rest is still read."""
    parsed = ParsedDay(date=day)
    # Characters XML cannot hold go first (those written as character references are
    # removed from the events at the end): none can be taken for the source marker.
    markup = xml_safe(markup)
    if not markup.strip():
        parsed.warnings.append(ParseWarning(day, 0, "empty HTML page"))
        return parsed
    try:
        root = lxml.html.document_fromstring(markup)
    except (etree.ParserError, ValueError) as exc:
        parsed.warnings.append(ParseWarning(day, 0, f"unreadable HTML ({exc})"))
        return xml_safe_day(parsed)
    references = _references(root)
    container = _content_container(root)
    blocks = [block for block in container.iterchildren() if isinstance(block.tag, str)]
    headings = [_heading_of(block) for block in blocks]
    # Without category headings the page is a flat list (2002-2010), as in wikitext.py.
    flat = all(heading is None for heading in headings) and not any(
        block.tag == "dl" and block.find("dt") is not None for block in blocks)
    category: str | None = None
    first = 0  # the first event under the current category
    for block, heading in zip(blocks, headings, strict=True):
        if heading is not None:
            category = heading or None
            first = len(parsed.events)
            continue
        if block.tag in ("ul", "ol"):
            _walk_list(parsed, block, category, (), references)
        elif block.tag == "dl":
            for item in block.iterchildren():
                if item.tag == "dt":
                    category = clean_text(item.text_content()) or None
                    first = len(parsed.events)
        elif block.tag == "p":
            rendered = Rendered()
            _render(block, rendered, references)
            line = block.sourceline or 0
            stray_line(parsed, first, rendered, flat=flat, line=line,
                       raw=clean_text(_visible_text(block)))
    return xml_safe_day(parsed)


def _content_container(root):
    """The element whose children are the category headings and lists."""
    found = root.find_class("current-events-content")
    if found:
        return found[0]
    lists = [ul for ul in root.iter("ul") if ul.getparent() is not None
             and ul.getparent().tag not in ("li",) and "navbar" not in (ul.get("class") or "")]
    if not lists:
        return root
    # The element holding the most top-level lists holds the day's content.
    parents: dict = {}
    for ul in lists:
        parent = ul.getparent()
        parents[parent] = parents.get(parent, 0) + 1
    return max(parents, key=parents.get)


def _heading_of(block) -> str | None:
    """The category a block names, or None when the block is not a heading."""
    tag = block.tag
    if tag in _HEADING_TAGS or block.get("role") == "heading" or "content-heading" in (
        block.get("class") or ""
    ):
        return clean_text(_visible_text(block))
    if tag == "p":
        children = [child for child in block if isinstance(child.tag, str)]
        own_text = (block.text or "").strip() + "".join((c.tail or "").strip() for c in children)
        if len(children) == 1 and children[0].tag in ("b", "strong") and not own_text:
            return clean_text(_visible_text(children[0]))
    return None


def _references(root) -> dict[str, list[tuple[str, str]]]:
    """Citation id -> [(url, outlet label)] from the page's references list."""
    refs: dict[str, list[tuple[str, str]]] = {}
    for ol in root.find_class("references"):
        for item in ol.iterchildren("li"):
            ident = item.get("id")
            if not ident:
                continue
            links = []
            cited: set = set()  # <cite> elements already read: one source per citation
            for anchor in item.iter("a"):
                if "external" not in (anchor.get("class") or "") or not anchor.get("href") \
                        or not _web_link(anchor.get("href")):
                    continue
                cite = next(anchor.iterancestors("cite"), None)
                if cite is None:  # `<ref>[URL Title]</ref>`: every link a source, named as shown
                    links.append((anchor.get("href"), anchor.text_content()))
                elif cite not in cited:
                    cited.add(cite)
                    links.append(_cite_source(cite, anchor))
            refs[ident] = links
    return refs


def _cite_source(cite, first) -> tuple[str, str]:
    """(url, outlet) of a rendered {{cite ...}}, read as the wikitext parser reads the
    template: `url` (not the archive copy), outlet = work (italic), else publisher or
    agency (the plain words after the title), else the title."""
    url = first.get("href")
    for anchor in cite.iter("a"):
        if "external" in (anchor.get("class") or "") and _visible_text(anchor) == "the original":
            url = anchor.get("href")  # "Archived from the original": the title links the copy
            break
    work = next(cite.iterchildren("i"), None)
    if work is not None:
        return url, work.text_content()
    after = [first.tail or ""]
    for sibling in first.itersiblings():
        after.append(sibling.text_content() + (sibling.tail or ""))
    for part in re.split(r"\.\s+|\.$", "".join(after)):
        part = part.strip(" .")
        if part and not _NOT_OUTLET.search(part):
            return url, part
        if part:
            break
    return url, first.text_content()


def _walk_list(parsed: ParsedDay, ul, category, stories: tuple[Story, ...], references) -> None:
    for item in ul.iterchildren("li"):
        sublists = [child for child in item if child.tag in ("ul", "ol")]
        rendered = Rendered()
        _render(item, rendered, references)
        text = rendered.text()
        has_children = any(len(sub.findall("li")) for sub in sublists)
        line = item.sourceline or 0
        if has_children and not rendered.sources:
            inner = stories + ((Story(text=text, links=tuple(rendered.links)),) if text else ())
            for sub in sublists:
                _walk_list(parsed, sub, category, inner, references)
            continue
        if text and (rendered.sources or not only_links(rendered)):
            topic, text, links = split_topic(text, rendered.links)
            parsed.events.append(
                Event(date=parsed.date, category=category,
                      stories=stories + ((topic,) if topic else ()), text=text,
                      links=links, sources=rendered.sources, line=line)
            )
        elif text:
            parsed.warnings.append(
                ParseWarning(parsed.date, line, "story heading without events; skipped", text)
            )
        for sub in sublists:
            _walk_list(parsed, sub, category, stories, references)


def _skipped(element) -> bool:
    if element.tag in _SKIP_TAGS:
        return True
    classes = element.get("class")
    if classes and not _SKIP_CLASSES.isdisjoint(classes.split()):
        return True
    style = (element.get("style") or "").replace(" ", "").lower()
    return "display:none" in style


def _render(element, out: Rendered, references, *, top: bool = True) -> None:
    """Render an <li>'s own content (not its sub-lists) into `out`."""
    if not top:
        if _skipped(element):
            _cite_sources(element, out, references)
            _tail(element, out)
            return
    else:
        if element.text:
            out.parts.append(element.text)
    for child in element.iterchildren():
        if not isinstance(child.tag, str):  # comments, processing instructions
            _tail(child, out)
            continue
        if top and child.tag in ("ul", "ol"):
            continue
        _render_element(child, out, references)


def _render_element(element, out: Rendered, references) -> None:
    tag = element.tag
    if _skipped(element):
        _cite_sources(element, out, references)
        _tail(element, out)
        return
    if tag == "a":
        _render_anchor(element, out)
        _tail(element, out)
        return
    if tag == "br":
        out.parts.append(" ")
        _tail(element, out)
        return
    if tag == "sup":
        out.parts.append("^")
    if element.text:
        out.parts.append(element.text)
    for child in element.iterchildren():
        if not isinstance(child.tag, str):
            _tail(child, out)
            continue
        _render_element(child, out, references)
    _tail(element, out)


def _tail(element, out: Rendered) -> None:
    if element.tail:
        out.parts.append(element.tail)


def _cite_sources(element, out: Rendered, references) -> None:
    """A skipped `sup.reference` still cites its sources: resolve it in the references list."""
    if "reference" not in (element.get("class") or "").split():
        return
    for anchor in element.iter("a"):
        href = anchor.get("href") or ""
        if href.startswith("#") and href[1:] in references:
            for url, label in references[href[1:]]:
                out.add_source(url, label)


def _web_link(href: str) -> bool:
    """A link MediaWiki would make from wikitext: a web or FTP address (its URL protocols),
    never `javascript:` or `data:`, which a hand-made or tampered page may hold."""
    return href.startswith("//") or href.split(":", 1)[0].strip().lower() in _URL_PROTOCOLS


def _render_anchor(anchor, out: Rendered) -> None:
    href = anchor.get("href") or ""
    classes = (anchor.get("class") or "").split()
    label_text = _visible_text(anchor)
    if ":" in href.split("/", 1)[0] and not _web_link(href):
        out.parts.append(label_text)  # shown as the text it is, not a source
        return
    if "external" in classes or (href.startswith(("http://", "https://", "//"))
                                 and "/wiki/" not in href and "extiw" not in classes):
        out.add_source(href, label_text, shown=True)
        return
    if "extiw" in classes:
        if urlsplit(href).hostname in _WIKINEWS_HOSTS:  # `[[n:Title|(Wikinews)]]`: a source
            out.add_source(href, label_text or "Wikinews", shown=True)
        else:
            out.parts.append(label_text)
        return
    title = anchor.get("title")
    if title and "new" in classes and title.endswith(_REDLINK_SUFFIX):
        title = title[: -len(_REDLINK_SUFFIX)]
    if not title:
        title = title_from_href(href) or ""
    if href.startswith("#") or not title:
        out.parts.append(label_text)
        return
    if namespace_of(title) in NON_ARTICLE_NAMESPACES:
        return
    label = clean_text(label_text)
    out.parts.append(label_text)
    target = normalize_title(title)
    if target and label:
        out.links.append(Link(target=target, label=label))


def _visible_text(element) -> str:
    """Text of an element, leaving out what MediaWiki marks as not part of the content."""
    rendered = Rendered()
    _render_element_text(element, rendered)
    return "".join(rendered.parts)


def _render_element_text(element, out: Rendered) -> None:
    if element.text:
        out.parts.append(element.text)
    for child in element.iterchildren():
        if isinstance(child.tag, str) and not _skipped(child):
            if child.tag == "sup":
                out.parts.append("^")
            _render_element_text(child, out)
        if child.tail:
            out.parts.append(child.tail)
