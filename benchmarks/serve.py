"""The live server under load, beside the static server on the same pages, in one run.

Set-up (not timed): a synthetic archive of --events events (see synthetic.py), resolved and
related; a build of the last day's JSON pages gives every event its path (the live server
serves only a state where all have one). Both servers run as real processes, as the command
line starts them (access log on): `newscontext --db A serve` (--workers processes), and
`newscontext serve DIR` on a folder holding the measured pages in every format, fetched once
from the live server, whose answers are the bytes `build` writes (tests/test_web.py).

Load: a raw asyncio HTTP/1.1 client (no gzip asked), --connections keep-alive connections
per target, each asking for one path again and again for --seconds after a second of warm-up;
the "each once" targets ask --spread different event pages, or searches of different words,
in turn, each once (a live worker keeps the answers it made for the archive's state, so a
path asked again is sent as made: the other targets measure that, these the making; "once+"
says the list ran out and started again). The measured live server starts cold.
Its own ceiling, against a trivial server, is printed first: figures well under it are the
servers'. Each target runs live then static, so a busy machine weighs on both alike.

    python benchmarks/serve.py                  # 150,000 events
    python benchmarks/serve.py --events 20000 --seconds 5

Prints requests/s, p50 and p99 latency (ms) and errors (not 200) per target, the live/static
throughput of the event page, and the resident memory of each live worker after the run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO
from urllib.parse import quote

from synthetic import make_archive

from newscontext import Archive, Settings
from newscontext.site import urls

WARM_UP = 1.0  # seconds of load before the counted ones (first pages, caches)
WORD = "killed"  # a common word of the fixture events: thousands of matches
TRIVIAL = """import asyncio
class Ok(asyncio.Protocol):
    def connection_made(self, t): self.t, self.buf = t, b""
    def data_received(self, data):
        self.buf += data
        while b"\\r\\n\\r\\n" in self.buf:
            _, self.buf = self.buf.split(b"\\r\\n\\r\\n", 1)
            self.t.write(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok")
async def main():
    server = await asyncio.get_running_loop().create_server(Ok, "127.0.0.1", 0)
    print(f"Serving at http://127.0.0.1:{server.sockets[0].getsockname()[1]}/", flush=True)
    await server.serve_forever()
asyncio.run(main())
"""
LENGTH = re.compile(rb"\r\ncontent-length: *(\d+)", re.IGNORECASE)


@dataclass
class Run:
    """What the connections of one target record."""

    counted_from: float
    end: float
    requests: list[bytes]  # asked in turn by all the connections
    asked: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    def next_request(self) -> bytes:
        self.asked += 1
        return self.requests[(self.asked - 1) % len(self.requests)]


class Connection(asyncio.Protocol):
    """One keep-alive connection asking for the run's requests until the end."""

    def __init__(self, run: Run, closed: asyncio.Future[None]):
        self.run, self.closed = run, closed
        self.buffer, self.need, self.status, self.started = bytearray(), 0, 0, 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.ask()

    def ask(self) -> None:
        self.started = time.perf_counter()
        if self.started >= self.run.end:
            self.transport.close()
            return
        self.buffer, self.need = bytearray(), 0
        self.transport.write(self.run.next_request())  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.need:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            length = LENGTH.search(self.buffer, 0, end + 2)
            if length is None:  # no Content-Length: not an answer this client reads
                self.run.errors += 1
                self.transport.close()
                return
            self.status = int(self.buffer[9:12])
            self.need = end + 4 + int(length.group(1))
        if len(self.buffer) < self.need:
            return
        if self.started >= self.run.counted_from:  # asked in the counted time
            self.run.latencies.append(time.perf_counter() - self.started)
            self.run.errors += self.status != 200
        self.ask()

    def connection_lost(self, exc: Exception | None) -> None:
        if time.perf_counter() < self.run.end:
            self.run.errors += 1  # closed by the server: a new connection takes its place
        if not self.closed.done():
            self.closed.set_result(None)


async def connect(host: str, port: int, run: Run) -> None:
    loop = asyncio.get_running_loop()
    while time.perf_counter() < run.end:
        closed: asyncio.Future[None] = loop.create_future()
        try:
            await loop.create_connection(lambda: Connection(run, closed),  # noqa: B023
                                         host, port)
        except OSError:
            run.errors += 1
            await asyncio.sleep(0.05)
            continue
        await closed


def load(base: str, paths: list[str], connections: int, seconds: float) -> Run:
    """`connections` connections asking for `paths` in turn for `seconds` (after the
    warm-up)."""
    host, port = base.split("//")[1].rstrip("/").split(":")
    requests = [f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: bench\r\n\r\n"
                .encode() for path in paths]
    start = time.perf_counter()
    run = Run(counted_from=start + WARM_UP, end=start + WARM_UP + seconds, requests=requests)

    async def main() -> None:
        await asyncio.gather(*(connect(host, int(port), run) for _ in range(connections)))

    asyncio.run(main())
    return run


def figures(run: Run, seconds: float) -> tuple[float, float, float, int]:
    """Requests a second, p50 and p99 latency in ms, errors."""
    times = sorted(run.latencies) or [float("nan")]
    p50, p99 = (times[min(len(times) - 1, int(q * len(times)))] * 1000 for q in (0.5, 0.99))
    return len(run.latencies) / seconds, p50, p99, run.errors


def row(run: Run, seconds: float) -> str:
    return "{:9.0f} {:7.1f} {:7.1f} {:7d}".format(*figures(run, seconds))


@contextmanager
def running(args: list[str], log: IO[str]) -> Iterator[tuple[int, str]]:
    """A server process (its output, access log included, to `log`): its pid and the URL
    it prints once its port is bound; stopped at the end."""
    process = subprocess.Popen([sys.executable, *args], stdout=log, stderr=log, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline, url = time.monotonic() + 60, None
        while url is None and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
            url = re.search(r"http://127\.0\.0\.1:\d+/", Path(log.name).read_text())
        if url is None:
            raise SystemExit(f"cannot start {' '.join(args)}: see {log.name}")
        yield process.pid, url.group(0)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        finally:
            process.kill()  # nothing once it has ended


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=120) as answer:
        return answer.read()


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]


