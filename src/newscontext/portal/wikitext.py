"""Wikitext of a portal day page -> events.

The page is read line by line, as MediaWiki reads lists: a category heading (`;Category`,
`'''Category'''` or `== Category ==`) starts a group, bullets nest by their count of `*`,
a bullet with sub-bullets and no sources is a story heading, every other bullet is an event.
Each line's inline markup is read with mwparserfromhell. Character references are decoded as
MediaWiki decodes them (`&amp;`, never `&region=` without a semicolon); the old eras' habits
(`* [[Topic]]: sentence`, Wikinews links as sources, lines without `*`) are read as meant.
"""

from __future__ import annotations

import re
from datetime import date

import mwparserfromhell
from mwparserfromhell.nodes import (
    Argument,
    Comment,
    ExternalLink,
    Heading,
    HTMLEntity,
    Tag,
    Template,
    Text,
    Wikilink,
)
from mwparserfromhell.wikicode import Wikicode

from ..model import Event, Link, ParsedDay, ParseWarning, Story
from ..textclean import xml_safe
from .inline import (
    Rendered,
    clean_outlet,
    clean_text,
    decode_entities,
    only_links,
    split_topic,
    stray_line,
    wikinews_url,
    xml_safe_day,
)
from .titles import NON_ARTICLE_NAMESPACES, namespace_of, normalize_title

_WRAPPER = re.compile(r"\{\{\s*current[ _]events\s*\|", re.IGNORECASE)
_CONTENT_PARAM = re.compile(r"\|\s*content\s*=", re.IGNORECASE)
# Tokens that can make one logical line span several physical lines.
_TOKENS = re.compile(r"<!--|-->|\{\{|\}\}|<ref\b[^>]*?/\s*>|<ref\b[^>]*>|</ref\s*>|\n", re.I)
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
_BOLD_HEADING = re.compile(r"^'''(?!')(.+?)'''\s*:?\s*$")
_SECTION_HEADING = re.compile(r"^(=+)\s*(.+?)\s*\1\s*$")
_BULLET = re.compile(r"^([*#][*#:]*)(.*)$", re.S)
# Lines that are page furniture, not content: templates, tables, divs, magic words.
_FURNITURE = re.compile(
    r"^(?:\{\{.*\}\}|\{\||\|\}|\|.*|!.*|</?(?:div|span|center|table|tr|td|p|br)\b[^>]*>|"
    r"__[A-Z]+__|\}\}|\{\{[^{}]*)$",
    re.I | re.S,
)
_LINK_TRAIL = re.compile(r"^[a-z]+")
# Runs of apostrophes left in text are unbalanced ''italic''/'''bold''' markup, which
# MediaWiki closes at the end of the line: formatting, never shown.
_STRAY_QUOTES = re.compile(r"'{2,}")
# A line that starts a list item or a heading: an open {{ or <ref> cannot run past it.
_STRUCTURE_START = re.compile(r"[*#;]|'''|==")
_LONE_BRACE = re.compile(r"(?<!\})\}(?!\})")
# Bracketed external links (the sources) at the end of a line, with what separates them.
_TRAILING_SOURCES = re.compile(r"(?:[\s(),;]*\[(?:https?:)?//[^\]\n]*\])+[\s().,;]*$", re.I)

