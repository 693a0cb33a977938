"""Billing periods and date parsing.

A period is written ``2026Q1`` (quarter) or ``2026-01`` (month); ``2026年第1季度``,
``2026年1季度`` and ``2026年1月`` are accepted too.  Dates in cells are real
Excel dates; text dates ``2026-01-25``, ``2026/1/25``, ``2026.1.25``,
``20260125`` and ``2026年1月25日`` are normalised; anything else is a problem.
"""
from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass


class PeriodError(ValueError):
    """Text that is not a period or date; the message is Chinese, for users."""


@dataclass(frozen=True, order=True)
class Period:
    """A billing period: a quarter (months=3) or a month (months=1)."""

    year: int
    first_month: int
    months: int

    @classmethod
    def quarter(cls, year: int, q: int) -> "Period":
        return cls(year, 3 * (q - 1) + 1, 3)

    @classmethod
    def month(cls, year: int, m: int) -> "Period":
        return cls(year, m, 1)

    @classmethod
    def parse(cls, text) -> "Period":
        if isinstance(text, Period):
            return text
        if isinstance(text, (dt.date, dt.datetime)):
            return cls.month(text.year, text.month)
        return _parse_period_text(str(text))

    @classmethod
    def _parse_text(cls, text: str) -> "Period":
        raw = unicodedata.normalize("NFKC", str(text)).strip().upper().replace(" ", "")
        m = re.fullmatch(r"(\d{4})[-]?Q([1-4])", raw) or re.fullmatch(
            r"(\d{4})年第?([1-4一二三四])季度?", raw
        )
        if m:
            q = "一二三四".find(m.group(2)) + 1 if m.group(2) in "一二三四" else int(m.group(2))
            return cls.quarter(int(m.group(1)), q)
        m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})月?", raw) or re.fullmatch(r"(\d{4})(\d{2})", raw)
        if m and 1 <= int(m.group(2)) <= 12:
            return cls.month(int(m.group(1)), int(m.group(2)))
        raise PeriodError(f"无法识别的期间“{text}”，应写作 2026Q1（季度）或 2026-01（月）")

    def __post_init__(self):
        # Derived values computed once (periods are hashed and compared millions of times).
        last_month = self.first_month + self.months - 1
        object.__setattr__(self, "start", dt.date(self.year, self.first_month, 1))
        object.__setattr__(self, "end", dt.date(self.year, last_month,
                                                calendar.monthrange(self.year, last_month)[1]))
        object.__setattr__(self, "_hash", hash((self.year, self.first_month, self.months)))

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self):  # unpickled through the constructor, so the derived values are computed again
        return Period, (self.year, self.first_month, self.months)

    @property
    def is_quarter(self) -> bool:
        return self.months == 3

    def due_date(self, due_day: int) -> dt.date:
        """缴费截止日 in the period's first month (clamped to the month's length)."""
        day = min(due_day, calendar.monthrange(self.year, self.first_month)[1])
        return dt.date(self.year, self.first_month, day)

    def next(self) -> "Period":
        month = self.first_month + self.months
        year = self.year + (month - 1) // 12
        return Period(year, (month - 1) % 12 + 1, self.months)

    def previous(self) -> "Period":
        month = self.first_month - self.months
        year = self.year + (month - 1) // 12
        return Period(year, (month - 1) % 12 + 1, self.months)

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    def __str__(self) -> str:
        if self.is_quarter:
            return f"{self.year}Q{(self.first_month - 1) // 3 + 1}"
        return f"{self.year}-{self.first_month:02d}"

    @property
    def label_cn(self) -> str:
        if self.is_quarter:
            return f"{self.year}年第{(self.first_month - 1) // 3 + 1}季度"
        return f"{self.year}年{self.first_month}月"


@functools.lru_cache(maxsize=4096)
def _parse_period_text(text: str) -> Period:
    return Period._parse_text(text)


def period_containing(day: dt.date, cycle: str = "季度") -> Period:
    if cycle == "月":
        return Period.month(day.year, day.month)
    return Period.quarter(day.year, (day.month - 1) // 3 + 1)


EXCEL_EPOCH = dt.date(1899, 12, 30)


def parse_date(value) -> dt.date:
    """A cell value as a date; raises :class:`PeriodError` with a Chinese message."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise PeriodError(f"应为日期，实为“{value}”")
    if isinstance(value, (int, float)):
        if 1 <= value < 2958466:  # Excel serial numbers 1900-01-01 … 9999-12-31
            return EXCEL_EPOCH + dt.timedelta(days=int(value))
        raise PeriodError(f"应为日期，实为数字 {value}")
    if isinstance(value, str):
        raw = unicodedata.normalize("NFKC", value).strip()
        raw = raw.split(" ")[0].split("T")[0]
        m = (
            re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", raw)
            or re.fullmatch(r"(\d{4})年(\d{1,2})月(\d{1,2})日?", raw)
            or re.fullmatch(r"(\d{4})(\d{2})(\d{2})", raw)
        )
        if m:
            try:
                return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                raise PeriodError(f"日期“{value}”不存在") from None
    raise PeriodError(f"无法识别的日期“{value}”，应写作 2026-01-25")


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
