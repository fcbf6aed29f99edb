"""Polite HTTP for the web's side: the only module that opens sockets to other sites.

News sites did not ask to be crawled, so every request is one a webmaster would accept:
a User-Agent that says who we are, robots.txt obeyed, one request at a time per host with a
pause between them, Retry-After honoured, bodies capped. And a cited URL is untrusted input
(anyone can edit the portal), so nothing is fetched from addresses that are not on the public
internet: every address a host name resolves to is checked, at connect time, for every hop of
a redirect chain, so neither a redirect nor a DNS answer that changes between a check and the
connection can reach the fetching machine's own network.

Every fetch ends in a `FetchResult` with one `Outcome`; nothing raises for a bad URL or a bad
server, because one broken source must not stop a crawl.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import logging
import socket
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from types import TracebackType
from typing import Self

import httpcore
import httpx
from protego import Protego

from ..ingest import utc_now
from ..settings import Settings

log = logging.getLogger("newscontext.fetch")

__all__ = ["DEAD", "HTML_TYPES", "FetchResult", "Fetcher", "Outcome", "address_problem"]


class Outcome(StrEnum):
    """How fetching one URL ended; stored as the source's status."""

    FETCHED = "fetched"
    NOT_FOUND = "not_found"  # 404, 410
    BLOCKED = "blocked"  # 401, 403, 451, or robots.txt says no
    PAYWALLED = "paywalled"  # 402
    TIMEOUT = "timeout"  # no answer in time, after retries
    TOO_LARGE = "too_large"
    NOT_HTML = "not_html"
    REFUSED = "refused"  # not a public http(s) address, no such host, connection refused
    ERROR = "error"  # anything else (5xx, too many redirects, protocol errors)


# Sources that are gone rather than unwilling: worth looking for in a web archive.
DEAD = frozenset({Outcome.NOT_FOUND, Outcome.TIMEOUT, Outcome.REFUSED})
HTML_TYPES = ("text/html", "application/xhtml+xml")

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_RETRY_STATUSES = frozenset({429, 503})
_STATUS_OUTCOMES = {
    402: Outcome.PAYWALLED,
    401: Outcome.BLOCKED,
    403: Outcome.BLOCKED,
    451: Outcome.BLOCKED,
    404: Outcome.NOT_FOUND,
    410: Outcome.NOT_FOUND,
}
# RFC 9309 asks crawlers to read at least 500 KiB of a robots.txt; more is not a robots.txt.
_ROBOTS_MAX_BYTES = 512 * 1024
_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one fetch gave: the outcome, where it ended, and the body when there is one.

    `redirects` lists the URLs that answered with a redirect, in order (the requested URL
    first when it redirected); `final_url` is the last URL asked. `status` is the last HTTP
    status seen, None when no answer came.
    """

    url: str
    outcome: Outcome
    final_url: str
    status: int | None = None
    redirects: tuple[str, ...] = ()
    content: bytes | None = None
    content_type: str | None = None
    message: str | None = None
    fetched_at: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.FETCHED


class Refused(Exception):
    """A connection not made: an address off the public internet, no such host, or the
    host would not accept it."""


def address_problem(address: str, *, allow_loopback: bool = False) -> str | None:
    """Why a connection to this IP address is refused, or None when it is public.

    IPv4 addresses inside IPv6 ones (mapped, 6to4, NAT64) are judged as what they reach.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.sixtofour is not None:
            ip = ip.sixtofour
        elif ip in _NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.is_loopback:
        return None if allow_loopback else "loopback"
    for problem in ("unspecified", "link_local", "multicast", "private", "reserved"):
        if getattr(ip, f"is_{problem}"):
            return problem.replace("_", "-")
    if not ip.is_global:
        return "non-public"
    return None


