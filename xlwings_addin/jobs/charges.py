"""One-off charges (临时收费): ``feebook charge WB --room R --item CODE --amount A``.

Appends one 应收 row, 来源 手工, for a charge that billing does not make (a
repair, a replacement access card, an agreed adjustment).  The bill number is
the next free one of the unit-item-period: ``2026Q4-1-1-101-WX``, then
``2026Q4-1-1-101-WX-2``, ``-3`` … (numbers anywhere in 应收, also rows the
parser could not read, are never reused).  The period is the one of the center's
计费周期 containing the charge's day unless given; 应缴日期 is the charge's day
unless given.  Refused (nothing written): unknown room or item, an amount that
is not positive or has more than 2 decimals, a period of the other 计费周期.

Like every 应收 row, a one-off line keeps billing from charging the same
unit-item for the days of its period (billing never charges a day twice), and
the summary says so when the item is one billing would charge that unit.

Example: 1-1-101 replaces an access card, 项目 MJK, 50.00 on 2026-11-22 in a
quarterly center → 应收 ``2026Q4-1-1-101-MJK`` 50.00, 应缴日期 2026-11-22, 来源 手工.
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable, Optional

from ..engine.billing import bill_number, cycle_mismatch
from ..engine.dunning import mask_name
from ..ledger import schema
from ..ledger.money import MoneyError, to_money
from ..ledger.periods import Period, period_containing
from ..ledger.records import Ledger, Problem, Source
from ..workbook.parse import clean_room
from .ledger import Changes, refresh_after_posting

INPUT = Source(schema.CHARGES)


def next_bill_no(period: Period, room: str, item_code: str, taken: Iterable[str]) -> str:
    taken = {str(t).strip() for t in taken}
    base = bill_number(period, room, item_code)
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def one_off_charge(ledger: Ledger, room: str, item_code: str, amount, on: dt.date, *,
                   period: Optional[Period] = None, due: Optional[dt.date] = None, note: str = "",
                   existing_bill_nos: Iterable[str] = (), as_of: Optional[dt.date] = None,
                   force: bool = False) -> Changes:
    """The 应收 row of one charge; 欠费明细 and 收缴率 are rewritten with it as of ``as_of`` (the day of
    entry; the charge's day when later or not given), so no derived sheet is left stale."""
    changes = Changes("临时收费")

    def refuse(message: str) -> Changes:
        changes.problems.append(Problem.error(INPUT, message))
        changes.summary.append("未新增应收，工作簿未改动。")
        return changes

    room = clean_room(room)
    unit = ledger.unit_by_room().get(room)
    if unit is None:
        return refuse(f"房号“{room}”不在“房屋”表中")
    item = ledger.item_by_code().get(item_code.strip())
    if item is None:
        return refuse(f"项目编码“{item_code}”不在“收费项目”表中")
    try:
        value = to_money(str(amount))
    except MoneyError as exc:
        return refuse(str(exc) if str(exc).startswith("金额") else f"金额{exc}")
    if value <= 0:
        return refuse(f"金额应为正数，实为 {value}（减少应收请用减免或红冲）")
    period = period or period_containing(on, ledger.settings.cycle)
    mismatch = cycle_mismatch(ledger.settings, period)
    if mismatch:
        return refuse(mismatch)
    periodic = item.method in ("面积", "固定") and item.applies_to(unit.house_type) and item.unit_price
    billed = any(c.period == period and c.room == room and c.item_code == item.code for c in ledger.charges)
    if periodic and not billed and not force:
        # an existing 应收 row stops billing from charging this unit-item for the period (issue 15):
        # a small one-off line would replace the whole regular bill
        return refuse(f"“{item.name}”按期计费，{room} 的 {period} 尚未计费：临时收费会使计费时跳过该户该项目，"
                      f"少收整期费用；请先计费（feebook bill --period {period}），或确需如此时加 --force")
    due = due or on
    taken = set(existing_bill_nos) | {c.bill_no for c in ledger.charges}
    bill_no = next_bill_no(period, room, item.code, taken)
    changes.append[schema.CHARGES] = [{
        "账单号": bill_no, "期间": str(period), "房号": room, "项目编码": item.code, "项目名称": item.name,
        "数量": None, "单价": None, "金额": value, "应缴日期": due, "来源": "手工",
    }]
    changes.audit.append({"操作": f"临时收费 {bill_no}", "数量": 1,
                          "说明": f"{room} {item.name} {value:.2f} 元{('；' + note) if note else ''}"})
    changes.summary.append(f"新增应收 {bill_no}：{room} {mask_name(unit.owner)} {item.name} {value:,.2f} 元，"
                           f"期间 {period}，应缴日期 {due:%Y-%m-%d}，来源 手工")
    if periodic and not billed:
        changes.summary.append(f"注意：{room} {period} 的“{item.name}”已有此行，计费时不再按期生成（同一天不重复收费）")
    return refresh_after_posting(ledger, changes, max(as_of or on, on))
