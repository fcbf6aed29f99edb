"""`newscontext build` and `newscontext serve` on the real fixture days: a real server on
127.0.0.1, real HTTP requests, a reworded event answered with a 301."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from conftest import HTML_KIWICOPPLE, HTML_PARSE_API, WIKITEXT, export_xml, wikitext

from newscontext import Archive, Settings
from newscontext.site import serve

JIHADI = "confirms the death of militant [[Jihadi John]] in an airstrike in November."
REWORDED = "says that militant [[Jihadi John]] died in a November airstrike in [[Raqqa]]."
OLD = "/news/2016/01/19/isil-confirms-the-death-of-militant-jihadi-john-in-an-airstrike-in-november"
NEW = "/news/2016/01/19/isil-says-that-militant-jihadi-john-died-in-a-november-airstrike-in-raqqa"
HTML = "text/html; charset=utf-8"


def newscontext(*args: str | Path, db: Path, **kwargs) -> subprocess.CompletedProcess:
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "newscontext", "--db", str(db),
                           *map(str, args)], capture_output=True, text=True, env=environment,
                          **kwargs)


@dataclass
class Built:
    db: Path
    out: Path
    story: str  # a story's slug
    first: str  # the CLI's build report lines
    second: str


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    """A site built by the CLI, then rebuilt after a newer revision rewords one event."""
    folder = tmp_path_factory.mktemp("serve")
    db, out = folder / "archive.sqlite3", folder / "site"
    with Archive(Settings(db=db)) as archive:
        archive.ingest_paths([HTML_PARSE_API, WIKITEXT, HTML_KIWICOPPLE])
        archive.resolve()
        archive.relate()
    first = newscontext("build", out, "--no-search", db=db)
    assert first.returncode == 0, first.stderr
    stamp = (datetime.now(UTC) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    export = folder / "reworded.xml"
    export.write_text(export_xml({date(2016, 1, 19): [
        (900_000_001, stamp, wikitext("2016-01-19").replace(JIHADI, REWORDED))]}),
        encoding="utf-8")
    with Archive(Settings(db=db)) as archive:
        assert archive.ingest_paths([export]).changed == 1
    second = newscontext("build", out, "--no-search", db=db)
    assert second.returncode == 0, second.stderr
    with Archive(Settings(db=db)) as archive:
        story = archive.store.story_slugs()["Syrian Civil War"]  # slugs come with a build
    return Built(db, out, story, first.stderr, second.stderr)


@pytest.fixture(scope="module")
def base(built: Built):
    """The base URL of `serve`'s app running in a thread on a free port of 127.0.0.1."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = serve.server(built.out, "127.0.0.1", port, log_level="warning")
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture
def client(base: str):
    with httpx.Client(base_url=base, follow_redirects=False, timeout=10) as opened:
        yield opened


def test_cli_build_reports_full_then_incremental(built: Built):
    assert "full build" in built.first and "incremental build" in built.second
    assert "search_index" not in built.first  # --no-search
    assert (built.out / "search.html").is_file()  # the page exists, and says why it is idle
    assert not (built.out / "pagefind").exists()


@pytest.mark.parametrize(("path", "content_type"), [
    ("/index.html", HTML),
    ("/index.md", "text/markdown; charset=utf-8"),
    ("/index.json", "application/json"),
    ("/index.xml", "application/xml"),
    ("/feed.xml", "application/rss+xml"),
    ("/feed.atom", "application/atom+xml"),
    ("/sitemap.xml", "application/xml"),
    ("/robots.txt", "text/plain; charset=utf-8"),
    ("/search.html", HTML),
    (NEW + ".html", HTML),
    (NEW + ".md", "text/markdown; charset=utf-8"),
    (NEW + ".json", "application/json"),
    (NEW + ".xml", "application/xml"),
])
def test_content_types(client: httpx.Client, built: Built, path: str, content_type: str):
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.content == (built.out / path.lstrip("/")).read_bytes()


def test_timeline_feeds_are_rss_and_atom(client: httpx.Client, built: Built):
    rss = client.get(f"/stories/{built.story}/feed.xml")
    atom = client.get(f"/stories/{built.story}/feed.atom")
    assert rss.headers["content-type"] == "application/rss+xml" and b"<rss" in rss.content
    assert atom.headers["content-type"] == "application/atom+xml" and b"<feed" in atom.content
    page = client.get(f"/stories/{built.story}.json")
    assert page.headers["content-type"] == "application/json"


@pytest.mark.parametrize(("path", "file"), [
    ("/", "index.html"),
    ("/about", "about.html"),
    ("/news/2016/01/19/", "news/2016/01/19/index.html"),
    ("/news/2016/01/19/index", "news/2016/01/19/index.html"),
    (NEW, NEW.lstrip("/") + ".html"),
])
def test_front_folders_and_extensionless_paths(client: httpx.Client, built: Built, path: str,
                                               file: str):
    response = client.get(path)
    assert response.status_code == 200 and response.headers["content-type"] == HTML
    assert response.content == (built.out / file).read_bytes()


@pytest.mark.parametrize("ext", ["", ".html", ".md", ".json", ".xml"])
def test_old_event_path_is_a_301(client: httpx.Client, ext: str):
    response = client.get(OLD + ext)
    assert response.status_code == 301
    assert response.headers["location"] == NEW + ext
    followed = client.get(response.headers["location"])
    assert followed.status_code == 200
    assert "died in a November airstrike in Raqqa" in followed.text


def test_redirect_keeps_the_query(client: httpx.Client):
    response = client.get(OLD + ".html?from=feed")
    assert response.status_code == 301 and response.headers["location"] == NEW + ".html?from=feed"


def test_head_request(client: httpx.Client, built: Built):
    response = client.head("/feed.atom")
    assert response.status_code == 200 and response.content == b""
    assert int(response.headers["content-length"]) == (built.out / "feed.atom").stat().st_size


@pytest.mark.parametrize("path", [
    "/nothing-here", "/news/2016/01/19/no-such-event.html", "/stories/no-such-story",
    "/.newscontext/manifest.sqlite3", "/%2e%2e/%2e%2e/etc/passwd", "/news/..%2f..%2fetc/passwd",
])
def test_unknown_paths_are_404(client: httpx.Client, path: str):
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == HTML
    assert "Not found" in response.text


def test_cli_serve_prints_its_url_and_serves(built: Built):
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    process = subprocess.Popen(
        [sys.executable, "-m", "newscontext", "--db", str(built.db), "serve", str(built.out),
         "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=environment)
    try:
        line = process.stdout.readline()
        assert line.startswith(f"Serving {built.out} at http://127.0.0.1:"), line
        url = line.split(" at ", 1)[1].split()[0]
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(url, timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.05)
        assert response.status_code == 200 and response.headers["content-type"] == HTML
        assert response.content == (built.out / "index.html").read_bytes()
    finally:
        process.terminate()
        process.wait(10)
