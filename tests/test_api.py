"""PortalAPI against a real local HTTP server that answers like the MediaWiki Action API."""

from __future__ import annotations

import logging
import re
import socket
from collections import Counter
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest

# Importing fake_wiki_fixture makes the `fake_wiki` fixture available here.
from mwapi import FakeWiki, LoggedRequest, fixture_title

from newscontext.portal.api import (
    DayResult,
    PortalAPI,
    TitleError,
    TitleInfo,
    day_of_title,
    day_title,
)
from newscontext.settings import Settings

WIKITEXT = Path(__file__).parent / "fixtures" / "wikitext"
TITLES = Path(__file__).parent / "fixtures" / "titles"
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


# --- link targets -----------------------------------------------------------------------


def resolve(settings: Settings, titles: list[str]) -> list[TitleInfo | TitleError]:
    with PortalAPI(settings) as api:
        return list(api.resolve_titles(titles))


def resolved(settings: Settings, titles: list[str]) -> list[TitleInfo]:
    """The TitleInfos of `titles`, asserting that no batch failed."""
    results = resolve(settings, titles)
    assert all(isinstance(result, TitleInfo) for result in results), results
    return [result for result in results if isinstance(result, TitleInfo)]


def canonical(results: list[TitleInfo]) -> dict[str, str]:
    return {result.title: result.canonical for result in results}


def title_requests(wiki: FakeWiki) -> list[LoggedRequest]:
    return wiki.requests_for("info|pageprops")


def test_redirects_resolve_to_their_targets(fake_wiki: FakeWiki) -> None:
    agent = "newscontext-tests/1.0 (mailto:tests@example.org)"
    titles = [
        "ISIL",
        "Islamic State of Iraq and the Levant",
        "IDF",
        "U.S. Supreme Court",
        "Georgia (US state)",
        "United States",
    ]

    results = resolved(settings_for(fake_wiki.url, user_agent=agent, api_maxlag=3), titles)

    assert [(result.title, result.canonical) for result in results] == [
        ("ISIL", "Islamic State"),
        ("Islamic State of Iraq and the Levant", "Islamic State"),
        ("IDF", "Israel Defense Forces"),
        ("U.S. Supreme Court", "Supreme Court of the United States"),
        ("Georgia (US state)", "Georgia (U.S. state)"),
        ("United States", "United States"),
    ]
    for result in results:
        assert not result.missing and result.pageid == fake_wiki.pageid(result.canonical)
    (request,) = fake_wiki.requests
    assert request.titles == titles
    assert request.params["redirects"] == "1"
    assert request.params["prop"] == "info|pageprops"
    assert set(request.params["ppprop"].split("|")) == {"wikibase_item", "disambiguation"}
    assert request.params["action"] == "query" and request.params["format"] == "json"
    assert request.params["formatversion"] == "2" and request.params["maxlag"] == "3"
    assert request.headers["user-agent"] == agent


def test_a_redirect_chain_is_followed_and_a_fragment_dropped(fake_wiki: FakeWiki) -> None:
    # The fixture's constructed rows: a double redirect and a redirect to a section.
    assert fake_wiki.redirects["Newscontext test double redirect"] == "ISIL"
    assert fake_wiki.redirects["Newscontext test redirect to a section"] == "Islamic State#History"

    results = resolved(
        settings_for(fake_wiki.url),
        ["Newscontext test double redirect", "Newscontext test redirect to a section"],
    )

    assert canonical(results) == {
        "Newscontext test double redirect": "Islamic State",
        "Newscontext test redirect to a section": "Islamic State",
    }
    assert {result.pageid for result in results} == {fake_wiki.pageid("Islamic State")}
    assert not any(result.missing for result in results)


def test_a_redirect_loop_ends_at_the_title_itself(
    fake_wiki: FakeWiki, caplog: pytest.LogCaptureFixture
) -> None:
    fake_wiki.add_redirect("Newscontext loop A", "Newscontext loop B")
    fake_wiki.add_redirect("Newscontext loop B", "Newscontext loop A")

    with caplog.at_level(logging.WARNING, logger="newscontext.api"):
        loop, other = resolved(settings_for(fake_wiki.url), ["Newscontext loop A", "IDF"])

    assert loop == TitleInfo("Newscontext loop A", "Newscontext loop A")
    assert other.canonical == "Israel Defense Forces"
    assert any("loop" in record.getMessage() for record in caplog.records)


