"""Shared clean-up of a bullet's rendered text, used by both the wikitext and the HTML parser.

Both parsers render a bullet into pieces: plain text, and source markers where a cited
article stood. Doing the final clean-up in one place is what makes the two parsers agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from html.entities import html5
from urllib.parse import quote, urlsplit

from ..model import Event, Link, ParsedDay, ParseWarning, Source, Story
from ..textclean import xml_safe

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
# Two full stops where a link label ended in one: "in [[Pennsburg, Pennsylvania|Pa.]]."
_DOUBLE_STOP = re.compile(r"(?<!\.)\.\.(?!\.)")

# Character references as MediaWiki's Sanitizer reads them: a name WITH its semicolon (the
# HTML5 list, plus two right-to-left mark aliases MediaWiki accepts), or a decimal or hex
# number. `&region=` or `&sect` (legacy names without a semicolon, which browsers and
# Python's html.unescape decode) stay as typed: in URLs they are query parameters.
_RLM_ALIASES = {"\u05e8\u05dc\u05de": "\u200f", "\u0631\u0644\u0645": "\u200f"}
_CHAR_REF = re.compile(r"&(?:([A-Za-z][A-Za-z0-9]*|\u05e8\u05dc\u05de|\u0631\u0644\u0645);"
                       r"|#([0-9]{1,8});|#[xX]([0-9A-Fa-f]{1,8});)")
_NAMED = {name[:-1]: value for name, value in html5.items() if name.endswith(";")}


def _char_ref(match: re.Match[str]) -> str:
    name, decimal, hexadecimal = match.groups()
    if name is not None:
        value = _NAMED.get(name) or _RLM_ALIASES.get(name)
        return value if value is not None else match.group(0)
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    # A reference to a character XML cannot hold is shown as typed, as MediaWiki does.
    if code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD \
            or 0x10000 <= code <= 0x10FFFF:
        return chr(code)
    return match.group(0)


def decode_entities(text: str) -> str:
    """Character references decoded as MediaWiki decodes them in wikitext: `&amp;`,
    `&eacute;`, `&#233;`, `&#xE9;`; never `&reg` or `&sect` without their semicolon."""
    return _CHAR_REF.sub(_char_ref, text) if "&" in text else text


@dataclass
class Rendered:
    """What a bullet says: text pieces (with source markers), its links and its sources."""

    parts: list[str] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    source_labels: list[str] = field(default_factory=list)  # how each source was shown
    shown: list[bool] = field(default_factory=list)  # a link in the line, or a citation

    def add_source(self, url: str, label: str, *, shown: bool = False) -> None:
        """A cited article. `shown`: a link in the line itself (`[url label]`), whose label
        a reader sees where it stands; False for citations (`<ref>`, {{cite ...}})."""
        url = clean_url(url)
        if not url:
            return
        name = clean_outlet(label)
        if not name or name.lower() == "archived copy":  # a bot's placeholder title
            name = host_of(url)
        self.sources.append(Source(url=url, name=name))
        self.source_labels.append(label)
        self.shown.append(shown)
        self.parts.append(SOURCE_MARK)

    def text(self) -> str:
        raw = "".join(self.parts)
        if SOURCE_MARK in raw and any(
                shown and label.strip()[:1] not in ("", "(", "[")
                for shown, label in zip(self.shown, self.source_labels, strict=True)):
            raw = self._labels_in_sentence(raw)  # rare: most labels are "(Outlet)"
        return clean_text(raw)

    def has_text(self) -> bool:
        return bool(self.text())

    def _labels_in_sentence(self, raw: str) -> str:
        """Old days wrote links into the sentence: "[url Locus Online] carries a fake
        story", "reported [url Computer bugs had infected the Campus]. Reading ...". A link
        whose label is not bracketed, that does not follow a full stop and is followed by
        more of the sentence keeps its label in the text. It is still a source, named by its
        label when that reads as an outlet's name (a few words, capitalised: "Locus Online"),
        else by its host ("publishes [url a report] that" -> ohchr.org)."""
        marks = []
        at = raw.find(SOURCE_MARK)
        while at >= 0:
            marks.append(at)
            at = raw.find(SOURCE_MARK, at + 1)
        if len(marks) != len(self.sources):
            return raw
        for number in range(len(marks) - 1, -1, -1):
            label = _WS.sub(" ", self.source_labels[number]).strip()
            if not self.shown[number] or not label or label[0] in "([" or SOURCE_MARK in label:
                continue
            at = marks[number]
            before = raw[:at].replace(SOURCE_MARK, " ").rstrip()
            if before and _SENTENCE_END.search(before):
                continue
            after = _CONNECTORS.sub(" ", raw[at + 1 :].replace(SOURCE_MARK, " "))
            if not _LETTER.search(after):
                continue
            raw = raw[:at] + label + raw[at + 1 :]
            url = self.sources[number].url
            outlet = clean_outlet(label)
            if len(outlet.split()) > _OUTLET_WORDS or not outlet[:1].isupper():
                outlet = host_of(url)
            self.sources[number] = Source(url=url, name=outlet or host_of(url))
        return raw


_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*$")
_CONNECTORS = re.compile(r"\b(?:and|or)\b")
_LETTER = re.compile(r"[^\W\d_]")
_OUTLET_WORDS = 4  # "Reuters", "The Sydney Morning Herald"; a longer label is a title


def clean_text(raw: str) -> str:
    """Plain sentence: sources and their brackets gone, single spaces. Entities were decoded
    by the parser that rendered the pieces, once: `&amp;copy;` reads "&copy;".

    Called for every link label and sentence, so steps that cannot apply are skipped."""
    text = raw
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
    if ".." in text:
        text = _DOUBLE_STOP.sub(".", text)
    text = _WS.sub(" ", text).strip()
    if text and text[-1] in _SEPARATORS:
        # Separators left dangling where trailing sources were cut away.
        text = _TRAILING_SEPARATORS.sub("", text).strip()
    return text


def clean_outlet(label: str) -> str:
    """The outlet as written in a citation, without the brackets and quotes around it."""
    name = _WS.sub(" ", label).strip()
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
    no empty trailing fragment. Entities are the parser's business (wikitext: decoded with
    their semicolon only; HTML: by the HTML parser), so a URL is never decoded twice."""
    url = re.split(r"[\s\"<>]", url.strip(), maxsplit=1)[0]
    if url.endswith("#"):
        url = url[:-1]
    if url.startswith("//"):
        url = "https:" + url
    return url