# Templates that add nothing to the sentence (maintenance tags, flags, icons, layout).
_DROP_NAMES = frozenset(
    {
        "dead link", "deadlink", "permanent dead link", "cbignore", "citation needed", "cn",
        "fact", "update after", "better source", "verify source", "failed verification",
        "clarify", "when", "who", "which", "by whom", "vague", "dubious", "disputed inline",
        "full citation needed", "unreliable source?", "as of", "flagicon", "flagdeco",
        "use dmy dates", "use mdy dates", "efn", "refn", "sfn", "reflist", "webarchive",
        "wayback", "clear", "anchor", "main", "see also", "further", "-",
    }
)
# Templates whose last positional argument is the visible text.
_WRAP_LAST = frozenset(
    {"nowrap", "nobr", "small", "smaller", "big", "larger", "noitalic", "lang", "transl",
     "transliteration", "abbr", "tooltip", "keypress", "sic", "vanchor", "em", "strong",
     "nobold", "script", "resize", "font", "color", "colour", "nowrap begin"}
)
_WRAP_FIRST = frozenset({"abbr", "tooltip", "sic", "vanchor"})
_SYMBOLS = {
    "'": "'", "' \"": "'\"", "\" '": "\"'", "'s": "'s", "snd": " – ", "spaced ndash": " – ",
    "spnd": " – ", "sndash": " – ", "ndash": "–", "mdash": "—", "spaced mdash": " — ",
    "nbsp": " ", "thinsp": " ", "=": "=", "!": "|", "•": " • ", "dot": " · ", "·": " · ",
    "circa": "c. ", "c.": "c. ", "nbhyph": "-", "en dash": "–", "em dash": "—",
}
_CURRENCIES = {
    "us$": "US$", "usd": "US$", "$": "$", "£": "£", "gbp": "£", "€": "€", "eur": "€",
    "¥": "¥", "jpy": "¥", "inr": "₹", "₹": "₹", "a$": "A$", "aud": "A$", "ca$": "CA$",
    "cad": "CA$", "nz$": "NZ$", "r$": "R$", "hk$": "HK$", "rmb": "RMB ", "cny": "CN¥",
}
# {{currency|amount|code}}: the codes above are shown by their sign ("£1,000", as the
# template's documentation shows it), a few of its non-ISO aliases too; any other code
# follows the amount ("65 RUB"), as {{convert}} reads "5 km".
_CURRENCY_ALIASES = {
    "us": "usd", "u.s.": "usd", "usa": "usd", "united states": "usd", "uk": "gbp",
    "pound": "gbp", "pound sterling": "gbp", "sterling": "gbp", "euro": "eur", "eu": "eur",
}
_AMOUNT = re.compile(r"(-?)(\d[\d,]*)(\.\d+)?(.*)", re.S)
# Lines that may be category headings: checked once per page, to know a flat list.
_HEADING_LINE = re.compile(r"^[ \t]*(?:;|'{3}|=)[^\n]*", re.M)
_WIKINEWS = frozenset({"n", "wikinews"})
_CONVERT_RANGE = {"-", "–", "to", "and", "or", "by", "x", "×", "to(-)", "+/-", "±"}
_CITE_OUTLET_KEYS = ("work", "website", "newspaper", "publisher", "agency", "magazine",
                     "journal", "periodical", "via", "title")
_SHIP_PREFIXES = frozenset(
    {"hms", "uss", "hmas", "hmcs", "hmnzs", "ins", "rfa", "usns", "usnsc", "rms", "ss", "mv",
     "jds", "js", "fs", "sms", "hnlms", "rv", "bns", "pns", "ccgs", "usat", "hmt", "sts"}
)


def parse_wikitext(day: date, text: str) -> ParsedDay:
    """Parse one revision of a day page. Never raises on content: unreadable lines become
    warnings naming the day and line, and the rest of the page is still read."""
    parsed = ParsedDay(date=day)
    # Characters XML cannot hold go first: none can reach an event, a warning, or be taken
    # for the parser's own source marker (U+0000).
    content, first_line = _content_region(xml_safe(text))
    flat = not _has_headings(content)
    category: str | None = None
    # depth (0: a line outside any list item), line, inline wikicode
    bullets: list[tuple[int, int, Wikicode]] = []

    def flush() -> None:
        _bullets_to_events(parsed, category, bullets, flat)
        bullets.clear()

    for line_no, raw in _logical_lines(content, first_line, parsed):
        line = _COMMENT.sub("", raw).strip()
        if not line:
            continue
        bullet = _BULLET.match(line)
        if bullet:
            depth = sum(1 for ch in bullet.group(1) if ch in "*#")
            try:
                code = mwparserfromhell.parse(bullet.group(2))
            except Exception as exc:  # the tokenizer is robust; this guards the unexpected
                parsed.warnings.append(
                    ParseWarning(day, line_no, f"unreadable markup ({exc})", line)
                )
                continue
            bullets.append((depth, line_no, code))
            continue
        heading = _heading_text(line)
        if heading is not None:
            flush()
            category = heading or None
            continue
        if _FURNITURE.match(line):
            continue
        bullets.append((0, line_no, mwparserfromhell.parse(line)))  # read in its place
    flush()
    return xml_safe_day(parsed)


