"""Cover pictures: made small by real Pillow from real encoded pictures (hostile ones too),
fetched by the crawl of a real portal day from the local news server, kept content-addressed,
written by the build under /media/, served by the live server's function, and shown in
Chromium with their size set (no layout shift) and no broken box where there is no picture.

The fixture articles name pictures on their publishers' hosts, which no test may reach: the
same pages are served with their og:image pointed at pictures the local server serves, made
here with Pillow (the shared data holds no photographs).
"""

from __future__ import annotations

import io
import logging
import re
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from statistics import median
from typing import Any

import pytest
from lxml import html as lxml_html
from PIL import Image, ImageCms
from test_crawl import (
    BBC_COM,
    BBC_UK,
    BLOOMBERG,
    BUSINESSWEEK,
    CNN,
    FOXNEWS,
    GEO,
    GUARDIAN,
    IRIB,
    JAPANTIMES,
    JPOST,
    MSN,
    OHCHR,
    OIC,
    REUTERS,
    RTE,
    TELEGRAPH,
    YAHOO,
    local,
    path,
    write_day,
)
from test_fetch import BBC, NYT, ZYTE_GZ, NewsServer, Route, fixture_bytes, settings

from newscontext import Archive
from newscontext.site import urls
from newscontext.site.media import media_file
from newscontext.site.pages import Pages
from newscontext.sources.extract import extract
from newscontext.sources.images import COPY_WIDTH, Unreadable, small_copy

MAX_PIXELS = 50_000_000
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]


# -- pictures, made with Pillow ----------------------------------------------------------------


def photo(size: tuple[int, int] = (1600, 900), fmt: str = "JPEG", **options: Any) -> bytes:
    """A photograph-like picture: a Mandelbrot set, a gradient and grain in three channels
    (busy enough that its encoded size behaves like a photograph's)."""
    red = Image.effect_mandelbrot(size, (-2.2, -1.2, 1.0, 1.2), 48)
    green = Image.linear_gradient("L").resize(size)
    blue = Image.blend(red, Image.effect_noise(size, 40).convert("L"), 0.5)
    return encode(Image.merge("RGB", (red, green, blue)), fmt, **options)


def encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def png_bomb(side: int = 30_000) -> bytes:
    """A real PNG of `side` x `side` black pixels (1 bit each): 112 MB when decoded, about
    100 kB as a file."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    row = b"\x00" * (1 + -(-side // 8))  # filter byte, then the row's bits
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body)
            + chunk(b"IEND", b""))


def with_exif_and_profile(data: bytes, orientation: int = 1) -> bytes:
    """The JPEG again, with an EXIF block (orientation, GPS position, camera serial) and
    an ICC profile: what a phone's photo carries."""
    image = decode(data)
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0xA431] = "CAMERA-SERIAL-12345"  # BodySerialNumber
    exif.get_ifd(0x8825)[2] = (48.0, 51.0, 24.0)  # GPSLatitude
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return encode(image, "JPEG", exif=exif, icc_profile=profile, quality=90)


# -- making copies -----------------------------------------------------------------------------


def test_a_photo_becomes_a_small_webp_without_metadata():
    original = with_exif_and_profile(photo())
    assert b"CAMERA-SERIAL" in original and decode(original).info.get("icc_profile")
    copy, served = small_copy(original, MAX_PIXELS)
    assert served == (1600, 900) and (copy.width, copy.height) == (COPY_WIDTH, 360)
    image = decode(copy.content)
    assert image.format == "WEBP" and image.size == (640, 360) and image.mode == "RGB"
    assert copy.media_type == "image/webp"
    assert not {"exif", "icc_profile", "xmp"} & set(image.info)
    assert b"CAMERA-SERIAL" not in copy.content and not image.getexif()
    assert len(copy.content) < len(original) / 4
    again, _ = small_copy(original, MAX_PIXELS)
    assert again == copy  # same bytes, same name: content-addressed
    assert re.fullmatch(r"[0-9a-f]{64}", copy.sha256)


