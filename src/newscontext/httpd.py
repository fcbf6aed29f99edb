"""Running an ASGI app on a TCP port so that hostile or unlucky clients cannot stop it.

Both servers run through here: the static `serve DIR` and the live `serve --db`. uvicorn does
the HTTP (h11); this module adds what an unattended server on the open internet needs and
uvicorn leaves out:

- TCP_NODELAY on every connection. asyncio sets it only on sockets made with IPPROTO_TCP;
  without it a keep-alive request waits ~40 ms for Nagle and the client's delayed ACK,
  because uvicorn writes a response's head and body separately.
- A deadline for the request head (`serve_request_timeout`): uvicorn times out only idle
  keep-alive connections, so a client that connects and then sends nothing, or trickles a
  head a byte at a time, holds its connection (and a file descriptor) forever.
- A deadline for slow readers (`serve_send_timeout`): a client that takes none of an answer
  holds a connection and a file as long as it likes.
- A bound on open connections (`serve_max_connections`, fitted to the open-files limit). At
  the bound a new client takes the place of the connection that has waited longest for a
  request (idle or trickling), or gets a 503 when every connection is busy.
- Our own accept loop. asyncio's logs a traceback and schedules a retry for every pass of its
  accept loop while out of file descriptors (up to `backlog` per wake-up): 1,100 clients at
  1,024 open files wrote 21 MB of log in 20 s and starved every other client. Ours pauses
  one second and logs once.
- Log floods: a message that repeats (one per connection or per request) is logged once a
  minute with the count of those left out.

With several worker processes, bind the socket once in the parent and run
`server(...).run(sockets=[sock])` in each worker: the bound and the deadlines are per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from .settings import Settings

log = logging.getLogger("uvicorn.error")  # the server's own log: uvicorn's, one stream

BACKLOG = 2048  # uvicorn's default; Linux caps it at net.core.somaxconn
ACCEPT_BATCH = 64  # connections accepted per wake-up, so a flood cannot starve other work
ACCEPT_PAUSE = 1.0  # seconds before accepting again when out of file descriptors
FLOOD_WINDOW = 60.0  # seconds between two log lines of the same kind
GRACE = 5.0  # seconds open requests get to finish when the server is stopped
RESERVED_FILES = 32  # descriptors kept for what is not a connection (logs, the archive, ...)
OUT_OF_RESOURCES = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Length: 40\r\nRetry-After: 5\r\nConnection: close\r\n\r\n"
        b"Too many connections; try again shortly.")


class FloodFilter(logging.Filter):
    """Lets one record of a kind (logger, message template, exception type) through per
    window; the next one let through says how many were left out. `flush` reports the rest
    (at shutdown), so no count is lost."""

    def __init__(self, window: float = FLOOD_WINDOW):
        super().__init__()
        self.window = window
        self.last: dict[tuple[str, str, str], float] = {}
        self.left_out: dict[tuple[str, str, str], int] = {}

    @staticmethod
    def kind(record: logging.LogRecord) -> tuple[str, str, str]:
        error = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        return record.name, str(record.msg), error

    def filter(self, record: logging.LogRecord) -> bool:
        kind, now = self.kind(record), time.monotonic()
        last = self.last.get(kind)
        if last is not None and now - last < self.window:
            self.left_out[kind] = self.left_out.get(kind, 0) + 1
            return False
        self.last[kind] = now
        count = self.left_out.pop(kind, 0)
        if count:
            record.msg = f"{record.msg} ({count} more like this in the last " \
                         f"{now - last:.0f} s were not logged)"
        return True

    def flush(self, logger: logging.Logger) -> None:
        for (_, template, _), count in sorted(self.left_out.items()):
            logger.warning("%d more were not logged like this: %s", count, template.strip())
        self.left_out.clear()


def fit_open_files(wanted: int) -> int:
    """Connections the open-files limit allows, at most `wanted`: raises the soft limit
    towards the hard one if needed (a connection may hold a socket and the file it sends)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return wanted
    try:
        in_use = len(os.listdir("/proc/self/fd"))
    except OSError:
        in_use = 0
    need = 2 * wanted + in_use + RESERVED_FILES
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        raised = need if hard == resource.RLIM_INFINITY else min(need, hard)
        if raised > soft:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
                soft = raised
            except (ValueError, OSError):
                pass
    if soft == resource.RLIM_INFINITY or soft >= need:
        return wanted
    fits = max(1, (soft - in_use - RESERVED_FILES) // 2)
    log.warning("the open-files limit (%d) allows %d connections, not serve_max_connections="
                "%d: raise it (ulimit -n, or LimitNOFILE= in a systemd unit)", soft, fits, wanted)
    return fits


class Gate:
    """What a server's connections share: the limits, and the connections waiting for a
    request (new, idle or trickling), oldest first: the ones to close at the bound."""

    def __init__(self, settings: Settings, max_connections: int):
        self.max_connections = max_connections
        self.request_timeout = settings.serve_request_timeout
        self.send_timeout = settings.serve_send_timeout
        self.waiting: dict[GuardedH11, None] = {}

    def evict(self) -> bool:
        """Close the connection that has waited longest for a request; False if none waits."""
        if not self.waiting:
            return False
        oldest = next(iter(self.waiting))
        oldest.stop_waiting()
        oldest.transport.abort()
        return True


class GuardedH11(H11Protocol):
    """uvicorn's h11 protocol with deadlines: a new connection must send a whole request head
    within `request_timeout`, and so must an idle keep-alive one from the first byte of its
    next request (uvicorn's keep-alive timeout governs the idle time before it); a connection
    whose answer is stuck because the client reads none of it is closed after
    `send_timeout`."""

    def __init__(self, gate: Gate, **kwargs: Any):
        super().__init__(**kwargs)
        self.gate = gate
        self.deadline: asyncio.TimerHandle | None = None
        self.stall: asyncio.TimerHandle | None = None
        self.idle_cycle: object = None  # the finished request the connection waits after

    on_made: Callable[[], None] | None = None  # the acceptor's count of pending connections

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        if self.on_made is not None:
            self.on_made()
        self.wait(deadline=True)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self not in self.gate.waiting:
            return
        if self.cycle is not self.idle_cycle:  # a whole request head arrived
            self.stop_waiting()
        elif self.deadline is None and not self.transport.is_closing():
            self.deadline = self.loop.call_later(self.gate.request_timeout, self.expired)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.cycle.response_complete:
            self.wait(deadline=False)  # idle: uvicorn's keep-alive timer runs

    def connection_lost(self, exc: Exception | None) -> None:
        self.stop_waiting()
        if self.stall is not None:
            self.stall.cancel()
            self.stall = None
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        super().pause_writing()
        if self.stall is None:
            self.stall = self.loop.call_later(self.gate.send_timeout, self.stalled)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self.stall is not None:
            self.stall.cancel()
            self.stall = None

    def wait(self, deadline: bool) -> None:
        """Wait for a request (the newest waiter goes last in the gate's order)."""
        self.stop_waiting()
        self.idle_cycle = self.cycle
        self.gate.waiting[self] = None
        if deadline:
            self.deadline = self.loop.call_later(self.gate.request_timeout, self.expired)

    def stop_waiting(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None
        self.gate.waiting.pop(self, None)

    def expired(self) -> None:
        self.deadline = None
        partial = bool(self.conn.trailing_data[0])  # bytes of a head not yet whole
        self.stop_waiting()
        if partial:
            log.warning("closed a connection from %s that sent no whole request in %g s "
                        "(serve_request_timeout)", self.client and self.client[0],
                        self.gate.request_timeout)
        self.transport.abort()

    def stalled(self) -> None:
        self.stall = None
        log.warning("closed a connection from %s that read none of its answer in %g s "
                    "(serve_send_timeout)", self.client and self.client[0],
                    self.gate.send_timeout)
        self.transport.abort()


class Acceptor:
    """Accepts connections on a listening socket: NODELAY on each, the connection bound, and a
    pause (logged once) while out of file descriptors."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket,
                 make_protocol: Callable[[], GuardedH11], connections: set[Any], gate: Gate):
        self.loop, self.sock, self.make_protocol = loop, sock, make_protocol
        self.connections, self.gate = connections, gate
        self.pending = 0  # accepted, protocol not yet made
        self.resume: asyncio.TimerHandle | None = None
        sock.listen(BACKLOG)  # as asyncio's create_server does; a listening socket is unchanged
        sock.setblocking(False)

    def start(self) -> None:
        self.resume = None
        self.loop.add_reader(self.sock.fileno(), self.ready)

    def stop(self) -> None:
        if self.resume is not None:
            self.resume.cancel()
        if self.sock.fileno() >= 0:
            self.loop.remove_reader(self.sock.fileno())

    def ready(self) -> None:
        for _ in range(ACCEPT_BATCH):
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in OUT_OF_RESOURCES:
                    log.error("cannot accept connections: %s; trying again every %g s "
                              "(raise the open-files limit or lower serve_max_connections)",
                              exc.strerror, ACCEPT_PAUSE)
                    self.loop.remove_reader(self.sock.fileno())
                    self.resume = self.loop.call_later(ACCEPT_PAUSE, self.start)
                    return
                log.warning("accepting a connection failed: %s", exc.strerror)
                continue
            self.admit(conn)

    def open_connections(self) -> int:
        count = len(self.connections) + self.pending
        if count >= self.gate.max_connections:  # closed ones leave the set a moment later
            count = self.pending + sum(1 for c in self.connections
                                       if not c.transport.is_closing())
        return count

    def admit(self, conn: socket.socket) -> None:
        conn.setblocking(False)
        if conn.family in (socket.AF_INET, socket.AF_INET6):
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.open_connections() >= self.gate.max_connections:
            if not self.gate.evict():
                log.warning("%d connections open, none idle (serve_max_connections): "
                            "answering new ones 503", self.gate.max_connections)
                refuse(conn)
                return
            log.warning("%d connections open (serve_max_connections): closing the ones that "
                        "waited longest for a request to admit new ones",
                        self.gate.max_connections)
        self.pending += 1
        self.loop.create_task(self.connect(conn))

    async def connect(self, conn: socket.socket) -> None:
        counted = False

        def done() -> None:  # once: when the connection joins the set, or fails
            nonlocal counted
            if not counted:
                counted = True
                self.pending -= 1

        def protocol() -> GuardedH11:
            made = self.make_protocol()
            made.on_made = done  # counted in the set from then on, not twice
            return made

        try:
            await self.loop.connect_accepted_socket(protocol, conn)
        except OSError:
            conn.close()
        finally:
            done()


def refuse(conn: socket.socket) -> None:
    """Answer 503 and close, reading what the client sent first so the close is not a reset
    that could discard the answer before the client reads it."""
    with contextlib.suppress(OSError):
        conn.recv(65536)
    with contextlib.suppress(OSError):
        conn.send(BUSY)
    conn.close()


class HardenedServer(uvicorn.Server):
    """A uvicorn server whose connections are accepted by `Acceptor` and spoken to by
    `GuardedH11`. Run it with `.run(sockets=[bind(...)])`."""

    def __init__(self, config: uvicorn.Config, settings: Settings):
        super().__init__(config)
        self.settings = settings
        self.acceptors: list[Acceptor] = []
        self.flood = FloodFilter()
        self.gate: Gate | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        if not sockets:
            raise ValueError("a HardenedServer runs on the sockets it is given (see bind)")
        log.addFilter(self.flood)
        await super().startup(sockets=[])  # lifespan; uvicorn listens on nothing itself
        if not self.started:
            return
        loop = asyncio.get_running_loop()
        self.gate = gate = Gate(self.settings, fit_open_files(self.settings.serve_max_connections))

        def make_protocol() -> GuardedH11:
            return GuardedH11(gate, config=self.config, server_state=self.server_state,
                              app_state=self.lifespan.state, _loop=loop)

        for sock in sockets:
            acceptor = Acceptor(loop, sock, make_protocol, self.server_state.connections, gate)
            acceptor.start()
            self.acceptors.append(acceptor)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for acceptor in self.acceptors:
            acceptor.stop()
        try:
            await super().shutdown(sockets=sockets)
        finally:
            log.removeFilter(self.flood)
            self.flood.flush(log)


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening TCP socket (port 0: any free port). Made with IPPROTO_TCP, as uvicorn's
    own are, so that every layer treats its connections as TCP."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def server(app: Any, settings: Settings, log_level: str = "info",
           access_log: bool | None = None, lifespan: str = "off") -> HardenedServer:
    """A hardened uvicorn server for `app` (call `.run(sockets=[bind(...)])`); access log
    by default at the levels that show it."""
    config = uvicorn.Config(
        app, log_level=log_level, lifespan=lifespan, ws="none",  # type: ignore[arg-type]
        backlog=BACKLOG,
        access_log=log_level in ("info", "debug") if access_log is None else access_log,
        timeout_keep_alive=settings.serve_keep_alive,  # type: ignore[arg-type]
        timeout_graceful_shutdown=GRACE,  # type: ignore[arg-type]
    )
    return HardenedServer(config, settings)


def url_for(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def run(app: Any, settings: Settings, host: str = "127.0.0.1", port: int = 8000,
        ready: Callable[[str], None] | None = None, log_level: str = "info") -> None:
    """Serve `app` until interrupted; `ready` gets its URL once the port is bound (port 0
    picks a free one). Raises OSError when the port cannot be bound."""
    sock = bind(host, port)
    try:
        if ready is not None:
            ready(url_for(host, sock.getsockname()[1]))
        server(app, settings, log_level).run(sockets=[sock])
    finally:
        sock.close()


RESTART_PAUSE = 1.0  # seconds before a worker that died is replaced (no fork loop)


class _Stop(Exception):
    """SIGTERM in the parent of worker processes."""


def run_workers(make_app: Callable[[], Any], settings: Settings, host: str = "127.0.0.1",
                port: int = 8000, *, workers: int = 1,
                ready: Callable[[str], None] | None = None, log_level: str = "info") -> None:
    """Serve the app `make_app` makes in `workers` forked processes sharing one listening
    socket (one process: in this one). Each worker makes its own app after the fork, so
    nothing it opens (an archive's connection) is shared. A worker that dies is replaced;
    SIGTERM or Ctrl+C stops them all. Raises OSError when the port cannot be bound."""
    if workers <= 1:
        run(make_app(), settings, host, port, ready=ready, log_level=log_level)
        return
    import signal

    from .workers import _start

    sock = bind(host, port)
    parent = os.getpid()
    children: dict[int, int] = {}  # pid -> worker number

    def start(number: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            code = 0
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                _start(parent)  # dies with the parent, holds none of its locks
                server(make_app(), settings, log_level).run(sockets=[sock])
            except BaseException:  # a worker ends here, whatever happened
                log.exception("worker %d failed", number)
                code = 1
            finally:
                os._exit(code)
        children[pid] = number

    def stop(signum: int, frame: object) -> None:
        raise _Stop

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        if ready is not None:
            ready(url_for(host, sock.getsockname()[1]))
        for number in range(workers):
            start(number)
        while True:
            pid, status = os.wait()
            number = children.pop(pid, None)
            if number is None:
                continue
            log.warning("worker %d (pid %d) ended (%s); starting another", number, pid,
                        f"exit {os.waitstatus_to_exitcode(status)}")
            time.sleep(RESTART_PAUSE)
            start(number)
    except (_Stop, KeyboardInterrupt):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + GRACE + 5
        while children:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid:
                children.pop(pid, None)
            elif time.monotonic() > deadline:
                for pid in children:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                deadline = float("inf")
            else:
                time.sleep(0.05)
        sock.close()
