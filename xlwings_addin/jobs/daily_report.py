"""催收日报 (seed 004 §4.1 step 14): what collection achieved on one day.

Rows (日期, 项目, 数值, 说明):

* 今日收款合计 and one row per 渠道 — 收款 rows dated that day, reversals
  (negative rows) included, so the figure is net;
* 今日缴清户数 — units that owed (principal or late fee) at the end of the
  previous day and owe nothing at the end of this day (room numbers in 说明);
* 今日缴清本金户数（仍欠违约金） — principal paid off today, a late fee still open;
* 今日新增承诺缴费 — 催缴记录 of the day with 结果 承诺缴费 (room and 承诺缴费日);
* 今日催缴联系 — 催缴记录 of the day, by 方式;
* 今日托收失败 — 托收明细 rows with 结果 失败 returned that day, with 失败原因
  (they are also in the unit's 催收任务 line);
* 欠费户数 / 仅欠违约金户数 / 欠费本金 / 违约金 at the end of the day — 欠费户 as
  defined once in :func:`~xlwings_addin.engine.aging.debtors` (principal > 0,
  developer-held included; units owing only a late fee counted separately).

Room numbers only — no names or phone numbers (the report goes to 财务管理部).
Example: two 微信 receipts of 300.00 and 120.50 and a 现金 receipt of 80.00
on 2026-10-12 → 今日收款合计 500.50 (3 笔), 微信 420.50, 现金 80.00.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Optional

from ..ledger import schema
from ..engine.aging import arrears_list, debtors
from ..engine.allocation import AllocationResult, allocate
from ..ledger.money import ZERO
from ..ledger.records import Ledger
from ..workbook.writer import SheetOutput


@dataclass(frozen=True)
class DailyLine:
    item: str
    value: object
    note: str = ""


def _rooms(rooms, limit: int = 60) -> str:
    rooms = list(rooms)
    text = "、".join(rooms[:limit])
    return text + (f" 等{len(rooms)}户" if len(rooms) > limit else "")


def daily_report(ledger: Ledger, day: dt.date, allocation: Optional[AllocationResult] = None,
                 previous: Optional[AllocationResult] = None) -> list[DailyLine]:
    allocation = allocation or allocate(ledger, day)
    previous = previous or allocate(ledger, day - dt.timedelta(days=1))
    lines: list[DailyLine] = []

    paid = [p for p in ledger.payments if p.paid_on == day]
    by_channel: dict[str, Decimal] = defaultdict(lambda: ZERO)
    count: Counter = Counter()
    for p in paid:
        by_channel[p.channel] += p.amount
        count[p.channel] += 1
    total = sum(by_channel.values(), ZERO)
    lines.append(DailyLine("今日收款合计", total, f"{len(paid)} 笔（含冲销）"))
    for channel in [*schema.CHANNELS, *sorted(set(by_channel) - set(schema.CHANNELS))]:
        if channel in by_channel:
            lines.append(DailyLine(f"今日收款-{channel}", by_channel[channel], f"{count[channel]} 笔"))

    before = {a.unit.room for a in arrears_list(ledger.units, previous)}
    now_lines = arrears_list(ledger.units, allocation)
    now = {a.unit.room for a in now_lines}
    cleared = sorted(before - now)
    lines.append(DailyLine("今日缴清户数", len(cleared), _rooms(cleared)))
    principal_cleared = sorted(
        room for room, acc in previous.accounts.items()
        if acc.open_principal > 0 and room in allocation.accounts and allocation.accounts[room].open_principal <= 0
        and room in now)
    if principal_cleared:
        lines.append(DailyLine("今日缴清本金户数（仍欠违约金）", len(principal_cleared), _rooms(principal_cleared)))

    contacts = [c for c in ledger.contacts if c.date == day]
    promises = [c for c in contacts if c.result == "承诺缴费"]
    lines.append(DailyLine("今日新增承诺缴费", len(promises), "、".join(
        f"{c.room}（承诺{c.promise_date:%m-%d}前）" if c.promise_date else c.room for c in promises)))
    methods = Counter(c.method for c in contacts)
    lines.append(DailyLine("今日催缴联系", len(contacts), "，".join(f"{m} {n} 次" for m, n in methods.items())))

    returned = {b.batch_id: b.returned_on for b in ledger.bank_batches}
    failed = [d for d in ledger.bank_debits
              if d.result == "失败" and (d.returned_on or returned.get(d.batch_id)) == day]
    failed_total = sum((d.amount for d in failed), ZERO)
    lines.append(DailyLine("今日托收失败", len(failed), "；".join(
        f"{d.room} {d.amount:.2f}元 {d.reason or '未注明原因'}" for d in failed)))
    if failed:
        lines.append(DailyLine("今日托收失败金额", failed_total, f"批次 {'、'.join(sorted({d.batch_id for d in failed}))}"))

    owing = debtors(ledger.units, allocation, now_lines)
    dev = f"，含开发商持有 {owing.developer_count} 户" if owing.developer_count else ""
    lines.append(DailyLine("欠费户数（日终）", owing.count, f"截至 {day:%Y-%m-%d} 日终，欠费本金>0{dev}"))
    lines.append(DailyLine("仅欠违约金户数（日终）", owing.fee_only_count,
                           f"违约金 {owing.fee_only_amount:.2f} 元，由前台收取，不计入欠费户数"))
    lines.append(DailyLine("欠费本金（日终）", owing.principal, ""))
    lines.append(DailyLine("违约金（日终）", owing.late_fee, "含仅欠违约金户"))
    return lines


def last_working_day(day: dt.date, limit: int = 40) -> dt.date:
    """``day`` when it is a working day (调休 included), else the working day before it."""
    from ..engine.holidays import day_info

    d = day
    for _ in range(limit):
        if day_info(d).workday:
            return d
        d -= dt.timedelta(days=1)
    return day


def non_working_note(requested: dt.date, day: dt.date) -> str:
    from ..engine.holidays import day_info

    return (f"{requested:%Y-%m-%d}（{day_info(requested).label}）不是工作日：本日报为最近一个工作日 "
            f"{day:%Y-%m-%d} 的情况")


def daily_sheet(lines: list[DailyLine], day: dt.date, requested: Optional[dt.date] = None) -> SheetOutput:
    """The 催收日报 sheet; ``requested`` (a non-working day) is said in a note row under the figures."""
    from ..workbook.sheet_xml import Note

    spec = schema.OUTPUT_SHEETS[schema.DAILY]
    rows = [[day, line.item, line.value, line.note] for line in lines]
    if requested is not None and requested != day:
        rows.append([])
        rows.append([Note(non_working_note(requested, day))])
    return SheetOutput(spec.name, list(spec.headers), rows, {"日期": "date", **dict(spec.formats)},
                       as_of=requested or day)
