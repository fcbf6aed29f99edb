"""`newscontext build` and `newscontext serve` on the real fixture days: a real server on
127.0.0.1, real HTTP requests, a reworded event answered with a 301."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from conftest import HTML_KIWICOPPLE, HTML_PARSE_API, WIKITEXT
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st
from servers import in_thread, reword

from newscontext import Archive, Settings, httpd
from newscontext.site import serve

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
    story: str  # a subject's slug (a story heading that is one link: its page is the subject's)
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
    reword(folder, db)
    second = newscontext("build", out, "--no-search", db=db)
    assert second.returncode == 0, second.stderr
    with Archive(Settings(db=db)) as archive:
        story = archive.store.entity_slugs()["Syrian Civil War"]  # slugs come with a build
    return Built(db, out, story, first.stderr, second.stderr)


@dataclass
class Running:
    server: httpd.HardenedServer
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connections(self) -> list:
        return list(self.server.server_state.connections)


@contextmanager
def running(outdir: Path, settings: Settings | None = None) -> Iterator[Running]:
    """`serve`'s hardened server in a thread on a free port of 127.0.0.1."""
    server = serve.server(outdir, settings or Settings(), log_level="warning")
    with in_thread(server) as port:
        yield Running(server, port)


@pytest.fixture(scope="module")
def base(built: Built):
    """The base URL of `serve`'s app running in a thread on a free port of 127.0.0.1."""
    with running(built.out) as served:
        yield served.url


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
    rss = client.get(f"/entities/{built.story}/feed.xml")
    atom = client.get(f"/entities/{built.story}/feed.atom")
    assert rss.headers["content-type"] == "application/rss+xml" and b"<rss" in rss.content
    assert atom.headers["content-type"] == "application/atom+xml" and b"<feed" in atom.content
    page = client.get(f"/entities/{built.story}.json")
    assert page.headers["content-type"] == "application/json"
    moved = client.get("/stories/syrian-civil-war.json")  # the story's address: its subject's
    assert moved.status_code == 301
    assert moved.headers["location"].endswith(f"/entities/{built.story}.json")


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
    "/%0A/", "/news/%0A/index.html",  # a newline: Starlette's own route missed it (307)
])
def test_unknown_paths_are_404(client: httpx.Client, path: str):
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == HTML
    assert "Not found" in response.text


def test_a_page_path_with_a_trailing_slash_finds_the_page(client: httpx.Client, built: Built):
    """`/entities/<slug>/` (as readers and other sites write it) is a 301 to the page."""
    page = sorted((built.out / "entities").glob("*.html"))[0]
    path = "/" + page.relative_to(built.out).as_posix().removesuffix(".html")
    response = client.get(f"{path}/?from=x")
    assert response.status_code == 301
    assert response.headers["location"] == f"{path}.html?from=x"
    followed = client.get(response.headers["location"])
    assert followed.status_code == 200 and followed.content == page.read_bytes()
    for folder in ("/about/", "/news/2016/01/19/index/"):
        response = client.get(folder)
        assert response.status_code == 301 and response.headers["location"] == \
            folder.rstrip("/") + ".html"
    # A file named as a folder, and a path below a page, are not pages with a slash.
    for ext in (".html", ".md", ".json"):
        assert client.get(f"{path}{ext}/").status_code == 404
    assert client.get(f"{path}/x/").status_code == 404


def test_not_found_is_a_page_of_the_site(client: httpx.Client, built: Built):
    """The 404 page has the site's header, navigation and footer: written by the build as
    /404.html, and answered by `serve` for a folder built before there was one."""
    written = (built.out / "404.html").read_bytes()
    response = client.get("/stories/no-such-story")
    assert response.status_code == 404 and response.content == written
    for html in (response.text, serve.NOT_FOUND.decode()):
        assert '<header class="site">' in html and '<footer class="site">' in html
        assert '<nav aria-label="Site">' in html and "<h1>Not found</h1>" in html
        assert 'href="/index.html"' in html and 'href="/search.html"' in html
    assert "404.html" not in (built.out / "sitemap.xml").read_text()
    bare = built.out.parent / "older-site"
    bare.mkdir(exist_ok=True)
    (bare / "index.html").write_text("<!DOCTYPE html><title>x</title>")
    with running(bare) as served:
        response = httpx.get(served.url + "/missing", timeout=10)
    assert response.status_code == 404 and response.content == serve.NOT_FOUND


