"""Which days a collector may contact an owner — a thin wrapper over ``chinese_calendar``.

The calendar is the maintained PyPI package ``chinese_calendar`` (the State
Council's yearly 放假安排, including 调休 working days), never a hand-typed list.

Rules used by the dunning ladder (SPEC §4.7, seed 000 "应避免在节假日…进行沟通"):

* 短信 (SMS reminders) may go on any day except a statutory holiday
  (weekends are fine: 提醒 is non-intrusive).
* 电话 / 对讲 / 上门 / 催费通知单 / 挂牌 / letters: working days, which
  include a 调休 Saturday or Sunday (e.g. 2026-10-10, a Saturday worked for
  the National Day holiday), and ordinary weekends (seed 004: 电话通知 不限)
  unless 参数 周末联系 = 否; never 2026-10-01…07.

A date outside the years the package knows is not guessed silently: the
functions fall back to "Monday–Friday are working days; 元旦 (1-1), 劳动节
(5-1) and 国庆节 (10-1…3) are holidays" and :func:`calendar_problem` returns
a warning to put on the 问题 sheet.

Example: ``contact_allowed(date(2026, 10, 1), "短信")`` is False (国庆节);
``contact_allowed(date(2026, 10, 10), "电话")`` is True (调休上班);
``next_contact_day(date(2026, 10, 1), "电话")`` is 2026-10-08.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Optional

import chinese_calendar

from ..ledger.records import Problem, Source

SMS = "短信"

HOLIDAY_NAMES_CN = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


@functools.lru_cache(maxsize=1)
def known_years() -> tuple[int, int]:
    """First and last year the installed calendar has data for."""
    years = [d.year for d in chinese_calendar.holidays] + [d.year for d in chinese_calendar.workdays]
    return min(years), max(years)


def is_known(day: dt.date) -> bool:
    first, last = known_years()
    return first <= day.year <= last


@dataclass(frozen=True)
class DayInfo:
    day: dt.date
    workday: bool  # a working day, including a 调休 weekend day
    statutory_holiday: bool  # a day off of a statutory holiday (incl. 调休 days off)
    holiday_name: str = ""  # Chinese name (国庆节…), also for a 调休 working day
    known: bool = True  # False: outside the calendar's years, Mon–Fri guessed

    @property
    def label(self) -> str:
        if self.statutory_holiday:
            return f"法定节假日（{self.holiday_name}）" if self.holiday_name else "法定节假日"
        if self.workday and self.day.weekday() >= 5:
            return f"调休工作日（{self.holiday_name}）" if self.holiday_name else "调休工作日"
        return "工作日" if self.workday else "周末"


# fixed-date statutory holidays the fallback still knows for a year the package has no data for
FALLBACK_HOLIDAYS = {(1, 1): "元旦", (5, 1): "劳动节", (10, 1): "国庆节", (10, 2): "国庆节", (10, 3): "国庆节"}


def day_info(day: dt.date) -> DayInfo:
    if not is_known(day):
        name = FALLBACK_HOLIDAYS.get((day.month, day.day), "")
        if name:
            return DayInfo(day, workday=False, statutory_holiday=True, holiday_name=name, known=False)
        return DayInfo(day, workday=day.weekday() < 5, statutory_holiday=False, known=False)
    off, name = chinese_calendar.get_holiday_detail(day)
    name_cn = HOLIDAY_NAMES_CN.get(name, name or "")
    return DayInfo(day, workday=not off, statutory_holiday=bool(off and name), holiday_name=name_cn)


def contact_allowed(day: dt.date, method: str, weekends: bool = True) -> bool:
    """May ``method`` be used on ``day``?  Never on a statutory holiday.  SMS: any other day; others:
    working days, and ordinary weekends too unless ``weekends`` is False (参数 周末联系 = 否)."""
    info = day_info(day)
    if method == SMS or info.statutory_holiday:
        return not info.statutory_holiday
    return info.workday or weekends


def next_contact_day(day: dt.date, method: str, limit: int = 60, weekends: bool = True) -> dt.date:
    """``day`` itself if allowed, else the next day on which ``method`` is allowed."""
    for k in range(limit):
        candidate = day + dt.timedelta(days=k)
        if contact_allowed(candidate, method, weekends):
            return candidate
    return day + dt.timedelta(days=limit)


def calendar_problem(day: dt.date) -> Optional[Problem]:
    """A warning when ``day`` is outside the holiday calendar's years (else None)."""
    if is_known(day):
        return None
    first, last = known_years()
    return Problem.warning(
        Source("参数"),
        f"节假日日历（chinese_calendar）只有 {first}–{last} 年的数据，{day:%Y-%m-%d} 不在其中："
        f"暂按周一至周五为工作日、仅识别元旦（1月1日）、劳动节（5月1日）、国庆节（10月1日至3日），"
        f"不识别其他法定节假日和调休安排；请升级 chinese_calendar（pip install -U chinese_calendar）")