def _has_headings(content: str) -> bool:
    """True when the page names categories; without, it is a flat list (2002-2010)."""
    return any(_heading_text(_COMMENT.sub("", match.group(0)).strip()) is not None
               for match in _HEADING_LINE.finditer(content))


def _content_region(text: str) -> tuple[str, int]:
    """The `content=` argument of the {{Current events}} wrapper when there is one
    (with the line it starts on), else the whole page."""
    wrapper = _WRAPPER.search(text)
    if wrapper:
        param = _CONTENT_PARAM.search(text, wrapper.end())
        if param:
            body = text[param.end() :].rstrip()
            if body.endswith("}}"):
                body = body[:-2]
            return body, text.count("\n", 0, param.end()) + 1
    return text, 1


def _logical_lines(content: str, first_line: int, parsed: ParsedDay):
    """Yield (line number, text) of each logical line: a physical line, extended while a
    comment, template or <ref> that it opened is still open."""
    start = 0
    line_no = first_line
    start_line = first_line
    in_comment = False
    templates = 0
    refs = 0
    for token in _TOKENS.finditer(content):
        tok = token.group(0)
        if in_comment:
            if tok == "-->":
                in_comment = False
            elif tok == "\n":
                line_no += 1
            continue
        if tok == "\n":
            line_no += 1
            if (templates or refs) and _STRUCTURE_START.match(content, token.end()):
                # A new bullet or heading inside an open template or <ref>: the opener was a
                # typo. Close it on its own line, so that line and the rest still count.
                text = content[start : token.start()]
                parsed.warnings.append(
                    ParseWarning(parsed.date, start_line,
                                 "unclosed {{ or <ref>; closed at end of line", text)
                )
                yield start_line, _close_open(text, templates, refs)
                templates = refs = 0
                start = token.end()
                start_line = line_no
                continue
            if not templates and not refs:
                yield start_line, content[start : token.start()]
                start = token.end()
                start_line = line_no
            continue
        low = tok.lower()
        if tok == "<!--":
            in_comment = True
        elif tok == "{{":
            templates += 1
        elif tok == "}}":
            templates = max(0, templates - 1)
        elif low.startswith("</ref"):
            refs = max(0, refs - 1)
        elif low.startswith("<ref") and not low.rstrip(">").rstrip().endswith("/"):
            refs += 1
    if in_comment:
        parsed.warnings.append(
            ParseWarning(parsed.date, start_line,
                         "unclosed <!-- comment hides the rest of the page")
        )
    yield start_line, content[start:]


def _quote_run(match: re.Match[str]) -> str:
    """What MediaWiki shows of a stray run of apostrophes: 4 = one apostrophe + bold,
    more than 5 = the extra ones are text, else nothing."""
    count = len(match.group(0))
    if count == 4:
        return "'"
    return "'" * (count - 5) if count > 5 else ""


def _close_open(line: str, templates: int, refs: int) -> str:
    """Close the {{ and <ref> a line left open, so its sentence and sources still count:
    templates close before the line's trailing sources, citations at its end."""
    if templates == 1:
        # The usual typo is one brace short: `{{convert|130|mph|km/h}.` -> close it there.
        lone = _LONE_BRACE.search(line, line.rfind("{{") + 2)
        if lone:
            return line[: lone.end()] + "}" + line[lone.end() :] + "</ref>" * refs
    if templates:
        trailing = _TRAILING_SOURCES.search(line)
        at = trailing.start() if trailing else len(line)
        head = line[:at].rstrip()
        if head.lower().endswith("</ref>") and head.rfind("{{") > head.lower().rfind("<ref"):
            at = len(head) - len("</ref>")  # `<ref>{{cite web|..</ref>`: close inside the ref
        line = line[:at] + "}}" * templates + line[at:]
    return line + "</ref>" * refs


def _heading_text(line: str) -> str | None:
    """The category named by a heading line, or None if the line is not a heading."""
    if line.startswith(";"):
        return _plain(line[1:].split(":", 1)[0] if line.count(":") == 1 and "[[" not in line
                      else line[1:])
    match = _BOLD_HEADING.match(line) or None
    if match:
        return _plain(match.group(1))
    match = _SECTION_HEADING.match(line)
    if match:
        return _plain(match.group(2))
    return None


def _plain(markup: str) -> str:
    rendered = Rendered()
    _render(mwparserfromhell.parse(markup), rendered, [])
    return rendered.text()


