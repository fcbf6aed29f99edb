"""Archive: the public entry point. Owns the settings and the store and runs the stages."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from pathlib import Path

from .ingest import Ingester, IngestReport
from .model import ArchivedEvent, EventVersion, ParseWarning
from .portal.inputs import InputError, read_paths
from .settings import Settings
from .store import Store


class Archive:
    """A news archive in one SQLite file.

    >>> with Archive(Settings(db=path)) as archive:
    ...     archive.ingest_paths([Path("days/")])
    """

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings.from_env()
        self.store = Store(self.settings.db)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- ingest ----------------------------------------------------------------------------

    def ingest_paths(self, paths: Iterable[Path]) -> IngestReport:
        """Ingest `.wiki`, `.xml` and `.html` day pages from files and folders."""
        ingester = Ingester(self.store)
        for item in read_paths(paths):
            if isinstance(item, InputError):
                ingester.error(item.place, item.message)
            else:
                ingester.add(item)
        return ingester.finish()

    def ingest_api(self, first: date, last: date) -> IngestReport:
        """Fetch the day pages of a date range from the MediaWiki API; days whose revision
        is already in the archive are not fetched again."""
        from .portal.api import PortalAPI  # httpx is only needed when talking to the API

        if last < first:
            raise ValueError(f"--to {last} is before --from {first}")
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        ingester = Ingester(self.store)
        known = self.store.known_revids(first, last)
        with PortalAPI(self.settings) as api:
            for result in api.fetch_days(days, known):
                if result.error:
                    ingester.error("api", result.error)  # the message names the day
                elif result.revision is not None:
                    ingester.add(result.revision)
                elif result.unchanged:
                    ingester.report.unchanged += 1
                elif result.missing:
                    ingester.report.missing.append(result.date)
        return ingester.finish()

    # -- reading ---------------------------------------------------------------------------

    def events(self) -> Iterator[ArchivedEvent]:
        return self.store.iter_events()

    def day(self, day: date) -> list[ArchivedEvent]:
        return self.store.events_of_day(day)

    def versions(self, event_id: str) -> list[EventVersion]:
        return self.store.versions(event_id)

    def warnings(self) -> list[ParseWarning]:
        return self.store.current_warnings()

    def stats(self) -> dict:
        return {
            "totals": self.store.totals(),
            "years": self.store.counts_per_year(),
            "warnings": self.store.current_warnings(),
            "errors": self.store.errors(),
        }
