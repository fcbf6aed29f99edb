"""Servers for the tests: the hardened server `serve` runs, in a thread on a free port of
127.0.0.1 (real HTTP, no test client), and a newer revision of a fixture day that rewords
an event, so that a server has an old path to redirect."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from conftest import export_xml, wikitext

from newscontext import Archive, Settings, httpd

JIHADI = "confirms the death of militant [[Jihadi John]] in an airstrike in November."
JIHADI_REWORDED = "says that militant [[Jihadi John]] died in a November airstrike in [[Raqqa]]."


@contextmanager
def in_thread(server: httpd.HardenedServer) -> Iterator[int]:
    """Run `server` (made by `httpd.server` or `serve.server`) in a thread on a free port
    of 127.0.0.1 while the block runs; yields the port."""
    sock = httpd.bind("127.0.0.1", 0)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.02)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


@contextmanager
def running(app: Any, settings: Settings) -> Iterator[int]:
    """The hardened server `serve` runs, for an ASGI `app`, in a thread; yields the port."""
    with in_thread(httpd.server(app, settings, log_level="warning")) as port:
        yield port


def reword(folder: Path, db: Path) -> None:
    """A newer revision of 2016-01-19 that rewords one event (its old path: a redirect)."""
    stamp = (datetime.now(UTC) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    export = folder / "reworded.xml"
    export.write_text(export_xml({date(2016, 1, 19): [
        (900_000_001, stamp, wikitext("2016-01-19").replace(JIHADI, JIHADI_REWORDED))]}),
        encoding="utf-8")
    with Archive(Settings(db=db)) as archive:
        assert archive.ingest_paths([export]).changed == 1


T = TypeVar("T")


def at_once(ask: Callable[[], T], times: int = 4) -> list[T]:
    """What `ask` gave in each of `times` threads started together (as clients asking
    the same at once)."""
    answers: list[T] = []
    askers = [threading.Thread(target=lambda: answers.append(ask())) for _ in range(times)]
    for asker in askers:
        asker.start()
    for asker in askers:
        asker.join(30)
    return answers
