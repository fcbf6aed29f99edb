"""PortalAPI against a real local HTTP server that answers like the MediaWiki Action API."""

from __future__ import annotations

import logging
import re
import socket
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest

# Importing fake_wiki_fixture makes the `fake_wiki` fixture available here.
from mwapi import FakeWiki, fixture_title

from newscontext.portal.api import DayResult, PortalAPI, day_of_title, day_title
from newscontext.settings import Settings

WIKITEXT = Path(__file__).parent / "fixtures" / "wikitext"
WEEK = [date(2016, 1, 13) + timedelta(days=n) for n in range(7)]
# From the fixtures' revid_map.tsv, written out so a misread map cannot hide.
WEEK_REVIDS = {
    date(2016, 1, 13): 1076149936,
    date(2016, 1, 14): 1131708816,
    date(2016, 1, 15): 1185673485,
    date(2016, 1, 16): 1091748875,
    date(2016, 1, 17): 1091749310,
    date(2016, 1, 18): 1091776584,
    date(2016, 1, 19): 1295480778,
}
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def settings_for(url: str, **overrides: Any) -> Settings:
    """Settings for the fake: tiny backoff so failing tests stay fast."""
    values: dict[str, Any] = {
        "api_url": url,
        "api_retries": 3,
        "api_timeout": 5.0,
        "api_backoff_base": 0.01,
        "api_max_backoff": 5.0,
    }
    return Settings(**(values | overrides))


def fetch(
    settings: Settings, days: list[date], known: dict[date, int] | None = None
) -> list[DayResult]:
    with PortalAPI(settings) as api:
        return list(api.fetch_days(days, known or {}))


def wikitext(day: date) -> str:
    with (WIKITEXT / f"{day.isoformat()}.wiki").open(encoding="utf-8", newline="") as file:
        return file.read()


def gaps(wiki: FakeWiki) -> list[float]:
    """Seconds between consecutive requests, as the server saw them."""
    times = [request.at for request in wiki.requests]
    return [later - earlier for earlier, later in pairwise(times)]


@pytest.mark.parametrize(
    ("day", "title"),
    [
        (date(2016, 1, 19), "Portal:Current events/2016 January 19"),
        (date(2016, 1, 5), "Portal:Current events/2016 January 5"),
        (date(2002, 7, 1), "Portal:Current events/2002 July 1"),
        (date(2000, 2, 29), "Portal:Current events/2000 February 29"),
        (date(2026, 12, 31), "Portal:Current events/2026 December 31"),
    ],
)
def test_day_titles_round_trip(day: date, title: str) -> None:
    assert day_title(day) == title
    assert day_of_title(title) == day
    assert day_of_title(title.replace(" ", "_")) == day


@pytest.mark.parametrize(
    "title",
    [
        "Portal:Current events/2015 February 29",
        "Portal:Current events/2016 Januar 19",
        "Portal:Current events/January 2016",
        "Portal:Current events",
        "Main Page",
    ],
)
def test_other_titles_are_not_days(title: str) -> None:
    assert day_of_title(title) is None


def test_fetches_a_week_exactly(fake_wiki: FakeWiki) -> None:
    results = fetch(settings_for(fake_wiki.url), WEEK)

    assert [result.date for result in results] == WEEK
    for result in results:
        assert result.error is None and not result.missing and not result.unchanged
        revision = result.revision
        assert revision is not None
        assert revision.text == wikitext(result.date)
        assert revision.revid == WEEK_REVIDS[result.date]
        assert revision.format == "wikitext"
        assert revision.origin == f"api:{fixture_title(result.date)}"
        assert revision.timestamp == fake_wiki.latest(fixture_title(result.date)).timestamp
        assert ISO_UTC.fullmatch(revision.timestamp)
    # Nothing known yet: no revision-id request, the content comes in one request.
    assert len(fake_wiki.requests_for("info")) == 0
    assert len(fake_wiki.requests_for("revisions")) == 1


