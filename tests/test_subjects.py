"""One subject per page: titles that are redirects of one page (the shipped redirect table, a
given table, the API) or spellings of one title (the fold by rule) become one entity, on the
real portal days; tests/fixtures/subjects/cases.tsv holds the rules as data."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import FIXTURES, HTML_KIWICOPPLE, HTML_PARSE_API, WIKITEXT
from mwapi import FakeWiki

from newscontext import Archive, Settings
from newscontext.portal.fold import Spelling, fold, fold_key
from newscontext.portal.titles import normalize_title, read_redirect_table, shipped_redirects

CASES = FIXTURES / "subjects" / "cases.tsv"
SAMPLE = [HTML_PARSE_API, WIKITEXT, HTML_KIWICOPPLE]  # the demo's days (tasks.py)
ANNOTATION = re.compile(r"\s*\{(page|disambiguation|links=\d+)\}")


@dataclass(frozen=True)
class Case:
    kind: str
    titles: list[str]
    canonical: str  # "=": each title stays itself
    slugs: list[str]
    why: str

    def __str__(self) -> str:
        return f"{self.kind}: {' | '.join(self.titles)} ({self.why})"


def _unescape(text: str) -> str:
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)


def load_cases() -> list[Case]:
    cases = []
    for line in CASES.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, titles, canonical, slugs, why = line.split("\t")
        cases.append(Case(kind, [_unescape(t.strip()) for t in titles.split(" | ")],
                          canonical, [s.strip() for s in slugs.split(" | ") if s.strip()], why))
    return cases


def params(kind: str) -> list:
    return [pytest.param(case, id=str(case)) for case in load_cases() if case.kind == kind]


def entity_slugs(archive: Archive) -> dict[str, str]:
    """Entities with events (a merged-away title keeps its row, without events)."""
    return {entity.title: entity.slug for entity in archive.entities()}


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Archive:
    path = tmp_path_factory.mktemp("subjects") / "archive.sqlite3"
    with Archive(Settings(db=path)) as archive:
        archive.ingest_paths(SAMPLE)
        archive.resolve()
        yield archive


def test_the_cases_file_has_both_kinds_and_both_sides():
    cases = load_cases()
    assert {case.kind for case in cases} == {"archive", "rule"}
    for kind in ("archive", "rule"):
        sides = {case.canonical == "=" for case in cases if case.kind == kind}
        assert sides == {True, False}, kind


@pytest.mark.parametrize("case", params("archive"))
def test_archive_case(sample: Archive, case: Case):
    targets = sample.store.link_targets()
    entities = entity_slugs(sample)
    # The case is about titles the real days link (a canonical page may only be reached).
    assert all(title in targets for title in case.titles if title != case.canonical)
    if case.canonical == "=":
        for title, slug in zip(case.titles, case.slugs, strict=True):
            assert sample.store.canonical([title]) == {title}
            assert entities[title] == slug
    else:
        (slug,) = case.slugs
        for title in case.titles:
            assert sample.store.canonical([title]) == {case.canonical}
            assert title == case.canonical or title not in entities
        assert entities[case.canonical] == slug


@pytest.mark.parametrize("case", params("rule"))
def test_rule_case(case: Case):
    spellings = []
    for written in case.titles:
        notes = ANNOTATION.findall(written)
        title = normalize_title(ANNOTATION.sub("", written))
        links = next((int(n.split("=")[1]) for n in notes if n.startswith("links=")), 1)
        spellings.append(Spelling(title, links, "page" in notes, "disambiguation" in notes))
    titles = {s.title for s in spellings}
    folded = fold(spellings)
    if case.canonical == "=":
        assert len(titles) == len(case.titles)  # normalisation did not make them one
        assert folded == {}
    else:
        assert {folded.get(title, title) for title in titles} == {case.canonical}


def test_fold_key_is_what_the_cases_say():
    assert fold_key("Syrian civil\u00a0war") == fold_key("Syrian Civil War")
    assert fold_key("A\u2212B") == fold_key("A \u2014 B") == fold_key("a-b")
    assert fold_key("ISIS") != fold_key("Isis") and fold_key("ISIS") == "ISIS"


def test_the_shipped_table_is_the_fixtures_facts_without_the_constructed_rows():
    fixture, problems = read_redirect_table(FIXTURES / "titles" / "redirects.tsv")
    assert problems == []
    shipped = shipped_redirects()
    constructed = {t for t in fixture if t.startswith("Newscontext test")}
    assert len(constructed) == 2 and not constructed & shipped.keys()
    facts = {k: v for k, v in fixture.items() if k not in constructed and k != "From"}  # header
    assert len(facts) == 98 and facts.items() <= shipped.items()
    assert shipped["Houthi"] == "Houthis"  # from the rendered portal (its SOURCE.txt)


def test_resolve_twice_changes_nothing(tmp_path: Path):
    with Archive(Settings(db=tmp_path / "a.sqlite3")) as archive:
        archive.ingest_paths(SAMPLE)
        first = archive.resolve()
        assert first.folded == 1 and first.redirects > 90 and first.errors == []
        seq = archive.store.meta_int("change_seq")
        again = archive.resolve()
        assert (again.resolved, again.changed, again.new_entities) == (0, 0, 0)
        assert archive.store.meta_int("change_seq") == seq  # nothing to publish again


def test_a_later_spelling_keeps_the_first_slug_reachable_and_the_order_does_not_matter(
        tmp_path: Path):
    """The 2021 and 2026 days link "Syrian civil war" (2 events); the 2016-2017 days
    "Syrian Civil War" (9). Ingested in that order, the first spelling gets the slug; when the
    second arrives it becomes the canonical member, and the first entity keeps its slug, its
    title now leading to the new one. Ingested all at once, the same titles lead to the same
    places."""
    later = [WIKITEXT / f"{day}.wiki" for day in ("2016-01-13", "2016-01-15", "2016-01-16",
                                                  "2016-01-17", "2016-01-19", "2017-09-04")]
    with Archive(Settings(db=tmp_path / "a.sqlite3")) as archive:
        archive.ingest_paths([HTML_KIWICOPPLE, WIKITEXT / "2026-03-09.wiki"])
        archive.resolve()
        assert entity_slugs(archive)["Syrian civil war"] == "syrian-civil-war"
        archive.ingest_paths(later)
        archive.resolve()
        slugs = archive.store.entity_slugs()
        assert slugs["Syrian civil war"] == "syrian-civil-war"  # slugs never change
        assert slugs["Syrian Civil War"] == "syrian-civil-war-2"
        assert "Syrian civil war" not in entity_slugs(archive)
        assert archive.store.canonical(["Syrian civil war"]) == {"Syrian Civil War"}
        incremental = titles_table(archive)
    with Archive(Settings(db=tmp_path / "b.sqlite3")) as archive:
        archive.ingest_paths([*later, HTML_KIWICOPPLE, WIKITEXT / "2026-03-09.wiki"])
        archive.resolve()
        assert entity_slugs(archive)["Syrian Civil War"] == "syrian-civil-war"
        assert titles_table(archive) == incremental


def titles_table(archive: Archive) -> dict[str, tuple[str, str]]:
    return {title: (canonical, origin) for title, canonical, origin in
            archive.store.conn.execute("SELECT title, canonical, origin FROM titles")}


def test_a_given_table_overrides_the_shipped_one_and_stays(tmp_path: Path):
    table = tmp_path / "mine.tsv"
    table.write_text("Houthi\tHouthi movement\n"  # constructed: the shipped row says Houthis
                     "Syrian Civil War\tSyrian civil war\n", encoding="utf-8")
    with Archive(Settings(db=tmp_path / "a.sqlite3")) as archive:
        archive.ingest_paths(SAMPLE)
        archive.resolve()
        assert archive.store.canonical(["Syrian civil war"]) == {"Syrian Civil War"}  # folded
        report = archive.resolve(redirects=table)
        assert report.errors == []
        assert archive.store.canonical(["Houthi"]) == {"Houthi movement"}
        # The given table makes "Syrian civil war" the page: the fold is undone, not fought.
        assert archive.store.canonical(["Syrian Civil War", "Syrian civil war"]) == {
            "Syrian civil war"}
        assert report.folded == 0
        archive.resolve()  # without the file: what it said stays, the shipped row loses
        assert archive.store.canonical(["Houthi"]) == {"Houthi movement"}
        assert archive.store.canonical(["Syrian Civil War"]) == {"Syrian civil war"}
        entities = entity_slugs(archive)
        assert "Syrian civil war" in entities and "Syrian Civil War" not in entities


def title_requests(wiki: FakeWiki) -> list:
    return [r for r in wiki.requests if "pageprops" in r.params.get("prop", "")]


def test_the_apis_answer_wins_over_the_tables_and_the_fold(tmp_path: Path, fake_wiki: FakeWiki):
    # Constructed answers (the fake wiki's data is the fixture's; these rows change it).
    fake_wiki.add_redirect("Houthi", "Houthi movement")
    fake_wiki.add_article("Houthi movement")
    fake_wiki.add_article("Syrian Civil War")
    fake_wiki.add_article("Syrian civil war")  # two pages by the API's word: no fold
    settings = Settings(db=tmp_path / "a.sqlite3", api_url=fake_wiki.url)
    with Archive(settings) as archive:
        archive.ingest_paths(SAMPLE)
        archive.resolve()
        assert archive.store.canonical(["Houthi"]) == {"Houthis"}
        report = archive.resolve(api=True)
        asked = {t for r in title_requests(fake_wiki) for t in r.titles}
        levant = "Islamic State of Iraq and the Levant"
        assert {"Houthi", levant, "Syrian civil war"} <= asked  # table-known titles asked too
        assert archive.store.canonical(["Houthi"]) == {"Houthi movement"}
        assert archive.store.canonical([levant]) == {"Islamic State"}
        assert archive.store.canonical(["Syrian civil war"]) == {"Syrian civil war"}
        assert report.folded == 0
        again = archive.resolve(api=True)
        assert (again.resolved, again.changed) == (0, 0)  # nothing asked again
        archive.resolve()  # the shipped table does not undo the API's answers
        assert archive.store.canonical(["Houthi"]) == {"Houthi movement"}


def test_a_missing_page_the_api_named_folds_and_is_not_asked_again(tmp_path: Path,
                                                                    fake_wiki: FakeWiki):
    """The fake wiki knows neither spelling of the Syrian civil war (both come back missing):
    the fold makes them one and keeps the API's word, so the next run does not ask again."""
    settings = Settings(db=tmp_path / "a.sqlite3", api_url=fake_wiki.url)
    with Archive(settings) as archive:
        archive.ingest_paths(SAMPLE)
        first = archive.resolve(api=True)
        assert first.folded >= 1
        assert archive.store.canonical(["Syrian civil war"]) == {"Syrian Civil War"}
        row = archive.store.title_rows()["Syrian civil war"]
        assert (row.origin, row.missing) == ("fold", True)
        before = len(title_requests(fake_wiki))
        again = archive.resolve(api=True)
        assert (again.resolved, again.changed) == (0, 0)
        assert len(title_requests(fake_wiki)) == before


def test_the_cli_says_how_many_spellings_folded(tmp_path: Path):
    import subprocess
    import sys

    db = tmp_path / "c.sqlite3"
    run = [sys.executable, "-m", "newscontext", "--db", str(db)]
    subprocess.run([*run, "ingest", *map(str, SAMPLE)], check=True, capture_output=True)
    done = subprocess.run([*run, "resolve"], check=True, capture_output=True, text=True)
    assert "1 spellings folded into another" in done.stderr
    with sqlite3.connect(db) as conn:
        origins = dict(conn.execute("SELECT origin, COUNT(*) FROM titles GROUP BY origin"))
    assert origins == {"shipped:redirects.tsv": 97, "fold": 1}
