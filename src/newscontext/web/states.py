"""Which state of the archive a worker serves: a finished one. While `update` writes (it
holds the archive's lock) or while some event has no path yet (ingested, not yet built), the
worker stays on the state it serves; once the archive is finished again, it moves to it.

One `States` per worker watches the archive for the pages (web/live.py) and the API
(web/api.py) alike: about once a second (`LOOK_EVERY`) it looks whether another state was
committed (`PRAGMA data_version`), and moves to it when it is finished. It gives read-only
connections on the state it serves, several at once (one per thread asking): every
connection holds a read transaction on that same state. A state's first connection is taken
when the worker moves to it; more are opened while the archive is still at that state (no
commit since: the watcher's `data_version` is the state's); once the archive has moved on,
requests share the connections the state has.
What is kept for a state (the answers made, in `Made`) and for a connection (its page model)
is dropped with it: a retired state's connections are closed as they come back.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .. import __version__, httpd
from ..lock import archive_lock, held_elsewhere
from ..settings import Settings
from ..site.render.feeds import EPOCH, parse_time
from ..store import Store, StoreError

log = httpd.log
LOOK_EVERY = 1.0  # seconds between two looks for a newer state of the archive
CONNECTIONS = 4  # threads of a worker reading the archive at once (pages and API together)
# Seconds past the query deadline a request waits for another thread making the same
# answer (rendering after the queries is not under the deadline), then makes it itself.
WAIT = 5.0
T = TypeVar("T")


def unfinished(store: Store, db: Path) -> str | None:
    """Why the state `store`'s read transaction sees is not a finished one (None: it is):
    an update holds the archive's lock, or an event has no path yet. Ask it after the
    transaction's first read, so the lock is looked at once the state is fixed."""
    if held_elsewhere(archive_lock(db)):
        return "an update is writing"
    event = store.unpublished_event()
    if event is not None:
        return (f"event {event} has no path yet (it is published by the next "
                "`newscontext build` or `update`)")
    return None


class Unavailable(Exception):
    """The archive cannot be read now (missing, busy, a query stopped): 503."""


# What a request is answered with in one state: a media type and bytes, a redirect's
# location (the query is added per request), or nothing (404).
Outcome = tuple[str, bytes] | str | None