def test_small_pictures_are_not_upscaled_and_icons_are_refused():
    copy, served = small_copy(photo((300, 200), "PNG"), MAX_PIXELS)
    assert served == (300, 200) and (copy.width, copy.height) == (300, 200)
    with pytest.raises(Unreadable) as pixel:
        small_copy(encode(Image.new("RGB", (1, 1)), "GIF"), MAX_PIXELS)
    assert pixel.value.status == "too_small"


def test_exif_orientation_is_applied():
    """Stored 800 x 400 with orientation 6 (turn a quarter clockwise to view): the copy is
    400 x 800, and what was top left is top right."""
    stored = Image.new("RGB", (800, 400), "blue")
    stored.paste((255, 0, 0), (0, 0, 200, 100))  # red, top left as stored
    copy, served = small_copy(with_exif_and_profile(encode(stored, "JPEG"), 6), MAX_PIXELS)
    assert served == (400, 800) and (copy.width, copy.height) == (400, 800)
    image = decode(copy.content)
    red, _, blue = image.getpixel((399 - 20, 20))
    assert red > 200 and blue < 60
    assert image.getpixel((20, 20))[2] > 200  # top left is blue now
    assert not image.getexif()


def test_cmyk_palette_alpha_and_animation():
    cmyk = Image.new("CMYK", (400, 300), (255, 0, 0, 0))  # pure cyan ink
    copy, _ = small_copy(encode(cmyk, "JPEG"), MAX_PIXELS)
    r, g, b = decode(copy.content).convert("RGB").getpixel((200, 150))
    assert r < 60 and g > 180 and b > 180 and decode(copy.content).mode == "RGB"

    palette = Image.new("P", (200, 100), 0)
    palette.putpalette([255, 255, 255, 200, 30, 30] + [0] * 762)
    palette.paste(1, (100, 0, 200, 100))
    copy, _ = small_copy(encode(palette, "PNG", transparency=0), MAX_PIXELS)
    image = decode(copy.content)
    assert image.mode == "RGBA" and image.getpixel((10, 50))[3] == 0  # still transparent
    assert image.getpixel((150, 50))[:3] == pytest.approx((200, 30, 30), abs=12)

    frames = [Image.new("RGB", (320, 240), color) for color in ("red", "lime", "blue")]
    gif = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100,
                 loop=0)
    assert getattr(decode(gif), "n_frames", 1) == 3
    copy, _ = small_copy(gif, MAX_PIXELS)
    image = Image.open(io.BytesIO(copy.content))
    assert getattr(image, "n_frames", 1) == 1 and not getattr(image, "is_animated", False)
    r, g, b = image.convert("RGB").getpixel((160, 120))
    assert r > 200 and g < 60 and b < 60  # the first frame


def test_a_very_wide_picture_is_decoded_small_and_fast():
    wide = encode(Image.linear_gradient("L").resize((10_000, 1_500)).convert("RGB"), "JPEG")
    started = time.perf_counter()
    copy, served = small_copy(wide, MAX_PIXELS)
    assert served == (10_000, 1_500) and (copy.width, copy.height) == (640, 96)
    assert time.perf_counter() - started < 2.0
    tall = encode(Image.new("RGB", (700, 9_000), "gray"), "PNG")  # an infographic strip
    copy, _ = small_copy(tall, MAX_PIXELS)
    assert (copy.width, copy.height) == (124, 1600)  # at most 2.5 x 640 tall