def _bullets_to_events(parsed: ParsedDay, category: str | None, bullets, flat: bool) -> None:
    """Turn one category's bullets into events; story headings become the events' stories.
    A line outside any list item (depth 0) is read where it stands (see `stray_line`)."""
    day = parsed.date
    first = len(parsed.events)
    stack: list[tuple[int, Story | None]] = []
    # The depth of the next list item after each line (lines outside any item skipped).
    following = [0] * len(bullets)
    upcoming = 0
    for index in range(len(bullets) - 1, -1, -1):
        following[index] = upcoming
        upcoming = bullets[index][0] or upcoming
    for index, (depth, line_no, code) in enumerate(bullets):
        warnings: list[str] = []
        rendered = Rendered()
        _render(code, rendered, warnings)
        for message in warnings:
            parsed.warnings.append(ParseWarning(day, line_no, message, str(code)))
        if depth == 0:
            stray_line(parsed, first, rendered, flat=flat, line=line_no, raw=str(code))
            continue
        has_children = following[index] > depth
        while stack and stack[-1][0] >= depth:
            stack.pop()
        text = rendered.text()
        stories = tuple(story for _, story in stack if story is not None)
        if has_children and not rendered.sources:
            # A story heading (possibly of several links, or none: plain text).
            stack.append((depth, Story(text=text, links=tuple(rendered.links)) if text else None))
            continue
        if not text:
            if rendered.sources:
                parsed.warnings.append(
                    ParseWarning(day, line_no, "sources without a sentence; skipped", str(code))
                )
            continue
        if not rendered.sources and only_links(rendered):
            parsed.warnings.append(
                ParseWarning(day, line_no, "story heading without events; skipped", str(code))
            )
            continue
        topic, text, links = split_topic(text, rendered.links)
        parsed.events.append(
            Event(date=day, category=category, stories=stories + ((topic,) if topic else ()),
                  text=text, links=links, sources=rendered.sources, line=line_no)
        )
        if has_children:
            stack.append((depth, None))  # its sub-bullets are events of their own


def _render(code: Wikicode, out: Rendered, warnings: list[str], *, in_ref: bool = False) -> None:
    """Render inline wikicode into `out`: text, links and sources."""
    nodes = code.nodes
    trail_link: int | None = None  # index in out.links of a link that may take a trail
    for node in nodes:
        if isinstance(node, Text):
            value = str(node.value)
            if trail_link is not None:
                trail = _LINK_TRAIL.match(value)
                if trail:
                    link = out.links[trail_link]
                    out.links[trail_link] = Link(link.target, link.label + trail.group(0))
                    out.parts.append(trail.group(0))
                    value = value[trail.end() :]
            trail_link = None
            if not in_ref:
                out.parts.append(_STRAY_QUOTES.sub(_quote_run, decode_entities(value)))
            continue
        trail_link = None
        if isinstance(node, Wikilink):
            trail_link = _render_wikilink(node, out, warnings, in_ref)
        elif isinstance(node, ExternalLink):
            label = _plain_of(node.title, warnings) if node.title is not None else ""
            # MediaWiki decodes `&amp;` in a URL, never `&region=` (no semicolon).
            out.add_source(decode_entities(str(node.url)), label, shown=not in_ref)
        elif isinstance(node, Template):
            _render_template(node, out, warnings, in_ref)
        elif isinstance(node, Tag):
            _render_tag(node, out, warnings, in_ref)
        elif isinstance(node, HTMLEntity):
            if not in_ref:
                out.parts.append(decode_entities(str(node)))
        elif isinstance(node, Heading):
            _render(node.title, out, warnings, in_ref=in_ref)
        elif isinstance(node, (Comment, Argument)):
            continue