def test_cli_serve_prints_its_url_and_serves(built: Built):
    """... and takes its limits from the settings (here from the environment)."""
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path),
                       NEWSCONTEXT_SERVE_REQUEST_TIMEOUT="0.5")
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
        silent = connect(int(url.rstrip("/").rsplit(":", 1)[1]))
        began = time.monotonic()
        assert closed_by_server(silent, within=5)
        assert time.monotonic() - began < 2  # 0.5 s, not the default 10 s
        silent.close()
    finally:
        process.terminate()
        process.wait(10)


# -- hostile paths: every path that names no file answers 404 (issue 11, fault 4) -----------

SECRET = b"a file beside the site that no path may reach\n"


@pytest.fixture(scope="module")
def odd_site(built: Built) -> Path:
    """The built site with what a file system can answer oddly, and a file beside it."""
    (built.out.parent / "secret.txt").write_bytes(SECRET)
    (built.out / "loop").symlink_to("loop")  # ELOOP
    (built.out / "ring-a.html").symlink_to("ring-b.html")
    (built.out / "ring-b.html").symlink_to("ring-a.html")
    (built.out / "folder.html").mkdir()  # a folder where a page would be
    return built.out


def http_get(port: int, target: str, method: str = "GET") -> tuple[int, bytes]:
    """One request with the target sent exactly as given (httpx would normalise `..`)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, target)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("target", [
    "/" + "a" * 251,  # ENAMETOOLONG from the .html candidate: answered 500 before the fix
    "/" + "a" * 255, "/" + "a" * 300 + ".html", "/news/2016/" + "%C3%A9" * 200 + "/",
    "/" + "ab/" * 1500,  # a whole path longer than PATH_MAX
    "/a%00b", "/%00", "/index.html%00.md",  # NUL
    "/%ff%fe", "/%c0%ae%c0%ae/secret.txt", "/%e2%80%ae", "/%zz", "/%", "/%%32%65",
    "/loop", "/loop.html", "/loop/index.html", "/ring-a", "/ring-b.html",  # symlink loops
    "/folder", "/folder.html", "/index.html/x", "/about.html/",  # not files, ENOTDIR
    "/..", "/../secret.txt", "/../../../../../../etc/passwd", "/news/../../secret.txt",
    "/%2e%2e/secret.txt", "/%2e%2e%2fsecret.txt", "/news/..%2f..%2fsecret.txt",
    "/..\\secret.txt", "/.%2e/secret.txt", "//../secret.txt", "/./../secret.txt",
    "/.newscontext/", "/%2enewscontext/manifest.sqlite3",
])
def test_paths_naming_no_file_are_404(base: str, odd_site: Path, target: str):
    port = int(base.rsplit(":", 1)[1])
    status, body = http_get(port, target)
    assert status == 404, target
    assert b"Not found" in body and SECRET not in body


def test_head_of_a_long_path_is_404(base: str, odd_site: Path):
    port = int(base.rsplit(":", 1)[1])
    assert http_get(port, "/" + "b" * 400, method="HEAD") == (404, b"")


SEGMENTS = st.one_of(
    st.integers(240, 300).map(lambda length: "x" * length),  # the file system's name limit
    st.sampled_from(["news", "2016", "01", "19", "index", "index.html", "about", "feed.xml",
                     "stories", "..", ".", "", "loop", "folder.html", "secret.txt"]),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=300),
)


@examples(max_examples=150, deadline=None)
@given(segments=st.lists(SEGMENTS, min_size=1, max_size=8), encode=st.booleans())
def test_any_path_answers_a_site_file_a_redirect_or_404(base: str, odd_site: Path,
                                                        site_files: set[bytes],
                                                        segments: list[str], encode: bool):
    """Never a 500: a path answers one of the site's own files, a 301, or the 404 page."""
    safe = "" if encode else "/.%"
    target = "/" + "/".join(quote(segment, safe=safe) for segment in segments)
    port = int(base.rsplit(":", 1)[1])
    status, body = http_get(port, target)
    assert status in (200, 301, 404), target
    if status == 200:
        assert hashlib.sha256(body).digest() in site_files, target
    assert SECRET not in body