def test_hostile_pictures_are_refused_with_a_reason():
    bomb = png_bomb()
    assert len(bomb) < 200_000
    started = time.perf_counter()
    with pytest.raises(Unreadable) as refused:
        small_copy(bomb, MAX_PIXELS)
    assert refused.value.status == "too_large" and "900000000 pixels" in str(refused.value)
    assert time.perf_counter() - started < 1.0  # refused from its header, never decoded
    with pytest.raises(Unreadable) as refused:  # below Pillow's own limit, above ours
        small_copy(png_bomb(7_500), MAX_PIXELS)
    assert refused.value.status == "too_large" and "7,500 x 7,500" in str(refused.value)

    good = photo((800, 600))
    with pytest.raises(Unreadable) as truncated:
        small_copy(good[: len(good) // 2], MAX_PIXELS)
    assert truncated.value.status == "unreadable"

    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script/></svg>'
    for body in (svg, b"<!doctype html><title>Not found</title>", b"", b"\xff\xd8\xff"):
        with pytest.raises(Unreadable) as odd:
            small_copy(body, MAX_PIXELS)
        assert odd.value.status in ("not_image", "unreadable"), body
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\nshowpage\n"
    with pytest.raises(Unreadable) as postscript:  # never handed to Ghostscript
        small_copy(eps, MAX_PIXELS)
    assert postscript.value.status == "not_image"


# -- the crawl ---------------------------------------------------------------------------------

PICTURES = {  # the picture each source's page names, and how the local server answers it
    "/pictures/photo.jpg": Route(body=with_exif_and_profile(photo()),
                                 content_type="image/jpeg"),
    "/pictures/cmyk.jpg": Route(body=encode(Image.new("CMYK", (1200, 800), (0, 200, 200, 0)),
                                            "JPEG"), content_type="image/jpeg"),
    "/pictures/animated.gif": Route(body=encode(
        Image.new("RGB", (800, 450), "orange"), "GIF", save_all=True,
        append_images=[Image.new("RGB", (800, 450), "navy")], duration=200, loop=0),
        content_type="image/gif"),
    "/pictures/wide.jpg": Route(body=photo((10_000, 1_500)), content_type="image/jpeg"),
    "/pictures/bomb.png": Route(body=png_bomb(), content_type="image/png"),
    "/pictures/truncated.jpg": Route(body=photo((1000, 700))[:9_000],
                                     content_type="image/jpeg"),
    "/pictures/drawing.jpg": Route(body=b'<svg xmlns="http://www.w3.org/2000/svg" '
                                   b'width="800" height="600"><rect width="800" height="600"/>'
                                   b"</svg>", content_type="image/jpeg"),
    "/pictures/page.jpg": Route(body=b"<!doctype html><title>Sign in</title>",
                                content_type="text/html"),
    "/private/secret.jpg": Route(body=photo((900, 600)), content_type="image/jpeg"),
    # /pictures/missing.jpg: not served (404)
}
SOURCES = {  # source -> (fixture page, its picture)
    RTE: (BBC, "/pictures/photo.jpg"),
    CNN: (BBC, "/pictures/photo.jpg"),  # the same page and picture: fetched once
    BBC_COM: (ZYTE_GZ, "/pictures/cmyk.jpg"),
    MSN: (FOXNEWS, "/pictures/animated.gif"),
    JAPANTIMES: (NYT, "/pictures/wide.jpg"),  # with the NYT's twitter:image:alt
    REUTERS: (TELEGRAPH, "/pictures/bomb.png"),
    GUARDIAN: (BBC, "/pictures/truncated.jpg"),
    GEO: (BBC, "/pictures/drawing.jpg"),
    BLOOMBERG: (BBC, "/pictures/page.jpg"),
    OIC: (BBC, "/pictures/missing.jpg"),
    IRIB: (BBC, "/private/secret.jpg"),  # robots.txt says no
}
EXPECTED = {
    "/pictures/photo.jpg": "stored", "/pictures/cmyk.jpg": "stored",
    "/pictures/animated.gif": "stored", "/pictures/wide.jpg": "stored",
    "/pictures/bomb.png": "too_large", "/pictures/truncated.jpg": "unreadable",
    "/pictures/drawing.jpg": "not_image", "/pictures/page.jpg": "not_image",
    "/pictures/missing.jpg": "not_found", "/private/secret.jpg": "blocked",
}
NYT_ALT = "United Nations peacekeepers at a refugee camp in Sudan on Monday."


def page_naming(fixture: str, picture: str) -> bytes:
    """The real fixture page with its picture (og:image, and wherever else the page names
    the same address) pointed at `picture`."""
    page = fixture_bytes(fixture)
    own = extract(page, "http://x.test/").og.image
    assert own and own.encode() in page, fixture
    return page.replace(own.encode(), picture.encode())


def stage(news: NewsServer) -> None:
    news.robots = Route(body=b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    for source, (fixture, picture) in SOURCES.items():
        news.routes[path(news, source)] = Route(body=page_naming(fixture, news.url(picture)))
    news.routes[path(news, BBC_UK)] = Route(fixture=BUSINESSWEEK)  # no picture at all
    news.routes[path(news, OHCHR)] = Route(403)
    news.routes[path(news, YAHOO)] = Route(403)
    news.routes[path(news, JPOST)] = Route(404)
    news.routes.update(PICTURES)


def crawl_config(news: NewsServer, db: Path, **overrides: Any):
    values = {"db": db, "wayback": False, "fetch_per_host": 4, "fetch_timeout": 5.0,
              "fetch_retries": 0, "site_url": "https://news.example.org"}
    return settings(**(values | overrides))


@dataclass
class Crawled:
    archive: Archive
    news: NewsServer
    report: Any
    site: Path
    log: list[str]

    def picture_status(self) -> dict[str, str]:
        rows = self.archive.store.conn.execute("SELECT url, status FROM images").fetchall()
        return {re.sub(r"^http://127\.0\.0\.1:\d+", "", url): status for url, status in rows}


@pytest.fixture(scope="module")
def crawled(tmp_path_factory) -> Iterator[Crawled]:
    folder = tmp_path_factory.mktemp("images")
    handler = _Lines()
    logging.getLogger("newscontext").addHandler(handler)
    try:
        with NewsServer() as news:
            stage(news)
            with Archive(crawl_config(news, folder / "a.sqlite3")) as archive:
                archive.ingest_paths([write_day(news, folder)])
                report = archive.crawl()
                archive.resolve()
                site = folder / "site"
                archive.build(site, search=False)
                yield Crawled(archive, news, report, site, handler.lines)
    finally:
        logging.getLogger("newscontext").removeHandler(handler)


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_every_picture_outcome_is_recorded_and_no_article_fails(crawled: Crawled):
    assert crawled.picture_status() == EXPECTED
    assert crawled.report.images == Counter(EXPECTED.values())
    states = {url: crawled.archive.store.source_state(local(crawled.news, url)).status
              for url in SOURCES}
    assert set(states.values()) == {"fetched"}  # whatever their picture did
    asked = crawled.news.paths()
    assert asked.count("/pictures/photo.jpg") == 1  # two articles, one picture, one fetch
    assert "/private/secret.jpg" not in asked  # robots.txt
    for picture, status in EXPECTED.items():
        if status != "stored":  # one line naming the picture, no traceback
            (line,) = [x for x in crawled.log if x.startswith("picture ") and picture in x]
            assert status in line and "\n" not in line and "Traceback" not in line


def test_copies_are_kept_once_and_sized(crawled: Crawled):
    store = crawled.archive.store
    copies = store.conn.execute(
        "SELECT sha256, length(content), media_type, width, height FROM image_copies").fetchall()
    assert len(copies) == 4 and {row[2] for row in copies} == {"image/webp"}
    assert sorted((row[3], row[4]) for row in copies) == [
        (640, 96), (640, 360), (640, 360), (640, 427)]
    rows = dict(store.conn.execute(
        "SELECT url, width || 'x' || height FROM images WHERE status = 'stored'").fetchall())
    assert sorted(rows.values()) == ["10000x1500", "1200x800", "1600x900", "800x450"]
    for sha, size, *_ in copies:
        assert len(store.image_copy(sha).content) == size < 60_000


def test_the_alt_text_is_the_pictures_own_or_the_headline(crawled: Crawled):
    pages = Pages(crawled.archive.store, crawled.archive.settings)
    shown = {}
    for archived in crawled.archive.events():
        page = pages.event(archived.id)
        if page.picture is not None:
            shown[page.picture.original.rsplit("/", 1)[-1]] = page.picture
    assert set(shown) == {"photo.jpg", "cmyk.jpg", "animated.gif", "wide.jpg"}
    assert shown["wide.jpg"].alt.startswith(NYT_ALT)  # the page's twitter:image:alt
    bbc_headline = extract(fixture_bytes(BBC), "http://x.test/").article.title
    assert shown["photo.jpg"].alt == bbc_headline  # no alt of its own: the headline
    assert shown["photo.jpg"].credit  # the outlet as the portal names it
    assert all(p.path.startswith("/media/") and p.path.endswith(".webp") for p in shown.values())


def test_the_build_writes_the_copies_and_the_live_server_gives_the_same_bytes(crawled):
    store, settings_ = crawled.archive.store, crawled.archive.settings
    files = sorted((crawled.site / "media").glob("*.webp"))
    assert len(files) == 4
    for file in files:
        name = f"media/{file.name}"
        assert media_file(store, settings_, name) == (file.read_bytes(), "image/webp")
        assert urls.parse_media(name) is not None
    assert media_file(store, settings_, "media/" + "0" * 64 + ".webp") is None
    assert media_file(store, settings_, "media/../archive.sqlite3") is None
    assert media_file(store, settings_, files[0].name) is None  # outside media/


def _images(html: bytes) -> list[Any]:
    return lxml_html.document_fromstring(html).xpath("//img")


def test_every_img_of_the_built_site_is_a_file_with_its_size(crawled: Crawled):
    with_pictures = 0
    for page in crawled.site.rglob("*.html"):
        for img in _images(page.read_bytes()):
            src = img.get("src")
            assert src.startswith("/media/") and (crawled.site / src.lstrip("/")).is_file()
            width, height = int(img.get("width")), int(img.get("height"))
            assert decode((crawled.site / src.lstrip("/")).read_bytes()).size == (width,
                                                                                  height)
            assert img.get("alt") and img.get("loading") == "lazy"
            assert img.getparent().tag == "figure"
            assert img.getparent().xpath("string(figcaption)").startswith("Picture: ")
            with_pictures += 1
    assert with_pictures >= 6  # four events' pages and the sources' pages (two share one)


def test_formats_carry_the_same_picture(crawled: Crawled):
    pages = Pages(crawled.archive.store, crawled.archive.settings)
    archived = next(a for a in crawled.archive.events()
                    if any(s.url == local(crawled.news, JAPANTIMES) for s in a.event.sources))
    event = pages.event(archived.id)
    base = crawled.site / urls.file_for(event.path, "json").rsplit(".", 1)[0]
    import json

    data = json.loads(base.with_suffix(".json").read_text())
    assert data["picture"] == {
        "path": event.picture.path, "url": "https://news.example.org" + event.picture.path,
        "width": 640, "height": 96, "alt": event.picture.alt, "credit": event.picture.credit,
        "original": crawled.news.url("/pictures/wide.jpg")}
    xml = base.with_suffix(".xml").read_text()
    assert f"<path>{event.picture.path}</path>" in xml and "<width>640</width>" in xml
    markdown = base.with_suffix(".md").read_text()
    assert f"]({event.picture.path})\\\n_Picture: " in markdown


def test_hotlinking_names_the_publishers_pictures(crawled: Crawled, tmp_path: Path):
    archive = crawled.archive
    archive.settings.hotlink_images = True
    try:
        site = tmp_path / "hotlinked"
        archive.build(site, search=False)
    finally:
        archive.settings.hotlink_images = False
    assert not list(site.rglob("*.webp"))
    shown = {img.get("src"): (img.get("width"), img.get("height"))
             for page in site.rglob("*.html") for img in _images(page.read_bytes())}
    base = crawled.news.url("")
    assert shown == {base + "/pictures/photo.jpg": ("1600", "900"),
                     base + "/pictures/cmyk.jpg": ("1200", "800"),
                     base + "/pictures/animated.gif": ("800", "450"),
                     base + "/pictures/wide.jpg": ("10000", "1500")}  # none that failed


def test_old_archives_get_their_pictures_a_batch_per_crawl(tmp_path: Path, news: NewsServer):
    """Articles archived before pictures were fetched: a later crawl fetches at most
    `crawl_image_backfill` of their pictures, the next ones the rest, and the incremental
    build after each shows them."""
    stage(news)
    with Archive(crawl_config(news, tmp_path / "old.sqlite3", crawl_images=False)) as archive:
        archive.ingest_paths([write_day(news, tmp_path)])
        assert sum(archive.crawl().images.values()) == 0
        site = tmp_path / "site"
        archive.build(site, search=False)
        assert not any(_images(p.read_bytes()) for p in site.rglob("*.html"))
        archive.settings.crawl_images = True
        archive.settings.crawl_image_backfill = 4
        first = archive.crawl()
        assert first.due == 0 and sum(first.images.values()) == 4
        report = archive.build(site, search=False)
        assert not report.full
        shown = {img.get("src") for p in site.rglob("*.html") for img in _images(p.read_bytes())}
        assert shown and all((site / src.lstrip("/")).is_file() for src in shown)
        while sum(archive.crawl().images.values()):
            pass
        statuses = Counter(row[0] for row in archive.store.conn.execute(
            "SELECT status FROM images"))
        assert statuses == Counter(EXPECTED.values())
        assert archive.build(site, search=False).extras["media"] == 4
        assert len(list((site / "media").glob("*.webp"))) == 4


@pytest.fixture
def news() -> Iterator[NewsServer]:
    with NewsServer() as server:
        yield server


# -- in Chromium -------------------------------------------------------------------------------


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_pictures_load_in_chromium_and_keep_their_room(crawled: Crawled):
    """Every page of the built site that has an image, and the pages of events whose
    picture failed: each <img> loads (naturalWidth > 0) and has its room before it loads
    (width and height), and a failed picture leaves no image element at all."""
    sync_api = pytest.importorskip("playwright.sync_api")
    assert CHROMIUM.exists(), "needs Debian's chromium"
    pictured = [p for p in crawled.site.rglob("*.html") if _images(p.read_bytes())]
    pages = Pages(crawled.archive.store, crawled.archive.settings)
    failed = []  # the pages of events citing a source whose picture failed
    for archived in crawled.archive.events():
        urls_cited = {s.url for s in archived.event.sources}
        if urls_cited & {local(crawled.news, u) for u in (REUTERS, GUARDIAN, GEO, OIC)}:
            page = pages.event(archived.id)
            if page.picture is None:
                failed.append(crawled.site / urls.file_for(page.path, "html"))
    assert len(pictured) >= 6 and failed
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 partial(_Quiet, directory=str(crawled.site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                 args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 390, "height": 844})
            problems: list[str] = []
            page = context.new_page()
            page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
                    if r.status >= 400 else None)
            page.on("requestfailed", lambda r: problems.append(f"failed {r.url}"))
            for file in pictured + failed:
                page.goto(base + str(file.relative_to(crawled.site)), wait_until="load")
                images = page.locator("img")
                if file in failed:
                    assert images.count() == 0 and page.locator("figure.cover").count() == 0
                    continue
                for n in range(images.count()):
                    image = images.nth(n)
                    image.scroll_into_view_if_needed()  # lazy: loaded when near
                    image.evaluate("img => img.decode()")
                    facts = image.evaluate(
                        "img => [img.complete, img.naturalWidth, img.naturalHeight,"
                        " img.getAttribute('width'), img.getAttribute('height'),"
                        " img.getBoundingClientRect().width,"
                        " img.getBoundingClientRect().height, getComputedStyle(img).objectFit]")
                    done, natural_w, natural_h, width, height, box_w, box_h, fit = facts
                    assert done and natural_w > 0, file
                    assert (natural_w, natural_h) == (int(width), int(height)), file
                    if fit != "cover":  # (the front page crops its thumbnails to one height)
                        assert box_h == pytest.approx(box_w * natural_h / natural_w, abs=1.5)
            # before it loads, the room is kept: a picture that never arrives (blocked
            # here) still has its height, so nothing below it moves when it comes
            context.route("**/media/*", lambda route: route.abort())
            page.goto(base + str(pictured[0].relative_to(crawled.site)), wait_until="load")
            image = page.locator("img").first
            image.scroll_into_view_if_needed()
            assert image.evaluate("img => img.getBoundingClientRect().height") > 20
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    assert [p for p in problems if "/media/" not in p or "failed" not in p] == []


# -- the size the copies add -------------------------------------------------------------------


def test_copy_sizes_on_the_crawl_fixture(crawled: Crawled, capsys):
    """The bytes the copies add (printed for the README; -s shows them): the real day's
    sources with photograph-like pictures of the sizes publishers serve."""
    sizes = [row[0] for row in crawled.archive.store.conn.execute(
        "SELECT length(content) FROM image_copies")]
    originals = [len(PICTURES[p].body) for p, s in EXPECTED.items() if s == "stored"]
    with capsys.disabled():
        print(f"\ncopies: {len(sizes)}, median {median(sizes):,.0f} bytes, "
              f"total {sum(sizes):,} (pictures as served: median {median(originals):,.0f})")
    assert 0 < median(sizes) < median(originals)


# -- older archives and hostile pages ------------------------------------------------------------


def test_an_archive_made_before_pictures_is_migrated(tmp_path: Path):
    """An archive of the schema before this one: its articles keep everything, have no alt
    text, and their pictures are due for the next crawl."""
    import sqlite3

    from newscontext.store import schema

    db = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(db, isolation_level=None)
    pictures = next(n for n, script in enumerate(schema.MIGRATIONS)
                    if "CREATE TABLE images" in script)
    for version, script in enumerate(schema.MIGRATIONS[:pictures]):
        for statement in schema._statements(script):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {version + 1}")
    conn.execute("INSERT INTO sources (url, hash, status) VALUES ('https://a.test/x', "
                 "'0123456789abcdef', 'fetched')")
    conn.execute("INSERT INTO articles (url, og_image, title, status, extracted_at) VALUES "
                 "('https://a.test/x', 'https://a.test/p.jpg', 'A headline', 'complete', "
                 "'2020-01-01T00:00:00Z')")
    conn.close()
    with Archive(settings(db=db)) as archive:
        (found,) = archive.store.source_pictures(["https://a.test/x"]).values()
        assert (found.url, found.alt, found.headline, found.copy) == (
            "https://a.test/p.jpg", None, "A headline", None)
        assert archive.article_for("https://a.test/x").og_image_alt is None


def test_a_picture_at_an_unsafe_address_is_never_loaded():
    """What no crawl stores (the extractor keeps http(s) pictures only) an edited archive
    may hold: a hot-linked picture whose address runs code is not shown in any format."""
    from newscontext.site.model import EventPage, Picture
    from newscontext.site.render import SiteInfo, markdown
    from newscontext.site.render import html as html_render

    site = SiteInfo(url="https://news.example.org", generated="2026-01-01T00:00:00Z")
    for address in ("javascript:alert(1)", " JavaScript:alert(1)",
                    "data:image/svg+xml;base64,PHN2Zz4="):
        page = EventPage(path="/news/2016/01/19/x", title="An event", text="An event",
                         picture=Picture(address, 10, 10, "alt", "Outlet", address))
        assert not _images(html_render.render(page, site))
        assert "![" not in markdown.render(page, site).decode()