def test_every_request_identifies_itself_and_sends_maxlag(fake_wiki: FakeWiki) -> None:
    agent = "newscontext-tests/1.0 (mailto:tests@example.org)"
    fetch(settings_for(fake_wiki.url, user_agent=agent, api_maxlag=3), WEEK[:2])

    fetch(settings_for(fake_wiki.url, user_agent=agent, api_maxlag=3), WEEK[:2],
          {WEEK[0]: WEEK_REVIDS[WEEK[0]]})

    assert [r.params["prop"] for r in fake_wiki.requests] == ["revisions", "info", "revisions"]
    for request in fake_wiki.requests:
        assert request.headers["user-agent"] == agent
        assert request.params["maxlag"] == "3"
        assert request.params["action"] == "query"
        assert request.params["format"] == "json"
        assert request.params["formatversion"] == "2"
    revisions = fake_wiki.requests_for("revisions")[0].params
    assert revisions["rvslots"] == "main"
    assert set(revisions["rvprop"].split("|")) >= {"ids", "timestamp", "content"}


def test_sixty_days_go_in_batches_of_at_most_fifty(fake_wiki: FakeWiki) -> None:
    days = [date(2016, 1, 1) + timedelta(days=n) for n in range(60)]
    results = fetch(settings_for(fake_wiki.url), days)

    assert [result.date for result in results] == days
    assert [len(request.titles) for request in fake_wiki.requests_for("revisions")] == [50, 10]
    assert all(len(request.titles) <= 50 for request in fake_wiki.requests)
    for result in results:
        if result.date in WEEK_REVIDS:
            assert result.revision is not None and result.revision.text == wikitext(result.date)
        else:
            assert result.missing and result.revision is None and result.error is None
    assert fake_wiki.requests_for("info") == []


def test_known_revisions_are_not_fetched_again(fake_wiki: FakeWiki) -> None:
    settings = settings_for(fake_wiki.url)
    first = fetch(settings, WEEK)
    known = {r.date: r.revision.revid for r in first if r.revision and r.revision.revid}
    assert len(known) == 7

    second = fetch(settings, WEEK, known)

    assert [result.date for result in second] == WEEK
    assert all(result.unchanged and result.revision is None for result in second)
    assert len(fake_wiki.requests_for("revisions")) == 1  # the first run's only
    assert len(fake_wiki.requests_for("info")) == 1  # the second run's only


def test_a_newer_revision_is_fetched(fake_wiki: FakeWiki) -> None:
    day = date(2016, 1, 17)
    edited = wikitext(day) + "\n*A late addition. [https://example.org/news (Example)]"
    revision = fake_wiki.add_revision(fixture_title(day), edited)

    results = fetch(settings_for(fake_wiki.url), WEEK, WEEK_REVIDS)

    by_day = {result.date: result for result in results}
    assert by_day[day].revision is not None
    assert by_day[day].revision.text == edited
    assert by_day[day].revision.revid == revision.revid != WEEK_REVIDS[day]
    assert all(by_day[other].unchanged for other in WEEK if other != day)
    (content_request,) = fake_wiki.requests_for("revisions")
    assert content_request.titles == [fixture_title(day)]


def test_continued_answers_are_merged(fake_wiki: FakeWiki) -> None:
    fake_wiki.revisions_per_response = 2

    results = fetch(settings_for(fake_wiki.url), WEEK)

    assert [r.revision.text if r.revision else None for r in results] == [
        wikitext(day) for day in WEEK
    ]
    requests = fake_wiki.requests_for("revisions")
    assert len(requests) == 4
    assert all("rvcontinue" in request.params for request in requests[1:])


def test_503_is_retried_after_the_servers_retry_after(fake_wiki: FakeWiki) -> None:
    fake_wiki.fail_requests(1, status=503, retry_after="1")

    (result,) = fetch(settings_for(fake_wiki.url, api_max_backoff=5.0), [WEEK[-1]])

    assert result.revision is not None and result.revision.text == wikitext(WEEK[-1])
    assert len(fake_wiki.requests) == 2  # failed revisions, revisions
    assert fake_wiki.requests[0].params == fake_wiki.requests[1].params
    assert 0.99 <= gaps(fake_wiki)[0] < 4  # Retry-After: 1, not the 0.01 s backoff base