def test_titles_are_normalised_by_the_api_and_kept_as_asked(fake_wiki: FakeWiki) -> None:
    titles = ["airstrike", "Soham_murders", "suicide bomber", "Georgia_(US_state)"]

    results = resolved(settings_for(fake_wiki.url), titles)

    assert canonical(results) == {
        "airstrike": "Airstrike",
        "Soham_murders": "Soham murders",
        "suicide bomber": "Suicide attack",
        "Georgia_(US_state)": "Georgia (U.S. state)",
    }
    assert [result.title for result in results] == titles
    assert all(not r.missing and r.pageid == fake_wiki.pageid(r.canonical) for r in results)


def test_missing_and_invalid_pages(fake_wiki: FakeWiki) -> None:
    fake_wiki.add_redirect("Newscontext redirect to nowhere", "Newscontext deleted page")
    titles = ["Newscontext no such page", "A<b", "Newscontext redirect to nowhere"]

    results = resolved(settings_for(fake_wiki.url), titles)

    assert canonical(results) == {
        "Newscontext no such page": "Newscontext no such page",
        "A<b": "A<b",
        "Newscontext redirect to nowhere": "Newscontext deleted page",
    }
    for result in results:
        assert result.missing and result.pageid is None and result.wikidata is None
        assert not result.disambiguation


def test_disambiguation_and_wikidata_are_recorded(fake_wiki: FakeWiki) -> None:
    titles = ["Georgia", "Georgia (U.S. state)", "United States", "Syria", "Gambia", "ISIL"]

    by_title = {r.title: r for r in resolved(settings_for(fake_wiki.url), titles)}

    assert by_title["Georgia"].disambiguation and by_title["Georgia"].wikidata is None
    assert by_title["Georgia (U.S. state)"].wikidata == "Q1428"
    assert by_title["United States"].wikidata == "Q30"
    assert by_title["United States"].pageid == 3434750  # the fixture's one real page id
    assert by_title["Syria"].wikidata == "Q858"
    # A redirect gets its target's item.
    assert by_title["Gambia"].canonical == "The Gambia" and by_title["Gambia"].wikidata == "Q1005"
    assert by_title["ISIL"].wikidata is None  # the fixture writes no item down for it
    assert [t for t, r in by_title.items() if r.disambiguation] == ["Georgia"]


def test_interwiki_titles_are_missing_and_stay_themselves(fake_wiki: FakeWiki) -> None:
    results = resolved(settings_for(fake_wiki.url), ["Wikt:coup", "fr:Paris", "Paris"])

    wikt, french, paris = results
    assert wikt == TitleInfo("Wikt:coup", "Wikt:coup", missing=True)
    assert french == TitleInfo("fr:Paris", "fr:Paris", missing=True)
    assert paris.canonical == "Paris" and paris.wikidata == "Q90" and not paris.missing


def test_120_titles_go_in_batches_of_fifty_and_each_is_asked_once(fake_wiki: FakeWiki) -> None:
    titles = sorted(fake_wiki.articles)[:70] + sorted(fake_wiki.redirects)[:50]
    assert len(set(titles)) == 120

    results = resolved(settings_for(fake_wiki.url), titles + titles[::-1] + titles[:10])

    assert [result.title for result in results] == titles
    assert all(not result.missing for result in results)
    requests = title_requests(fake_wiki)
    assert [len(request.titles) for request in requests] == [50, 50, 20]
    asked = Counter(title for request in requests for title in request.titles)
    assert set(asked) == set(titles) and set(asked.values()) == {1}


def test_continued_title_answers_are_merged(fake_wiki: FakeWiki) -> None:
    fake_wiki.pageprops_per_response = 2
    items = {"United States": "Q30", "Syria": "Q858", "Iran": "Q794", "Paris": "Q90"}

    results = resolved(settings_for(fake_wiki.url), [*items, "Georgia", "Islamic State"])

    assert {r.title: r.wikidata for r in results} == items | {
        "Georgia": None,
        "Islamic State": None,
    }
    assert [r.title for r in results if r.disambiguation] == ["Georgia"]
    requests = title_requests(fake_wiki)
    assert len(requests) == 3  # 5 pages with properties, 2 per answer
    assert all("ppcontinue" in request.params for request in requests[1:])


def test_a_failing_title_batch_does_not_stop_the_next(
    fake_wiki: FakeWiki, caplog: pytest.LogCaptureFixture
) -> None:
    fake_wiki.always_fail("IDF")
    first = ["ISIL", "IDF", "Kiev", "Tronc"]
    second = ["Sana'a", "Oahu", "Buzzfeed", "Mos Def"]
    settings = settings_for(fake_wiki.url, api_batch=4, api_retries=3)

    with caplog.at_level(logging.INFO, logger="newscontext.api"):
        results = resolve(settings, first + second)

    error, *rest = results
    assert isinstance(error, TitleError)
    assert error.titles == tuple(first)
    assert "HTTP 500" in error.message and "3 tries" in error.message
    infos = [result for result in rest if isinstance(result, TitleInfo)]
    assert len(infos) == len(rest) == 4
    assert canonical(infos) == {
        "Sana'a": "Sanaa",
        "Oahu": "O\u02bbahu",
        "Buzzfeed": "BuzzFeed",
        "Mos Def": "Yasiin Bey",
    }
    assert len([r for r in fake_wiki.requests if "IDF" in r.titles]) == 3
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("ISIL" in message and "HTTP 500" in message for message in errors)


