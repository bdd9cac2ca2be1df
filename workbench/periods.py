"""Bookkeeping periods: a month, quarter or fiscal year as a range of dates, and the documents dated in one."""

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from dateutil.relativedelta import relativedelta

from workbench.duplicates import document_date
from workbench.store import StoredDocument

PeriodKind = Literal["month", "quarter", "fiscal_year"]


@dataclass(frozen=True)
class Period:
    """The days from `start` to `end`, both included; either end may be open (None)."""

    start: dt.date | None = None
    end: dt.date | None = None

    def holds(self, stored: StoredDocument) -> bool:
        """True when the document's date lies in the period (an open period holds undated documents too)."""
        if self.start is None and self.end is None:
            return True
        date = document_date(stored.current) if stored.current is not None else None
        if date is None:
            return False
        return (self.start is None or date >= self.start) and (self.end is None or date <= self.end)

    def label(self) -> str:
        """The period in words, for messages and file names."""
        if self.start is None and self.end is None:
            return "all dates"
        return f"{self.start.isoformat() if self.start else '…'} to {self.end.isoformat() if self.end else '…'}"


def period(kind: PeriodKind, year: int, index: int = 1, fiscal_year_start: int = 1) -> Period:
    """Month `index` (1-12) or quarter `index` (1-4) of calendar year `year`, or the fiscal year that starts
    in month `fiscal_year_start` of `year`."""
    if kind == "month":
        start = dt.date(year, index, 1)
        months = 1
    elif kind == "quarter":
        start = dt.date(year, 3 * (index - 1) + 1, 1)
        months = 3
    else:
        start = dt.date(year, fiscal_year_start, 1)
        months = 12
    return Period(start, start + relativedelta(months=months) - relativedelta(days=1))


def in_period(documents: list[StoredDocument], chosen: Period) -> list[StoredDocument]:
    """The documents dated within `chosen`."""
    return [stored for stored in documents if chosen.holds(stored)]