def _render_wikilink(node: Wikilink, out: Rendered, warnings, in_ref: bool) -> int | None:
    raw_title = str(node.title)
    if "{{" in raw_title or "<" in raw_title:
        raw_title = clean_text(mwparserfromhell.parse(raw_title).strip_code())
    target = normalize_title(raw_title)
    bare = raw_title.strip()
    if namespace_of(bare) in NON_ARTICLE_NAMESPACES and not bare.startswith(":"):
        return None  # an image or a category: shows nothing in the sentence
    prefix, _, page = bare.lstrip(":").partition(":")
    if page.strip() and prefix.strip().lower() in _WIKINEWS:
        # `[[n:Larry Craig resigns|(Wikinews)]]`: old days cited Wikinews articles.
        label = _plain_of(node.text, warnings) if node.text is not None else ""
        title = "_".join(decode_entities(page).replace("_", " ").split())
        out.add_source(wikinews_url(title), label or "Wikinews", shown=not in_ref)
        return None
    if node.text is not None:
        label = _plain_of(node.text, warnings)
    else:
        label = clean_text(decode_entities(raw_title.lstrip(":")))
    if in_ref:
        return None
    if not label:
        label = target
    out.parts.append(label)
    if target:
        out.links.append(Link(target=target, label=label))
        return len(out.links) - 1
    return None


def _plain_of(code: Wikicode, warnings: list[str]) -> str:
    inner = Rendered()
    _render(code, inner, warnings)
    return clean_text("".join(part for part in inner.parts))


def _render_tag(node: Tag, out: Rendered, warnings, in_ref: bool) -> None:
    tag = str(node.tag).strip().lower()
    if tag == "ref":
        if node.contents is not None:
            before = len(out.sources)
            _render(node.contents, out, warnings, in_ref=True)
            if len(out.sources) == before and not node.self_closing:
                label = clean_text(node.contents.strip_code())
                if label:
                    warnings.append(f"citation without a URL: {label[:80]!r}")
        return
    if tag in ("br", "hr", "wbr"):
        if not in_ref:
            out.parts.append(" ")
        return
    if tag in ("s", "del", "strike", "gallery", "references", "math", "score", "templatestyles"):
        return
    if tag == "sup" and not in_ref and node.contents is not None:
        out.parts.append("^")  # 2<sup>3</sup> reads "2^3", not "23"
    if tag in ("nowiki", "pre", "code", "tt"):
        if not in_ref and node.contents is not None:
            out.parts.append(decode_entities(str(node.contents)))
        return
    if tag in ("li", "dt", "dd") and node.wiki_markup:
        return  # a stray list marker inside a line
    if node.contents is not None:
        _render(node.contents, out, warnings, in_ref=in_ref)


def _template_name(node: Template) -> str:
    name = clean_text(node.name.strip_code() if "{{" not in str(node.name) else str(node.name))
    name = name.replace("_", " ").strip()
    if name.lower().startswith("template:"):
        name = name[len("template:") :]
    return name.strip().lower()


def _positional(node: Template) -> list[Wikicode]:
    return [param.value for param in node.params if not param.showkey]


def _named(node: Template, *keys: str) -> Wikicode | None:
    for key in keys:
        if node.has(key):
            value = node.get(key).value
            if value.strip():
                return value
    return None


def _render_template(node: Template, out: Rendered, warnings: list[str], in_ref: bool) -> None:
    name = _template_name(node)
    args = _positional(node)

    if name.startswith(("cite ", "citation", "cite")) or name in ("citation", "cite"):
        url = _named(node, "url", "archive-url", "archiveurl")
        if url is None:
            return
        outlet = _named(node, *_CITE_OUTLET_KEYS)
        label = _plain_of(outlet, warnings) if outlet is not None else ""
        out.add_source(decode_entities(str(url).strip()), label)
        return
    if in_ref:
        return
    if name in _DROP_NAMES or name.startswith(("dead link", "citation needed", "use ")):
        return
    if name in _SYMBOLS:
        out.parts.append(_SYMBOLS[name])
        return
    if name in _CURRENCIES:
        amount = _plain_of(args[0], warnings) if args else ""
        out.parts.append(_CURRENCIES[name] + amount)
        return
    if name == "currency":
        out.parts.append(_render_currency(node, args, warnings))
        return
    if name in ("convert", "cvt"):
        out.parts.append(_render_convert(args, warnings))
        return
    if name in ("ship", "sclass", "sclass-", "warship") or name in _SHIP_PREFIXES:
        _render_ship(name, args, out, warnings)
        return
    if name in ("ill", "interlanguage link", "interlanguage link multi", "illm", "ill2"):
        if args:
            shown = _plain_of(args[0], warnings)
            target = normalize_title(shown)
            label_code = _named(node, "lt")
            # The link shows the title as typed ({{ill|đức Phúc|vi}} reads "đức Phúc").
            label = _plain_of(label_code, warnings) if label_code is not None else shown
            out.parts.append(label)
            if target:
                out.links.append(Link(target=target, label=label))
        return
    if name in ("flag", "flagcountry", "flagu", "flag country"):
        if args:
            target = normalize_title(_plain_of(args[0], warnings))
            out.parts.append(target)
            out.links.append(Link(target=target, label=target))
        return
    if name in ("frac", "fraction", "sfrac"):
        values = [_plain_of(arg, warnings) for arg in args]
        if len(values) == 3:
            out.parts.append(f"{values[0]} {values[1]}/{values[2]}")
        elif len(values) == 2:
            out.parts.append(f"{values[0]}/{values[1]}")
        elif values:
            out.parts.append(f"1/{values[0]}")
        return
    if name.startswith("lang-") or name in _WRAP_LAST:
        if args:
            chosen = args[0] if name in _WRAP_FIRST or name.startswith("lang-") else args[-1]
            _render(chosen, out, warnings)
        return
    if name in ("date", "start date", "end date", "birth date", "death date"):
        out.parts.append("-".join(_plain_of(arg, warnings) for arg in args[:3]))
        return
    warnings.append(f"unknown template {{{{{name}}}}} left out")