def test_retry_after_is_capped(fake_wiki: FakeWiki) -> None:
    fake_wiki.fail_requests(1, status=429, retry_after="30")

    (result,) = fetch(settings_for(fake_wiki.url, api_max_backoff=0.2), [WEEK[0]])

    assert result.revision is not None
    assert 0.2 <= gaps(fake_wiki)[0] < 5


def test_backoff_without_retry_after_doubles(fake_wiki: FakeWiki) -> None:
    fake_wiki.fail_requests(2, status=502, retry_after=None)

    (result,) = fetch(settings_for(fake_wiki.url, api_backoff_base=0.2), [WEEK[0]])

    assert result.revision is not None
    first, second = gaps(fake_wiki)[:2]
    assert 0.2 <= first < 0.4 <= second


def test_maxlag_is_retried_after_the_servers_retry_after(fake_wiki: FakeWiki) -> None:
    fake_wiki.answer_maxlag(1, retry_after="1")

    (result,) = fetch(settings_for(fake_wiki.url), [WEEK[0]])

    assert result.revision is not None and result.revision.revid == WEEK_REVIDS[WEEK[0]]
    assert len(fake_wiki.requests) == 2
    assert 0.99 <= gaps(fake_wiki)[0] < 4


def test_a_failing_batch_does_not_stop_the_next(
    fake_wiki: FakeWiki, caplog: pytest.LogCaptureFixture
) -> None:
    broken = date(2016, 1, 14)
    fake_wiki.always_fail(fixture_title(broken))
    settings = settings_for(fake_wiki.url, api_batch=4, api_retries=3)

    with caplog.at_level(logging.INFO, logger="newscontext.api"):
        results = fetch(settings, WEEK)

    assert [result.date for result in results] == WEEK
    failed, succeeded = results[:4], results[4:]
    for result in failed:
        assert result.revision is None and result.error is not None
        assert result.date.isoformat() in result.error
        assert "HTTP 500" in result.error and "3 tries" in result.error
    for result in succeeded:
        assert result.error is None and result.revision is not None
        assert result.revision.text == wikitext(result.date)
    tries = [r for r in fake_wiki.requests if fixture_title(broken) in r.titles]
    assert len(tries) == 3
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(broken.isoformat() in message for message in errors)


def test_other_api_errors_become_day_errors_without_retries(fake_wiki: FakeWiki) -> None:
    days = [date(2016, 1, 1) + timedelta(days=n) for n in range(60)]

    results = fetch(settings_for(fake_wiki.url, api_batch=60), days)

    assert len(fake_wiki.requests) == 1
    assert len(results) == 60
    for result in results:
        assert result.error is not None and result.date.isoformat() in result.error
        assert "toomanyvalues" in result.error and "The limit is 50" in result.error


def test_network_errors_become_day_errors() -> None:
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    (result,) = fetch(settings_for(f"http://127.0.0.1:{port}/w/api.php"), [WEEK[0]])

    assert result.error is not None
    assert "2016-01-13" in result.error and "ConnectError" in result.error


def test_a_shared_client_is_left_open(fake_wiki: FakeWiki) -> None:
    with httpx.Client() as client:
        with PortalAPI(settings_for(fake_wiki.url), client) as api:
            (result,) = api.fetch_days([WEEK[0]], {})
        assert not client.is_closed
    assert result.revision is not None


def test_the_fake_normalizes_titles_like_the_api(fake_wiki: FakeWiki) -> None:
    asked = "Portal:Current_events/2016_January_19"
    params = {"action": "query", "format": "json", "formatversion": "2", "prop": "info"}

    body = httpx.get(fake_wiki.url, params=params | {"titles": asked}).json()

    assert body["query"]["normalized"] == [
        {"fromencoded": False, "from": asked, "to": fixture_title(WEEK[-1])}
    ]
    (page,) = body["query"]["pages"]
    assert page["title"] == fixture_title(WEEK[-1])
    assert page["lastrevid"] == WEEK_REVIDS[WEEK[-1]]
