"""A story's or entity's timeline: its rows, how they fall into pages, and its weekly chart."""

from __future__ import annotations

from datetime import date, timedelta

PAGE_SIZE = 50  # events per timeline page

Row = tuple[str, str, int]  # (event id, date, position) of an event on a timeline


def page_count(total: int) -> int:
    """How many numbered pages a timeline of `total` events has (0 without any)."""
    return -(-total // PAGE_SIZE)


def page_rows(rows: list[Row], page: int | None) -> list[Row]:
    """The rows (newest first) a timeline page lists: the newest PAGE_SIZE on the main page
    (None), and numbered pages of PAGE_SIZE from the oldest, so old pages never shift."""
    if page is None:
        return rows[:PAGE_SIZE]
    total = len(rows)
    return rows[max(0, total - page * PAGE_SIZE) : total - (page - 1) * PAGE_SIZE]


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weekly(rows: list[Row]) -> tuple[date | None, list[int]]:
    """The chart of a timeline (rows newest first): the Monday of its first week, and its
    events per week from then, oldest first, weeks without events included."""
    dates = [date.fromisoformat(d) for _, d, *_ in reversed(rows)]
    if not dates:
        return None, []
    first_week = _week_start(dates[0])
    counts = [0] * ((_week_start(dates[-1]) - first_week).days // 7 + 1)
    for day in dates:
        counts[(_week_start(day) - first_week).days // 7] += 1
    return first_week, counts