def _render_convert(args: list[Wikicode], warnings: list[str]) -> str:
    """`{{convert|5|km|mi}}` -> "5 km"; `{{convert|5|to|7|km}}` -> "5 to 7 km"."""
    values = [_plain_of(arg, warnings) for arg in args]
    if not values:
        return ""
    words = [values[0]]
    index = 1
    while index + 1 < len(values) and values[index] in _CONVERT_RANGE:
        joiner = "–" if values[index] in ("-", "–") else f" {values[index]} "
        words[-1] += joiner + values[index + 1]
        index += 2
    unit = values[index] if index < len(values) else ""
    return f"{words[0]} {unit}".strip()


def _render_currency(node: Template, args: list[Wikicode], warnings: list[str]) -> str:
    """`{{currency|1000|GBP}}` -> "£1,000"; `{{currency|65|RUB}}` -> "65 RUB"; no code:
    US dollars, as the template does."""
    amount_code = _named(node, "amount", "Amount")
    if amount_code is None and args:
        amount_code = args[0]
    code_code = _named(node, "code", "type", "Type")
    if code_code is None and len(args) > 1 and amount_code is args[0]:
        code_code = args[1]
    amount = _plain_of(amount_code, warnings) if amount_code is not None else ""
    code = _plain_of(code_code, warnings).strip() if code_code is not None else ""
    grouped = _AMOUNT.fullmatch(amount)
    if grouped and grouped.group(2).replace(",", "").isdigit():
        sign, digits, fraction, rest = grouped.groups()
        amount = f"{sign}{int(digits.replace(',', '')):,}{fraction or ''}{rest}"
    key = _CURRENCY_ALIASES.get(code.lower(), code.lower()) if code else "usd"
    if key in _CURRENCIES:
        return _CURRENCIES[key] + amount
    return f"{amount} {code.upper()}".strip()


def _render_ship(name: str, args: list[Wikicode], out: Rendered, warnings: list[str]) -> None:
    """`{{ship|HMS|Victory}}` and `{{HMS|Victory|1765}}`: the ship's name, linked.

    Like the template, the text shows prefix, name and hull id ("USS Enterprise (CVN-65)")
    unless the display code says otherwise: 1 = name, 2 = prefix and name, 3 = name and id.
    """
    values = [_plain_of(arg, warnings) for arg in args]
    if name in _SHIP_PREFIXES:
        values = [name.upper(), *values]
    if len(values) < 2:
        if values:
            out.parts.append(values[0])
        return
    prefix, ship = values[0], values[1]
    ident = values[2] if len(values) > 2 else ""
    shown_id = ident if ident.startswith("(") else f"({ident})"
    full = f"{prefix} {ship}".strip()
    target = f"{full} {shown_id}" if ident else full
    display = values[3].strip() if len(values) > 3 else ""
    if display == "1":
        label = ship
    elif display == "2" or not ident:
        label = full
    elif display == "3":
        label = f"{ship} {shown_id}"
    else:
        label = target
    out.parts.append(label)
    out.links.append(Link(target=normalize_title(target), label=label))


__all__ = ["clean_outlet", "parse_wikitext"]