@pytest.mark.parametrize("fault", ["503", "maxlag"])
def test_title_requests_are_retried_after_the_servers_retry_after(
    fake_wiki: FakeWiki, fault: str
) -> None:
    if fault == "503":
        fake_wiki.fail_requests(1, status=503, retry_after="1")
    else:
        fake_wiki.answer_maxlag(1, retry_after="1")

    (result,) = resolved(settings_for(fake_wiki.url), ["ISIL"])

    assert result.canonical == "Islamic State" and not result.missing
    assert len(fake_wiki.requests) == 2
    assert fake_wiki.requests[0].params == fake_wiki.requests[1].params
    assert 0.99 <= gaps(fake_wiki)[0] < 4  # Retry-After: 1, not the 0.01 s backoff base


def test_text_that_is_no_title_is_not_asked(fake_wiki: FakeWiki) -> None:
    results = resolved(settings_for(fake_wiki.url), ["", "A|B", "Kiev"])

    assert results[:2] == [TitleInfo("", "", missing=True), TitleInfo("A|B", "A|B", missing=True)]
    assert results[2].canonical == "Kyiv"
    (request,) = fake_wiki.requests
    assert request.titles == ["Kiev"]


def test_titles_rendered_as_redirects_resolve_to_other_titles(fake_wiki: FakeWiki) -> None:
    """Every title the rendered portal marked `mw-redirect` (and the fixture knows) lands on
    a different, existing page."""
    rows = (TITLES / "mw_redirect_links.tsv").read_text(encoding="utf-8").splitlines()[1:]
    titles = list(dict.fromkeys(row.split("\t")[2] for row in rows))
    assert len(titles) == 69
    assert all(title in fake_wiki.redirects for title in titles)

    results = resolved(settings_for(fake_wiki.url), titles)

    assert [result.title for result in results] == titles
    for result in results:
        assert result.canonical != result.title, result
        assert result.canonical in fake_wiki.articles and not result.missing, result
        assert result.pageid == fake_wiki.pageid(result.canonical)
    assert canonical(results)["IDF"] == "Israel Defense Forces"
    assert canonical(results)["Israeli Defense Forces"] == "Israel Defense Forces"


def test_the_title_fixture_is_consistent(fake_wiki: FakeWiki) -> None:
    articles, redirects = fake_wiki.articles, fake_wiki.redirects
    assert len(articles) > 150 and len(redirects) > 90
    assert not articles.keys() & redirects.keys()
    for source, target in redirects.items():
        assert target.split("#")[0] in articles.keys() | redirects.keys(), source
    for article in articles.values():
        assert article.wikidata is None or re.fullmatch(r"Q[1-9]\d*", article.wikidata)
    ids = [fake_wiki.pageid(title) for title in articles.keys() | redirects.keys()]
    assert len(set(ids)) == len(ids)


def test_the_fake_answers_title_queries_like_the_api(fake_wiki: FakeWiki) -> None:
    params = {
        "action": "query",
        "format": "json",
        "formatversion": "2",
        "prop": "info|pageprops",
        "redirects": "1",
        "titles": "Newscontext_test_double_redirect|wikt:coup|Newscontext no such page",
    }

    body = httpx.get(fake_wiki.url, params=params).json()

    query = body["query"]
    assert body["batchcomplete"] is True
    assert query["normalized"] == [
        {
            "fromencoded": False,
            "from": "Newscontext_test_double_redirect",
            "to": "Newscontext test double redirect",
        }
    ]
    assert query["redirects"] == [
        {"from": "Newscontext test double redirect", "to": "ISIL"},
        {"from": "ISIL", "to": "Islamic State"},
    ]
    assert query["interwiki"] == [{"title": "wikt:coup", "iw": "wikt"}]
    found, missing = query["pages"]
    assert found["title"] == "Islamic State" and found["ns"] == 0
    assert found["pageid"] == fake_wiki.pageid("Islamic State")
    assert found["contentmodel"] == "wikitext"
    assert missing == {"ns": 0, "title": "Newscontext no such page", "missing": True}