class Made:
    """The outcomes of requests asked in one state, the most recently asked first, within
    `limit` bytes: a state's answers never change, so one asked again (a popular event, the
    front page) is sent without its queries and rendering. Kept in the state's `kept`, so
    dropped with it; safe for threads at once."""

    def __init__(self, limit: int):
        self.limit = limit
        self.size = 0
        self.kept: OrderedDict[str, tuple[Outcome, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[Outcome] | None:
        with self._lock:
            found = self.kept.get(key)
            if found is None:
                return None
            self.kept.move_to_end(key)
            return (found[0],)

    def put(self, key: str, outcome: Outcome) -> None:
        size = len(key) + 100 + (len(outcome[1]) if isinstance(outcome, tuple)
                                 else len(outcome or ""))
        if size > self.limit // 8:
            return  # one huge answer (a long feed) would push out hundreds of others
        with self._lock:
            old = self.kept.pop(key, None)
            if old is not None:
                self.size -= old[1]
            self.kept[key] = (outcome, size)
            self.size += size
            while self.size > self.limit:
                _, (_, dropped) = self.kept.popitem(last=False)
                self.size -= dropped


@dataclass(eq=False)
class Promise:
    """What the thread making an answer gives the others asking for it meanwhile: the answer
    (`value`), or the error it ended with; neither when it had nothing to share (its
    client's copy was current: 304)."""

    event: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    error: BaseException | None = None


class Makers:
    """The answers being made in one state: a request for one that another thread is making
    waits for that thread's answer (or error) rather than making it too. When an update
    finishes, every kept answer goes with the old state, and a popular page (the front page)
    is asked by many at once: made once, not once per thread of every worker. Kept in the
    state's `kept`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._making: dict[str, Promise] = {}

    def once(self, key: str, wait: float, make: Callable[[], T],
             shared: Callable[[T], bool] = lambda _: True,
             errors: tuple[type[BaseException], ...] = (Exception,)) -> T:
        """`make()`, unless another thread is making `key`: then what it made (when
        `shared` says it is for all) or the error it ended with (one of `errors`), after
        at most `wait` seconds; made here when it left nothing."""
        with self._first(key, wait) as (mine, promise):
            if mine:
                try:
                    value = make()
                except errors as exc:
                    promise.error = exc
                    raise
                if shared(value):
                    promise.value = value
                return value
            if promise.error is not None:
                raise promise.error  # the same error for the same request
            if promise.value is not None:
                return promise.value
        return make()  # nothing to share (a 304 for its maker's client), or too slow

    @contextmanager
    def _first(self, key: str, wait: float) -> Iterator[tuple[bool, Promise]]:
        """(True, promise): this thread makes `key` and sets the promise's value or error;
        others asking meanwhile wait until it is done. (False, promise): another made it
        (or `wait` seconds passed): its promise, to use if it holds something."""
        with self._lock:
            promise = self._making.get(key)
            mine = promise is None
            if promise is None:
                promise = self._making[key] = Promise()
        if not mine:
            promise.event.wait(wait)
            yield False, promise
            return
        try:
            yield True, promise
        finally:
            with self._lock:
                del self._making[key]
            promise.event.set()


@dataclass(eq=False)
class Reading:
    """One read-only connection in a read transaction on a state, and what the thread
    using it keeps made for that state (the page model); one thread at a time."""

    store: Store
    kept: dict[str, Any] = field(default_factory=dict)

    def keep(self, name: str, make: Callable[[], T]) -> T:
        """What is kept under `name` for this connection, made the first time asked."""
        if name not in self.kept:
            self.kept[name] = make()
        return self.kept[name]


@dataclass(eq=False)
class State:
    """One finished state: its marks and what HTTP names it by, its connections, what is
    kept for it (shared by the threads reading it: `keep`)."""

    marks: tuple
    version: int  # the watching connection's data_version when it was taken
    etag: str  # names the state (and what a page of it depends on besides)
    modified: float  # POSIX seconds of its newest write: Last-Modified
    idle: list[Reading]
    opened: int = 1
    growing: bool = True  # more connections can still be opened on it
    current: bool = True
    kept: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def keep(self, name: str, make: Callable[[], T]) -> T:
        """What is read once for the state and shared by its connections: made by the
        first thread asking (the others asking for it wait; the rest go on)."""
        if name not in self.kept:
            with self.lock:
                making = self.kept.setdefault(f"making {name}", threading.Lock())
            with making:
                if name not in self.kept:
                    self.kept[name] = make()
        return self.kept[name]


class States:
    """Read-only connections on the finished state a worker serves, for up to `size`
    threads at once (more wait for one to be free)."""

    def __init__(self, db: Path, settings: Settings, size: int = CONNECTIONS):
        self.db = Path(db)
        self.settings = settings
        self.size = size
        self.lock = threading.Condition()
        self.state: State | None = None
        self.watch: sqlite3.Connection | None = None
        self.looked = 0.0
        self._warned = False
        self.closed = False  # by `close`: no connection is opened again

    def current(self) -> State:
        """The state served now (looking for a newer finished one at most every second)."""
        with self.lock:
            return self._current()

    @contextmanager
    def reading(self) -> Iterator[tuple[Reading, State]]:
        """A connection on the current state (its transaction open) and the state."""
        reading, state = self._take()
        try:
            yield reading, state
        finally:
            self._give_back(reading, state)

    def _take(self) -> tuple[Reading, State]:
        with self.lock:
            while True:
                state = self._current()
                if state.idle:
                    return state.idle.pop(), state
                if state.growing and state.opened < self.size:
                    state.opened += 1
                    break
                self.lock.wait(LOOK_EVERY)
        try:  # opened outside the lock: other threads take idle connections meanwhile
            reading = self._open(state)
        except (StoreError, sqlite3.Error) as exc:  # e.g. a newer newscontext migrated it
            log.warning("cannot open another connection on the archive: %s", exc)
            reading = None
        except BaseException:
            with self.lock:
                state.opened -= 1
                self.lock.notify_all()
            raise
        if reading is None:  # the archive has moved on (or cannot be opened): share the
            # state's connections
            with self.lock:
                state.opened -= 1
                state.growing = False
            return self._take()
        return reading, state

    def _open(self, state: State) -> Reading | None:
        """Another connection on `state`, or None when the archive is no longer at it: its
        transaction's first read fixes what it sees; if no commit came since the state was
        taken (the watcher's `data_version` is the state's), that is the state. Equal marks
        alone are not enough: some commits change no mark (`reindex` renumbers the index)."""
        store = Store(self.db, readonly=True)
        try:
            store.conn.execute("BEGIN")
            same = store.state_marks() == state.marks
            with self.lock:
                same = same and self.watch is not None and state.version == self.watch.execute(
                    "PRAGMA data_version").fetchone()[0]
            if not same:
                store.close()
                return None
        except BaseException:
            store.close()
            raise
        return Reading(store)

    def _give_back(self, reading: Reading, state: State) -> None:
        with self.lock:
            if state.current:
                state.idle.append(reading)
            else:
                reading.store.close()
            self.lock.notify_all()

    def _current(self) -> State:
        """The state to serve (under `lock`): the one served, or a newer finished one."""
        if self.closed:
            raise Unavailable("the server is stopping")
        now = time.monotonic()
        if self.state is not None and now - self.looked < LOOK_EVERY:
            return self.state
        self.looked = now
        try:
            if self.watch is None:
                self.watch = Store(self.db, readonly=True).conn
            version = self.watch.execute("PRAGMA data_version").fetchone()[0]
            if self.state is None or version != self.state.version:
                fresh = self._fresh(version)
                if fresh is not None:
                    if self.state is not None:
                        self._retire(self.state)
                    self.state = fresh
        except (StoreError, sqlite3.Error) as exc:
            if self.state is None:
                raise Unavailable(str(exc)) from None
            log.warning("cannot look for a newer state of the archive: %s", exc)
        assert self.state is not None
        return self.state

    def _fresh(self, version: int) -> State | None:
        """The archive as it is now, if that is a finished state (or if there is no other
        to serve); None to stay on the current one."""
        if self.state is not None and held_elsewhere(archive_lock(self.db)):
            return None  # an update is writing: stay on the state before it
        store = Store(self.db, readonly=True)
        try:
            store.conn.execute("BEGIN")
            marks = store.state_marks()  # the first read: the transaction's state from here
            why = unfinished(store, self.db)
            if why is not None:
                if self.state is not None:
                    store.close()
                    return None
                if not self._warned:
                    self._warned = True
                    log.warning("%s: serving a state that is not finished: %s", self.db, why)
            times = [t for t in map(parse_time, store.newest_writes()) if t]
        except BaseException:
            store.close()
            raise
        settings = self.settings
        tag = repr((__version__, settings.site_url, settings.publish_full_text, marks))
        return State(marks=marks, version=version,
                     etag='W/"' + hashlib.sha256(tag.encode()).hexdigest()[:20] + '"',
                     modified=max(times, default=EPOCH).timestamp(), idle=[Reading(store)])

    def _retire(self, state: State) -> None:
        state.current = False
        for reading in state.idle:
            reading.store.close()
        state.idle.clear()
        self.lock.notify_all()

    def close(self) -> None:
        """Closes every connection; a request still waiting for one is answered 503."""
        with self.lock:
            self.closed = True
            if self.state is not None:
                self._retire(self.state)
                self.state = None
            if self.watch is not None:
                self.watch.close()
                self.watch = None
