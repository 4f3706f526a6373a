"""The report's two periods: the current one (`--since 7d`, or `--from`/`--to`) and the one of equal length before.

Design decision: ``--since 7d`` counts back from the *data's* latest date, not from today, so a report on an export
that stopped last month still compares its last week with the week before (the header says so); ``--to DATE``
anchors it instead. Periods are whole days, half-open ``[start, end)`` in UTC, and never overlap.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from earful.errors import InputError

_SINCE = re.compile(r"^\s*(\d+)\s*(d|day|days|w|week|weeks)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Period:
    start: date          # current period: start <= day < end
    end: date
    prev_start: date     # previous period: prev_start <= day < start
    anchor: str          # how the end was chosen, said in the report header

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def label(self, which: str = "current") -> str:
        a, b = (self.start, self.end) if which == "current" else (self.prev_start, self.start)
        return f"{a.isoformat()} to {(b - timedelta(days=1)).isoformat()}"

    def to_json(self) -> dict:
        return {"current": [self.start.isoformat(), (self.end - timedelta(days=1)).isoformat()],
                "previous": [self.prev_start.isoformat(), (self.start - timedelta(days=1)).isoformat()],
                "days": self.days, "anchor": self.anchor}


MAX_DAYS = 36_500   # a century


def parse_days(since: str) -> int:
    """'7d' -> 7, '2w' -> 14."""
    m = _SINCE.match(since or "")
    if not m:
        raise InputError(f"--since '{since}' is not a number of days or weeks", hint="write e.g. --since 7d or 2w")
    n = int(m.group(1)) * (7 if m.group(2).lower().startswith("w") else 1)
    if n < 1:
        raise InputError("--since must be at least 1 day")
    if n > MAX_DAYS:      # two periods of it must stay inside the calendar (date arithmetic overflows past year 9999)
        raise InputError(f"--since {since} is too long (at most {MAX_DAYS} days)", hint="use --from DATE --to DATE")
    return n


def _day(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise InputError(f"{flag} '{text}' is not a date", hint="write it as YYYY-MM-DD") from exc


def resolve(latest: date | None, since: str | None = None, date_from: str | None = None,
            date_to: str | None = None) -> Period:
    """The periods for these options; `latest` is the newest item's date (None: the workspace has no dates)."""
    if since and date_from:
        raise InputError("--since and --from both say where the period starts", hint="pass one of them")
    to = _day(date_to, "--to") if date_to else None
    if date_from:
        start = _day(date_from, "--from")
        last = to or latest
        if last is None:
            raise InputError("no item has a date", hint="pass --to DATE, or ingest a file with a date column")
        if last < start:
            raise InputError(f"--from {start} is after the period's end {last}")
        end = last + timedelta(days=1)
        anchor = f"--from {start} --to {last}" if to else f"--from {start} to the data's latest date, {last}"
        return Period(start, end, start - (end - start), anchor)
    days = parse_days(since or "7d")
    if to is None and latest is None:
        raise InputError("no item has a date, so there is no period to report on",
                         hint="pass --to DATE, or ingest a file with a date column")
    last = to or latest
    end = last + timedelta(days=1)
    start = end - timedelta(days=days)
    anchor = (f"the {days} days up to --to {last}" if to else
              f"the {days} days up to the data's latest date, {last}, not today's")
    return Period(start, end, start - timedelta(days=days), anchor)