def _an_address(problem: str) -> str:
    """The problem as a phrase: "a private address", "an unspecified address"."""
    article = "an" if problem[:1].lower() in "aeiou" else "a"
    return f"{article} {problem} address"


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to public addresses: resolves the host itself, refuses it when any of
    its addresses is not public, then connects to the checked addresses in turn."""

    def __init__(self, allow_loopback: bool) -> None:
        self._allow_loopback = allow_loopback
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM
                )
        except socket.gaierror as exc:
            raise Refused(f"cannot resolve {host}: {exc.strerror}") from exc
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for address in addresses:
            problem = address_problem(address, allow_loopback=self._allow_loopback)
            if problem:
                named = f"{host} is" if address == host else f"{host} resolves to {address},"
                raise Refused(f"{named} {_an_address(problem)}")
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                failure = exc
        raise Refused(f"cannot connect to {host} port {port}: {failure}")


@dataclass(slots=True)
class _Answer:
    """One HTTP exchange, reduced to what the redirect and retry logic needs."""

    status: int
    outcome: Outcome
    location: str | None = None
    retry_after: str | None = None
    content: bytes | None = None
    content_type: str | None = None
    message: str | None = None


class _HostGate:
    """At most `slots` requests to one host at a time; a request starts `delay` seconds after
    the previous one started and after the last one ended. `hold` keeps every request to the
    host waiting longer (a Retry-After, a timeout)."""

    def __init__(self, slots: int, delay: float) -> None:
        self._slots = asyncio.Semaphore(max(1, slots))
        self._delay = delay
        self._not_before = 0.0

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        async with self._slots:
            now = asyncio.get_running_loop().time()
            start = max(now, self._not_before)
            self._not_before = start + self._delay  # reserved before sleeping: no race
            await asyncio.sleep(start - now)
            try:
                yield
            finally:
                self.hold(self._delay)

    def hold(self, seconds: float) -> None:
        until = asyncio.get_running_loop().time() + seconds
        self._not_before = max(self._not_before, until)


class _Robots:
    """A host's robots.txt rules: parsed, allow-all or disallow-all."""

    def __init__(self, rules: Protego | None = None, *, allow: bool = True) -> None:
        self._rules = rules
        self._allow = allow

    def allows(self, url: str, user_agent: str) -> bool:
        if self._rules is None:
            return self._allow
        return bool(self._rules.can_fetch(url, user_agent))