def set_up(db: Path, scratch: Path, events: int, spread: int
           ) -> tuple[int, int, list[tuple[str, str]], list[str], list[str]]:
    """The archive, ready to serve; (events, days, [(label, page path)], the paths of
    `spread` event pages from all over the archive, words of the events in a random order:
    each found in 50 to 40,000 events)."""
    with Archive(Settings(db=db, workers=1)) as archive:
        count = make_archive(archive, events)
        archive.resolve()
        archive.relate()
        store, days = archive.store, archive.store.day_counts()
        archive.build(scratch, search=False, formats=("json",),
                      since=date.fromisoformat(days[-1][0]))
        if store.unpublished_event() is not None:
            raise SystemExit("the build left events without a path: the live server would "
                             "serve the state before it")
        busy = max(days, key=lambda d: d[1])[0]
        first = store.events_of_day(date.fromisoformat(busy), include_removed=False)[0]
        day, slug = store.event_slugs([first.id])[first.id]
        counts = store.entity_event_counts()
        hub = max(counts, key=lambda title: counts[title])
        entity = store.entity_slugs([hub])[hub]
        ids = [row[0] for row in store.conn.execute(
            "SELECT id FROM events WHERE removed = 0 ORDER BY id")]
        chosen = ids[::max(1, len(ids) // spread)][:spread]
        many = [urls.event_path(*at) for at in store.event_slugs(chosen).values()]
        store.conn.execute("CREATE VIRTUAL TABLE temp.words USING fts5vocab(main, fts_events, "
                           "row)")
        words = [term for term, in store.conn.execute(
            "SELECT term FROM temp.words WHERE doc BETWEEN 50 AND 40000") if term.isalpha()]
        random.Random(1).shuffle(words)
    pages = [("event page", urls.event_path(day, slug)),
             (f"day page ({busy})", urls.day_path(date.fromisoformat(busy))),
             (f"entity page ({hub}, {counts[hub]:,} events)", urls.entity_path(entity))]
    return count, len(days), pages, many, words


def copy_pages(live_url: str, pages: list[tuple[str, str]], many: list[str], static: Path
               ) -> None:
    """The pages in every format (the many event pages in HTML), as the live server answers
    them, where `build` puts them."""
    names = [urls.file_for(path, ext) for _, path in pages for ext in urls.FORMATS]
    for name in names + [urls.file_for(path, "html") for path in many]:
        (static / name).parent.mkdir(parents=True, exist_ok=True)
        (static / name).write_bytes(fetch(live_url + name))


def measure(args: argparse.Namespace, db: Path, tmp: Path, pages: list[tuple[str, str]],
            many: list[str], words: list[str]) -> tuple[float, list[float], float]:
    """Both servers under load, a line per target; the live/static throughput of the event
    page, the live workers' and the static server's memory (MB)."""
    entity = pages[2][1].rsplit("/", 1)[1]
    targets = [(label, [urls.file_for(path, "html")]) for label, path in pages]
    targets.insert(1, (f"event pages, each asked once ({len(many):,})",
                       [urls.file_for(path, "html") for path in many]))
    targets += [("/" + path, [path]) for path in (f"api/v1/events?entity={quote(entity)}",
                                                  f"api/v1/search?q={WORD}",
                                                  f"api/v1/events?q={WORD}")]
    half = len(words) // 2
    targets += [(f"/api/v1/search?q=<{half:,} words, each once>",
                 [f"api/v1/search?q={quote(word)}" for word in words[:half]]),
                (f"/api/v1/events?q=<{len(words) - half:,} words, each once>",
                 [f"api/v1/events?q={quote(word)}" for word in words[half:]])]
    serving = ["-m", "newscontext", "--db", str(db), "serve", "--port", "0",
               "--workers", str(args.workers)]
    with open(tmp / "copy.log", "w") as log, running(serving, log) as (_, url):
        copy_pages(url, pages, many, tmp / "static")  # by a server of its own: the measured
        sizes = {label: len(fetch(url + found[0])) for label, found in targets}  # starts cold
    ratio = 0.0
    static_serving = ["-m", "newscontext", "serve", str(tmp / "static"), "--port", "0"]
    with open(tmp / "live.log", "w") as live_log, open(tmp / "static.log", "w") as static_log, \
            running(serving, live_log) as (live, live_url), \
            running(static_serving, static_log) as (static, static_url):
        print(f"{'target':48} {'bytes':>9} {'live r/s':>9} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'errors':>7} | {'static':>9} {'p50 ms':>7} {'p99 ms':>7} {'errors':>7}")
        for label, found in targets:  # the static folder holds pages, not answers
            paths = ["/" + target for target in found]
            live_run = load(live_url, paths, args.connections, args.seconds)
            static_run = (load(static_url, paths, args.connections, args.seconds)
                          if found[0].endswith(".html") else None)
            if static_run is not None and label == "event page":
                ratio = len(live_run.latencies) / max(1, len(static_run.latencies))
            shown = label
            if len(paths) > 1 and live_run.asked > len(paths):
                shown = label.replace(" once", " once+")  # the list wrapped: some asked again
            print(f"{shown[:48]:48} {sizes[label]:9,} {row(live_run, args.seconds)}"
                  + (f" | {row(static_run, args.seconds)}" if static_run else ""),
                  flush=True)
        workers = Path(f"/proc/{live}/task/{live}/children").read_text()
        memory = [rss_mb(int(pid)) for pid in workers.split()]
        static_memory = rss_mb(static)
    for name in ("live", "static"):
        faults = (tmp / f"{name}.log").read_text().count("Traceback")
        if faults:
            print(f"the {name} server logged {faults} tracebacks")
    return ratio, memory, static_memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=150_000)
    parser.add_argument("--workers", type=int, default=2, help="live server processes")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0, help="counted load per target")
    parser.add_argument("--spread", type=int, default=20_000,
                        help="event pages asked once each (a live worker has made none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        began = time.perf_counter()
        count, days, pages, many, words = set_up(tmp / "archive.sqlite3", tmp / "scratch",
                                                 args.events, args.spread)
        print(f"newscontext serve: {count:,} events over {days:,} days (resolved, related; "
              f"set up in {time.perf_counter() - began:.0f} s); {os.cpu_count()} cores, load "
              f"average {os.getloadavg()[0]:.1f}; {args.workers} live workers; "
              f"{args.connections} connections x {args.seconds:g} s per target", flush=True)
        with open(tmp / "trivial.log", "w") as log, running(["-c", TRIVIAL], log) as (_, url):
            ceiling = load(url, ["/"], args.connections, args.seconds)
        print("client ceiling (against a trivial server answering 'ok'): {:,.0f} requests/s, "
              "p50 {:.1f} ms, p99 {:.1f} ms, {} errors".format(*figures(ceiling, args.seconds)),
              flush=True)
        ratio, memory, static_memory = measure(args, tmp / "archive.sqlite3", tmp, pages,
                                               many, words)
    print(f"event page, live/static throughput: {ratio:.2f}; "
          f"load average now {os.getloadavg()[0]:.1f}")
    print("live workers' memory (VmRSS after the run): "
          + ", ".join(f"{mb:.0f} MB" for mb in memory)
          + f"; the static server's: {static_memory:.0f} MB")


if __name__ == "__main__":
    main()