_ARCHIVE_HOSTS = frozenset({"web.archive.org", "archive.org", "wayback.archive.org"})
_ARCHIVED = re.compile(r"^/web/[^/]*/(.+)$")


def host_of(url: str) -> str:
    """The host of a URL without `www.`, used as the outlet name when none is written; for a
    Wayback Machine copy, the host of the page it archived."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host in _ARCHIVE_HOSTS:
        archived = _ARCHIVED.match(parts.path)
        if archived:
            inner = archived.group(1)
            inner = inner if "://" in inner else "http://" + inner
            host = urlsplit(inner).hostname or host
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


# --- what old days wrote differently --------------------------------------------------------

_TOPIC_END = re.compile(r"\s*:\s+(?=\S)")
_TOPIC_JOIN = re.compile(r"\s*(?:,|;|/|&|–|—|\band\b)\s*|\s+")


def split_topic(text: str, links: list[Link]) -> tuple[Story | None, str, list[Link]]:
    """`[[Elections in Egypt]]: Egyptians vote...`, the topic lines of 2002-2010: the links
    before the colon are the event's story, the words after it are its sentence.
    Returns (the story or None, the sentence, the sentence's links)."""
    if not links or ":" not in text:
        return None, text, links
    at = 0
    for used, link in enumerate(links, start=1):
        if used > 1:
            join = _TOPIC_JOIN.match(text, at)
            if join is None:
                break
            at = join.end()
        if not link.label or not text.startswith(link.label, at):
            break
        at += len(link.label)
        end = _TOPIC_END.match(text, at)
        if end is not None:
            story = Story(text=text[:at].strip(), links=tuple(links[:used]))
            return story, text[end.end() :], links[used:]
    return None, text, links


def wikinews_url(title: str) -> str:
    """The address of a Wikinews article (`[[n:Title|(Wikinews)]]`) as MediaWiki links it."""
    return "https://en.wikinews.org/wiki/" + quote(title.replace(" ", "_"), safe=";@$!*(),/~:")


_URL_WORD = re.compile(r"[a-z]{4,}")
_ATTACH_LOOKBACK = 3  # a source line stranded by an edit lands at most this far below
_ATTACH_MIN_WORDS = 3  # words of its URLs a sentence must hold to take a stranded source


def stray_line(parsed: ParsedDay, first: int, rendered: Rendered, *, flat: bool,
               line: int, raw: str) -> None:
    """A line outside any list item. In the flat lists of 2002-2010 (`flat`: a page without
    category headings) it is an item whose `*` was forgotten: read as an event, with a
    warning. A line of sources only
    was cut from its sentence by an edit (`*Sentence.` / `*Inserted.` / `[url (Sky News)]`):
    it goes to the event among the last few (from index `first` on) whose words its URLs
    share, else to the event just above when that one cites nothing. Anything else is
    skipped with a warning."""
    day = parsed.date
    text = rendered.text()
    if text and flat and (rendered.sources or not only_links(rendered)):
        topic, sentence, links = split_topic(text, rendered.links)
        parsed.events.append(Event(date=day, category=None, stories=(topic,) if topic else (),
                                   text=sentence, links=links, sources=rendered.sources,
                                   line=line))
        parsed.warnings.append(
            ParseWarning(day, line, "line without a bullet; read as an event", raw)
        )
        return
    if not text and rendered.sources:
        candidates = parsed.events[max(first, len(parsed.events) - _ATTACH_LOOKBACK) :]
        home = _sources_home(candidates, rendered.sources)
        if home is not None:
            home.sources.extend(rendered.sources)
            return
    if text or rendered.sources:
        parsed.warnings.append(
            ParseWarning(day, line, "text outside any bullet or heading; skipped", raw)
        )


def _sources_home(candidates: list[Event], sources: list[Source]) -> Event | None:
    url_words = {word for source in sources for word in _URL_WORD.findall(source.url.lower())}
    best, best_shared = None, _ATTACH_MIN_WORDS - 1
    for event in reversed(candidates):  # nearest first: it wins ties
        shared = len(url_words & set(_URL_WORD.findall(event.text.lower())))
        if shared > best_shared:
            best, best_shared = event, shared
    if best is None and candidates and not candidates[-1].sources:
        best = candidates[-1]
    return best


# --- text every output format can hold ------------------------------------------------------


def xml_safe_day(parsed: ParsedDay) -> ParsedDay:
    """Every string of the day's events and warnings without the characters XML 1.0 forbids
    (one check per event; rebuilt only when one is found): nothing a day page holds may stop
    a feed or an XML page later."""
    for event in parsed.events:
        strings = [event.text, event.category or ""]
        strings += [part for link in event.links for part in (link.target, link.label)]
        strings += [part for source in event.sources for part in (source.url, source.name)]
        for story in event.stories:
            strings.append(story.text)
            strings += [part for link in story.links for part in (link.target, link.label)]
        joined = "\n".join(strings)
        if xml_safe(joined) == joined:
            continue
        event.text = _safe(event.text)
        event.category = _safe(event.category) if event.category is not None else None
        event.links = [_safe_link(link) for link in event.links]
        event.sources = [Source(xml_safe(s.url), _safe(s.name)) for s in event.sources]
        event.stories = tuple(
            Story(_safe(story.text), tuple(_safe_link(link) for link in story.links))
            for story in event.stories
        )
    parsed.warnings = [
        replace(warning, message=xml_safe(warning.message), text=xml_safe(warning.text))
        for warning in parsed.warnings
    ]
    return parsed


def _safe(text: str) -> str:
    """Without the forbidden characters and the double spaces their removal leaves."""
    return _WS.sub(" ", xml_safe(text)).strip()


def _safe_link(link: Link) -> Link:
    return Link(_safe(link.target), _safe(link.label))