class Fetcher:
    """Fetches URLs politely and safely; one per crawl (it caches robots.txt per host, and a
    host whose robots.txt answered 5xx stays disallowed until the next crawl).

    Use inside a running event loop: `async with Fetcher(settings) as fetcher: ...`.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        transport = httpx.AsyncHTTPTransport(trust_env=False)
        # httpx has no public hook for httpcore's network backend; its pool holds one.
        transport._pool._network_backend = _GuardedBackend(settings.fetch_allow_loopback)
        self._client = httpx.AsyncClient(
            transport=transport,
            headers={"User-Agent": settings.user_agent, "Accept": _ACCEPT},
            timeout=settings.fetch_timeout,
            follow_redirects=False,  # followed here, each hop checked and recorded
            trust_env=False,  # a proxy would make the address checks meaningless
        )
        self._all = asyncio.Semaphore(max(1, settings.fetch_concurrency))
        self._hosts: dict[str, _HostGate] = {}
        self._robots: dict[str, asyncio.Task[_Robots]] = {}

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._client.aclose()

    async def fetch(
        self,
        url: str,
        *,
        accept: tuple[str, ...] | None = HTML_TYPES,
        robots: bool = True,
        max_bytes: int | None = None,
    ) -> FetchResult:
        """GET a URL, following redirects. `accept` lists the media types wanted (None:
        any); `robots=False` only for documented APIs, which are not crawled."""
        limit = max_bytes or self._settings.fetch_max_bytes
        hops: list[str] = []
        current = url

        def result(outcome: Outcome, message: str | None, answer: _Answer | None = None
                   ) -> FetchResult:
            return FetchResult(
                url=url, outcome=outcome, final_url=current,
                status=answer.status if answer else None, redirects=tuple(hops),
                content=answer.content if answer else None,
                content_type=answer.content_type if answer else None,
                message=message, fetched_at=utc_now(),
            )

        while True:
            try:
                target = httpx.URL(current)
            except httpx.InvalidURL as exc:
                return result(Outcome.ERROR, f"invalid URL: {exc}")
            if target.scheme not in ("http", "https") or not target.host:
                return result(Outcome.REFUSED, f"not an http(s) URL: {current}")
            if robots and not await self._robots_allow(target):
                return result(Outcome.BLOCKED, f"robots.txt disallows {current}")
            try:
                answer = await self._request(target, accept, limit)
            except Refused as exc:
                return result(Outcome.REFUSED, str(exc))
            except (httpx.TimeoutException, TimeoutError):
                return result(Outcome.TIMEOUT, f"no answer within {self._settings.fetch_timeout}"
                              f" s, {self._settings.fetch_retries + 1} tries")
            except (httpx.HTTPError, httpx.StreamError, OSError, ValueError) as exc:
                return result(Outcome.ERROR, f"{type(exc).__name__}: {exc}")
            if answer.status in _REDIRECTS and answer.location:
                if len(hops) >= self._settings.fetch_max_redirects:
                    return result(Outcome.ERROR, f"more than "
                                  f"{self._settings.fetch_max_redirects} redirects", answer)
                hops.append(current)
                try:
                    current = str(target.join(answer.location))
                except httpx.InvalidURL as exc:
                    return result(Outcome.ERROR, f"bad redirect {answer.location!r}: {exc}",
                                  answer)
                continue
            return result(answer.outcome, answer.message, answer)

    # -- one hop, with retries -------------------------------------------------------------

    async def _request(self, url: httpx.URL, accept: tuple[str, ...] | None,
                       limit: int) -> _Answer:
        """One URL, tried again after 429, 503 and timeouts, as the server asks."""
        settings = self._settings
        gate = self._gate(url)
        for attempt in range(settings.fetch_retries):
            backoff = min(settings.fetch_backoff_base * 2**attempt, settings.fetch_max_backoff)
            try:
                answer = await self._once(gate, url, accept, limit)
            except (httpx.TimeoutException, TimeoutError):
                log.info("%s timed out; trying again in %.1f s", url, backoff)
                gate.hold(backoff)
                continue
            if answer.status not in _RETRY_STATUSES:
                return answer
            wait = _retry_after(answer.retry_after)
            if wait is None:
                wait = backoff
            elif wait > settings.fetch_max_backoff:
                answer.message = f"{answer.message}; it asks to wait {wait:.0f} s"
                return answer
            log.info("%s answered %d; trying again in %.1f s", url, answer.status, wait)
            gate.hold(wait)
        return await self._once(gate, url, accept, limit)

    async def _once(self, gate: _HostGate, url: httpx.URL, accept: tuple[str, ...] | None,
                    limit: int) -> _Answer:
        # The host's turn first: waiting for a busy host must not take a global slot.
        async with (
            gate.turn(),
            self._all,
            asyncio.timeout(self._settings.fetch_timeout),
            self._client.stream("GET", url) as response,
        ):
            return await _read(response, accept, limit)

    def _gate(self, url: httpx.URL) -> _HostGate:
        gate = self._hosts.get(url.host)
        if gate is None:
            gate = self._hosts[url.host] = _HostGate(self._settings.fetch_per_host,
                                                     self._settings.fetch_host_delay)
        return gate

    # -- robots.txt ------------------------------------------------------------------------

    async def _robots_allow(self, url: httpx.URL) -> bool:
        origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
        task = self._robots.get(origin)
        if task is None:  # one fetch per origin, however many requests wait for it
            task = self._robots[origin] = asyncio.create_task(self._load_robots(origin))
        robots = await asyncio.shield(task)
        return robots.allows(str(url), self._settings.user_agent)

    async def _load_robots(self, origin: str) -> _Robots:
        """RFC 9309 as far as it is safe to follow: rules when there are some, everything
        allowed when the file is missing (4xx) or cannot be fetched at all, nothing allowed
        while the server fails (5xx, or rate limits we could not wait out)."""
        result = await self.fetch(f"{origin}/robots.txt", accept=None, robots=False,
                                  max_bytes=_ROBOTS_MAX_BYTES)
        if result.ok and result.content is not None:
            return _Robots(Protego.parse(result.content.decode("utf-8", "replace")))
        if result.status is not None and (result.status >= 500 or result.status == 429):
            log.warning("%s/robots.txt answered %d: not crawling the host this time",
                        origin, result.status)
            return _Robots(allow=False)
        return _Robots(allow=True)


async def _read(response: httpx.Response, accept: tuple[str, ...] | None,
                limit: int) -> _Answer:
    """The answer to one request: the body only when it is a wanted page of allowed size."""
    status = response.status_code
    if status in _REDIRECTS:
        return _Answer(status, Outcome.ERROR, location=response.headers.get("location"),
                       message=f"HTTP {status} without a Location")
    if not 200 <= status < 300:
        outcome = _STATUS_OUTCOMES.get(status, Outcome.ERROR)
        return _Answer(status, outcome, retry_after=response.headers.get("retry-after"),
                       message=f"HTTP {status} {response.reason_phrase}".rstrip())
    content_type = response.headers.get("content-type")
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if accept is not None and media and media not in accept:
        return _Answer(status, Outcome.NOT_HTML, content_type=content_type,
                       message=f"content type {media}")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return _Answer(status, Outcome.TOO_LARGE, content_type=content_type,
                       message=f"{declared} bytes announced, more than {limit}")
    body = bytearray()
    async for chunk in response.aiter_bytes():  # decoded: a gzip bomb counts as unpacked
        body += chunk
        if len(body) > limit:
            return _Answer(status, Outcome.TOO_LARGE, content_type=content_type,
                           message=f"more than {limit} bytes")
    return _Answer(status, Outcome.FETCHED, content=bytes(body), content_type=content_type)


def _retry_after(value: str | None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