@pytest.fixture(scope="module")
def site_files(odd_site: Path) -> set[bytes]:
    """The digests of the site's files."""
    return {hashlib.sha256(path.read_bytes()).digest() for path in odd_site.rglob("*")
            if path.is_file() and not path.is_symlink()}


# -- connections: NODELAY, deadlines, a bound, one log line per flood (fault 8) -------------

def request(sock: socket.socket, target: str = "/robots.txt") -> tuple[int, bytes]:
    """One keep-alive request on an open socket: (status, body), the body by Content-Length."""
    sock.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        body += chunk
    return int(head.split(b" ", 2)[1]), body


def connect(port: int, rcvbuf: int | None = None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:  # before connecting: the window the server may fill
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """True once the server has closed `sock` (EOF or reset), waiting at most `within` s;
    whatever the server still sends first is read and dropped."""
    sock.settimeout(0.05)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if not sock.recv(65536):
                return True
        except TimeoutError:
            continue
        except ConnectionResetError:
            return True
    return False


def wait_for(condition, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def server_socket_options(served: Running) -> list[int]:
    return [connection.transport.get_extra_info("socket").getsockopt(
        socket.IPPROTO_TCP, socket.TCP_NODELAY) for connection in served.connections()]


def test_keep_alive_requests_do_not_wait_for_nagle(built: Built):
    """uvicorn writes a response's head and body apart: without TCP_NODELAY the body waits
    for the client's delayed ACK (~40 ms a request; 44 ms measured before the fix)."""
    with running(built.out) as served:
        client = connect(served.port)
        assert request(client) == (200, (built.out / "robots.txt").read_bytes())
        assert server_socket_options(served) == [1]  # set on the accepted connection

        def timed(sock: socket.socket, count: int) -> float:
            """The median request's time: a busy machine's pauses stretch a few requests
            (and a mean), never the delayed ACK that every Nagle request waits for."""
            times = []
            for _ in range(count):
                start = time.perf_counter()
                assert request(sock)[0] == 200
                times.append(time.perf_counter() - start)
            return statistics.median(times)

        fast = timed(client, 50)
        nagle = connect(served.port)  # the same server with Nagle back on this connection
        assert request(nagle)[0] == 200
        for connection in served.connections():
            sock = connection.transport.get_extra_info("socket")
            if sock.getpeername() == nagle.getsockname():
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)
        slow = timed(nagle, 10)
        client.close()
        nagle.close()
    assert fast * 5 < slow, (fast, slow)


class Records(logging.Handler):
    """The records that reach uvicorn's error log (after the flood filter)."""

    def __init__(self):
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def count(self, text: str) -> int:
        return sum(text in record.getMessage() for record in self.records)


@contextmanager
def server_log() -> Iterator[Records]:
    """uvicorn's error log as it is written (attached once the server has configured its
    logging, which drops the handlers it finds)."""
    handler = Records()
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def test_slow_request_heads_are_closed_while_others_are_served(built: Built):
    """Slowloris: clients that send nothing, trickle a head, or trickle the next request on
    a keep-alive connection are closed after serve_request_timeout; a normal client is
    answered promptly all the while; the closes are logged once, not once each."""
    timeout = 1.0
    with running(built.out, Settings(serve_request_timeout=timeout, serve_keep_alive=30)
                 ) as served, server_log() as log:
        silent = [connect(served.port) for _ in range(5)]
        trickling = [connect(served.port) for _ in range(10)]
        keep_alive = [connect(served.port) for _ in range(5)]
        for sock in keep_alive:
            assert request(sock)[0] == 200
        for sock in trickling + keep_alive:
            sock.sendall(b"GET /index.html HTTP/1.1\r\n")
        start, answered = time.monotonic(), []
        while time.monotonic() - start < timeout + 1.0:  # trickle past the deadline
            for sock in trickling + keep_alive:
                with contextlib.suppress(OSError):
                    sock.sendall(b"X-Slow: 1\r\n")
            began = time.monotonic()
            normal = connect(served.port)
            answered.append((request(normal)[0], time.monotonic() - began))
            normal.close()
            time.sleep(0.1)
        slow = silent + trickling + keep_alive
        closed = [closed_by_server(sock, within=2.0) for sock in slow]
        for sock in slow:
            sock.close()
    assert all(closed), closed
    assert [status for status, _ in answered] == [200] * len(answered)
    assert max(seconds for _, seconds in answered) < 0.5, answered
    assert log.count("sent no whole request") == 1  # 15 closed, one line


def test_a_client_that_reads_nothing_is_closed(built: Built, odd_site: Path):
    """A slow reader holds a connection and an open file: closed after serve_send_timeout."""
    big = odd_site / "big.bin"
    big.write_bytes(bytes(32 * 1024 * 1024))
    try:
        with running(built.out, Settings(serve_send_timeout=1.0)) as served:
            reader = connect(served.port, rcvbuf=4096)
            reader.sendall(b"GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            wait_for(lambda: len(served.connections()) == 1)
            began = time.monotonic()
            wait_for(lambda: not served.connections(), within=5)  # the server let go
            assert time.monotonic() - began < 4
            received = 0
            with contextlib.suppress(ConnectionResetError):
                while chunk := reader.recv(1 << 20):
                    received += len(chunk)
            assert received < big.stat().st_size  # cut short, not sent in full
            reader.close()
    finally:
        big.unlink()


def test_connection_bound_admits_new_clients_by_closing_idle_ones(built: Built):
    """At serve_max_connections a new client takes the place of the connection that waited
    longest for a request; it is answered at once."""
    with running(built.out, Settings(serve_max_connections=8, serve_request_timeout=30,
                                     serve_keep_alive=30)) as served:
        idle = [connect(served.port) for _ in range(8)]
        for sock in idle[4:]:
            assert request(sock)[0] == 200  # keep-alive connections, idle since
        wait_for(lambda: len(served.connections()) == 8)
        began = time.monotonic()
        newcomer = connect(served.port)
        assert request(newcomer)[0] == 200
        assert time.monotonic() - began < 1
        assert closed_by_server(idle[0], within=2)  # the oldest waiter made room
        assert len(served.connections()) <= 8
        for sock in [*idle, newcomer]:
            sock.close()


def test_connection_bound_answers_503_when_every_connection_is_busy(built: Built,
                                                                    odd_site: Path):
    """When no connection is idle (here: readers stuck on a big file) a new client gets a
    503 or is refused at once, not left hanging; once they go, clients are served again."""
    big = odd_site / "big.bin"
    big.write_bytes(bytes(32 * 1024 * 1024))
    try:
        with running(built.out, Settings(serve_max_connections=4,
                                         serve_send_timeout=30)) as served:
            stuck = [connect(served.port, rcvbuf=4096) for _ in range(4)]
            for sock in stuck:
                sock.sendall(b"GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            wait_for(lambda: len(served.connections()) == 4 and not served.server.gate.waiting)
            began = time.monotonic()
            refused = connect(served.port)
            try:
                status = request(refused)[0]
            except (ConnectionResetError, BrokenPipeError, AssertionError):
                status = None  # refused: closed before an answer could be read
            assert status in (503, None)
            assert time.monotonic() - began < 2
            refused.close()
            for sock in stuck:
                sock.close()
            wait_for(lambda: not served.connections())
            later = connect(served.port)
            assert request(later)[0] == 200
            later.close()
    finally:
        big.unlink()


SERVER_AT_THE_FILE_LIMIT = """
import os, resource, sys, threading, time
from pathlib import Path
from newscontext import Settings
from newscontext.site import serve

resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

def control():  # "exhaust": no descriptor free from now on; "release": as before
    for line in sys.stdin:
        if line.strip() == "exhaust":
            time.sleep(0.5)  # the file of the last answer is closed just after it is sent
            lowest_free = os.open(os.devnull, os.O_RDONLY)
            os.close(lowest_free)
            resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free, 256))
            print("exhausted", flush=True)
        else:
            resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
            print("released", flush=True)

threading.Thread(target=control, daemon=True).start()
serve.serve(Path(sys.argv[1]), port=0, settings=Settings(serve_keep_alive=60),
            ready=lambda url: print(url, flush=True))
"""


def said(process: subprocess.Popen, word: str) -> bool:
    """Whether `word` comes on the process's stdout (passing the access log's lines)."""
    return any(line.strip() == word for line in process.stdout)


def test_accept_errors_are_logged_once_and_the_server_recovers(built: Built):
    """Out of file descriptors, accepting fails on every try: asyncio logged a traceback per
    try of its accept loop, many per second (21 MB in 20 s). Now: one line, a count at
    exit, and every waiting client is served once descriptors are free again."""
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    process = subprocess.Popen([sys.executable, "-c", SERVER_AT_THE_FILE_LIMIT, str(built.out)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=environment)
    try:
        port = int(process.stdout.readline().strip().rsplit(":", 1)[1].rstrip("/"))
        first = connect(port)  # kept open (and alive): closing it would free a descriptor
        assert request(first)[0] == 200
        process.stdin.write("exhaust\n")
        process.stdin.flush()
        assert said(process, "exhausted")
        waiting = []
        for _ in range(25):  # they wait in the kernel's queue, ~2.5 s
            sock = connect(port)
            sock.sendall(b"GET /robots.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            waiting.append(sock)
            time.sleep(0.1)
        process.stdin.write("release\n")
        process.stdin.flush()
        assert said(process, "released")
        for sock in waiting:
            sock.settimeout(10)
            data = sock.recv(65536)
            assert data.startswith(b"HTTP/1.1 200"), data[:100]
            sock.close()
        assert request(first)[0] == 200  # a connection from before is still served
        first.close()
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=20)
    accept_lines = [line for line in stderr.splitlines() if "cannot accept" in line]
    assert len(accept_lines) == 2, stderr[-3000:]  # the first, then the count at exit
    assert accept_lines[0].startswith("ERROR:")
    assert "more were not logged like this" in accept_lines[1]
    assert "Traceback" not in stderr and len(stderr) < 5000, stderr[-3000:]
    assert "open-files limit (256) allows" in stderr  # fitted to the limit, and said so


def test_flood_filter_lets_one_a_window_through_and_counts_the_rest():
    flood = httpd.FloodFilter(window=0.2)
    logger = logging.getLogger("newscontext.test_flood")
    handler = Records()
    logger.addHandler(handler)
    logger.addFilter(flood)
    logger.propagate = False
    try:
        for number in range(100):
            logger.warning("connection %d closed", number)
        logger.warning("another kind")
        time.sleep(0.25)
        logger.warning("connection %d closed", 100)
        logger.warning("connection %d closed", 101)
        logger.removeFilter(flood)
        flood.flush(logger)
    finally:
        logger.removeHandler(handler)
    messages = [record.getMessage() for record in handler.records]
    assert messages[:3] == ["connection 0 closed", "another kind",
                            "connection 100 closed (99 more like this in the last 0 s "
                            "were not logged)"]
    assert messages[3:] == ["1 more were not logged like this: connection %d closed"]
