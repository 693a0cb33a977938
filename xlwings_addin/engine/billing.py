"""计费 (billing): one period's charges for every unit and item (SPEC §4.1).

- 面积: 建筑面积 × 单价 × months in the period.
  e.g. 89.50 ㎡ × 2.50 元/㎡·月 × 3 = 671.25.
- 固定: 单价 × months × quantity; quantity is the unit's 车位数 when the
  item's 计费单位 names 车位 (元/车位·月), else 1.  e.g. 150 × 3 × 2 = 900.00.
- 用量: (本期读数 − 上期读数) × 单价; a negative usage is a problem, not a charge;
  a usage above 3× the unit's median of earlier periods is a warning.
- 公摊: 总金额 split across the units in 范围 by 建筑面积 share (or equally by 户数);
  each part rounded to 0.01 and the rounding residue goes to the largest share,
  so the parts sum exactly to 总金额.  e.g. 100.00 over areas 1:1:1 → 33.34, 33.33, 33.33.
  (A residue of several cents, possible over thousands of units, is spread a
  cent at a time over the largest shares.)

Each line is rounded to 0.01; 应缴日期 = 缴费截止日 of the period's first month.
A unit-item-period is billed once: billing again adds nothing and reports how
many lines were already billed (the bill number is ``期间-房号-项目编码``).

Periods never overlap:

- the period must be of the center's 计费周期 (参数): a quarterly center bills
  ``2026Q1``, never ``2026-01``; a monthly center bills ``2026-01``, never ``2026Q1``;
  another period is refused (an error, nothing billed);
- a unit-item is never billed for days an existing 应收 row (计费 or 手工, any
  period) already covers: with a hand-typed ``2026-02`` line for 1-1-101 物业管理费,
  billing ``2026Q1`` bills every other unit and skips that one with a warning.

公摊 范围 is a building (``2``, ``楼栋:2``, ``2号楼``, ``2栋``) or a comma list of
them; a building no unit is in is an error at the 范围 cell.  Example: 90.00 by
户数 over ``楼栋:2`` with three units in building 2 → 30.00 each.

Nothing is left out silently: a 用量 item with no meter readings at all for the
period, or a 公摊 item with no 公摊 row for it, is a warning (in 问题 and in the
summary); negative usage is an error and usage above 3× the unit's median a warning.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from ..ledger.money import ZERO, round_money
from ..ledger.periods import Period
from ..ledger.records import Charge, Ledger, Problem, Source, Unit, building_key

CHARGE_SHEET = "应收"


@dataclass(frozen=True)
class BillingResult:
    period: Period
    charges: tuple[Charge, ...]  # new lines only
    already_billed: int
    problems: tuple[Problem, ...]
    overlapping: int = 0  # unit-items skipped: an existing 应收 row covers some of the period's days
    missing: tuple[str, ...] = ()  # items billed for nobody for want of data (also in problems)
    refused: str = ""  # the period itself was refused (nothing billed)

    @property
    def total(self) -> Decimal:
        return sum((c.amount for c in self.charges), ZERO)


def bill_number(period: Period, room: str, item_code: str) -> str:
    return f"{period}-{room}-{item_code}"


def cycle_mismatch(settings, period: Period) -> str:
    """A Chinese reason why ``period`` is not a period of the center's 计费周期, or ''."""
    if settings.cycle == "月" and period.months != 1:
        return (f"参数“计费周期”为“月”，不能按季度计费（{period}）；请按月计费，"
                f"如 {Period.month(period.year, period.first_month)}")
    if settings.cycle != "月" and period.months != 3:
        quarter = Period.quarter(period.year, (period.first_month - 1) // 3 + 1)
        return f"参数“计费周期”为“季度”，不能按月计费（{period}）；请按季度计费，如 {quarter}"
    return ""


def bill_period(ledger: Ledger, period: Period) -> BillingResult:
    settings = ledger.settings
    refused = cycle_mismatch(settings, period)
    if refused:
        return BillingResult(period, (), 0, (Problem.error(Source("参数", ""), refused + "，未计费"),),
                             refused=refused)
    due = period.due_date(settings.due_day)
    billed = {(c.period, c.room, c.item_code) for c in ledger.charges}
    covered = defaultdict(list)  # (room, item) → existing 应收 rows, to refuse overlapping days
    for c in ledger.charges:
        covered[(c.room, c.item_code)].append(c)
    problems: list[Problem] = []
    new: list[Charge] = []
    already = 0
    overlapping = 0
    missing: list[str] = []

    readings = defaultdict(list)  # (room, meter) → readings of this period
    history = defaultdict(list)  # (room, meter) → usages of earlier periods
    for r in ledger.readings:
        if r.period == period:
            readings[(r.room, r.meter)].append(r)
        elif r.period < period and r.usage >= 0:
            history[(r.room, r.meter)].append(r.usage)

    def add(unit: Unit, item, quantity: Decimal, price, amount: Decimal) -> None:
        nonlocal already
        if (period, unit.room, item.code) in billed:
            already += 1
            return
        overlap = next((c for c in covered.get((unit.room, item.code), ())
                        if c.period.start <= period.end and period.start <= c.period.end), None)
        if overlap is not None:
            nonlocal overlapping
            overlapping += 1
            problems.append(Problem.warning(
                overlap.source if overlap.source.cell else unit.source,
                f"{unit.room}“{item.name}”{period} 与已有应收 {overlap.bill_no}（{overlap.period}，来源 "
                f"{overlap.origin or '手工'}）的期间重叠，未计费（同一天不重复收费）"))
            return
        billed.add((period, unit.room, item.code))
        new.append(
            Charge(
                bill_no=bill_number(period, unit.room, item.code),
                period=period,
                room=unit.room,
                item_code=item.code,
                amount=round_money(amount),
                due_date=due,
                item_name=item.name,
                quantity=quantity,
                unit_price=price,
                origin="计费",
                source=Source(CHARGE_SHEET, ""),
            )
        )

    shared_by_item = defaultdict(list)
    for cost in ledger.shared_costs:
        if cost.period == period:
            shared_by_item[cost.item_code].append(cost)

    for item in ledger.items:
        if not any(item.applies_to(u.house_type) for u in ledger.units):
            continue
        if item.method == "公摊" and not shared_by_item.get(item.code):
            message = f"{period} 没有“{item.name}”（{item.code}）的公摊数据，此项目本期未计费"
            missing.append(message)
            problems.append(Problem.warning(Source("公摊", ""), message))
            continue
        if item.method == "用量" and not any(meter == item.meter for (_room, meter) in readings):
            message = f"{period} 没有{item.meter}表读数，“{item.name}”（{item.code}）本期未计费"
            missing.append(message)
            problems.append(Problem.warning(Source("抄表", ""), message))
            continue
        if item.method == "公摊":
            for cost in shared_by_item.get(item.code, []):
                for unit, part in split_shared_cost(cost, [u for u in ledger.units if item.applies_to(u.house_type)],
                                                    problems):
                    add(unit, item, Decimal(1), None, part)
            continue
        meter_read_somewhere = item.method == "用量" and any(
            meter == item.meter for (_room, meter) in readings
        )
        for unit in ledger.units:
            if not item.applies_to(unit.house_type):
                continue
            months = Decimal(period.months)
            if item.method == "面积":
                if unit.area > 0:
                    add(unit, item, unit.area * months, item.unit_price, unit.area * item.unit_price * months)
            elif item.method == "固定":
                quantity = Decimal(unit.parking_spaces) if item.per_parking_space else Decimal(1)
                if quantity > 0:
                    add(unit, item, quantity * months, item.unit_price, item.unit_price * months * quantity)
            elif item.method == "用量":
                found = readings.get((unit.room, item.meter), [])
                if not found:
                    if meter_read_somewhere and unit.occupied:
                        problems.append(Problem.warning(
                            unit.source, f"{period} {unit.room} 没有{item.meter}表读数，未计“{item.name}”"))
                    continue
                if len(found) > 1:
                    problems.append(Problem.error(
                        found[1].source, f"{period} {unit.room} 的{item.meter}表读数重复，此行未计费"))
                reading = found[0]
                usage = reading.usage
                if usage < 0:
                    problems.append(Problem.error(
                        reading.source,
                        f"{unit.room} {item.meter}表本期读数 {reading.current} 小于上期读数 {reading.previous}"
                        f"（用量为负），未计费，请核对（是否换表）"))
                    continue
                past = history.get((unit.room, item.meter), [])
                if past:
                    median = statistics.median(past)
                    if median > 0 and usage > 3 * median:
                        problems.append(Problem.warning(
                            reading.source,
                            f"{unit.room} {item.meter}表用量 {usage} 超过该户以往中位数 {median} 的3倍，请复核"))
                add(unit, item, usage, item.unit_price, usage * item.unit_price)
    return BillingResult(period, tuple(new), already, tuple(problems), overlapping, tuple(missing))


def split_shared_cost(cost, units: list[Unit], problems: list[Problem]) -> list[tuple[Unit, Decimal]]:
    """公摊 parts for the units in scope; parts are rounded and sum exactly to the total.

    The residue of rounding goes to the largest share (the first such unit in
    room order when several are equal).
    """
    wanted = cost.buildings
    if wanted:
        known = {building_key(u.building) for u in units if u.building}
        unknown = [b for b in wanted if b not in known]
        if unknown:
            problems.append(Problem.error(
                cost.scope_source or cost.source,
                f"公摊范围“{cost.scope}”中的楼栋“{'、'.join(unknown)}”未能理解：房屋表中没有这个楼栋，此行未分摊"))
            return []
    scope = [u for u in units if not wanted or building_key(u.building) in wanted]
    if cost.method == "面积":
        scope = [u for u in scope if u.area > 0]
        weights = [u.area for u in scope]
    else:
        weights = [Decimal(1)] * len(scope)
    total_weight = sum(weights, ZERO)
    if not scope or total_weight == 0:
        problems.append(Problem.error(cost.source, f"公摊范围“{cost.scope or '全部'}”内没有可分摊的房屋"))
        return []
    parts = [round_money(cost.total * w / total_weight) for w in weights]
    residue = cost.total - sum(parts, ZERO)
    # The residue goes to the largest share.  With many units it can be several
    # cents (each part is rounded by up to ±0.005): then one cent each to the
    # largest shares in turn, so no part moves more than a cent from its exact
    # value (and a small share can never turn negative).
    cent = Decimal("0.01") if residue > 0 else Decimal("-0.01")
    by_size = sorted(range(len(scope)), key=lambda i: (-weights[i], i))
    k = 0
    while residue:
        parts[by_size[k % len(by_size)]] += cent
        residue -= cent
        k += 1
    return list(zip(scope, parts))
