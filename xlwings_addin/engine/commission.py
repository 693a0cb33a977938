"""佣金 (service-assistant commission, SPEC §4.6, seed 004 §5).

Rate = cumulative 当期收缴率 of the 佣金考核项目 (物业管理费) charges of the
quarter, at the end of month m (1, 2, 3) of the quarter — or at ``as_of`` if
that is earlier — over the assistant's rooms (:func:`engine.rates.assistant_rooms`;
the whole center when the 服务助理 sheet is empty).  Numerator and denominator
are exactly those of :func:`engine.rates.collection_rates` (实收 + 减免 +
预存冲抵 of the quarter's charges / the quarter's receivable).

The tier is the 佣金规则 row of that month with 下限 ≤ rate < 上限: "以上包括本数"
(民法典 第1259条), so 80% and 95% exactly fall in the higher tier.  The amount is
``slope × rate + intercept`` rounded to 0.01 元 (ROUND_HALF_UP), on the exact rate.

Default table (元 per month)::

    月份   < 80%    80% ≤ rate < 95%     ≥ 95%
    1       50      2000×rate − 1400      500
    2        0      3000×rate − 2350      500
    3     −100      4000×rate − 3500      500

Worked examples: month 2 at 87.5% → 3000 × 0.875 − 2350 = 275.00; month 1 at
94.99% → 1899.80 − 1400 = 499.80; month 3 at 80% → 3200 − 3500 = −300.00 (the
default month-3 table *falls* from −100 to −300 at 80%: a warning, not an error).

What-if: with receivable R, collected C and the next tier's 下限 L, the
principal still needed is N = ⌈L × R − C⌉ to the cent; the suggested rooms are
the fewest owing units that cover N — largest open balances first (taking the
k largest balances maximises what k units can pay, so no smaller set exists).
Example: R = 4,000.00, C = 3,000.00 (75%), L = 80% → N = 200.00; owing units
1,000.00 / 600.00 → one room (the 1,000.00 one) is enough.

The suggestions leave out units on hold (分期履行中, 投诉处理中, 费用争议, 诉讼中,
承诺缴费 — nobody may chase them) and developer-held units (settled by 公司财务管理部);
a month already ended gets no what-if (nothing can change it).  :func:`quarter_totals`
gives each assistant's commission for the quarter so far.
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Iterable, Optional

from ..ledger.money import CENT, ZERO, round_money
from ..ledger.periods import Period
from ..ledger.records import CommissionRule, Ledger, Problem, Source
from .allocation import AllocationResult
from .dunning import held_tasks
from .rates import CENTER, assistant_rooms, collection_rates

MAX_ASSISTANTS = 3  # seed 004 §5.1: 每个服务中心服务助理不得超过3人
ONE = Decimal(1)


class CommissionGap(ValueError):
    """No 佣金规则 row covers this month and rate (the message is Chinese)."""


def pct(rate: Optional[Decimal], places: int = 2) -> str:
    """0.875 → '87.50%' (None → '—')."""
    if rate is None:
        return "—"
    q = Decimal(1).scaleb(-places)
    return f"{(rate * 100).quantize(q, rounding=ROUND_HALF_UP)}%"


def _bound(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


def rule_for(rules: Iterable[CommissionRule], month: int, rate: Decimal) -> Optional[CommissionRule]:
    """The rule of ``month`` covering ``rate`` (下限 ≤ rate < 上限); the first in sheet order if rules overlap."""
    for rule in rules:
        if rule.month == month and rule.covers(rate):
            return rule
    return None


def commission_for(rules: Iterable[CommissionRule], month: int, rate) -> Decimal:
    """Commission in 元 (rounded to 0.01) for month 1–3 of the quarter at ``rate`` (0–1).

    Pure: the Excel UDF ``FB_COMMISSION`` wraps it.  Raises :class:`CommissionGap`
    when no rule covers the rate.  ``commission_for(rules, 2, Decimal("0.875"))`` → 275.00.
    """
    rate = rate if isinstance(rate, Decimal) else Decimal(str(rate))
    rule = rule_for(rules, month, rate)
    if rule is None:
        raise CommissionGap(f"佣金规则第{month}月没有覆盖收缴率 {pct(rate)} 的档位")
    return round_money(rule.slope * rate + rule.intercept)


def tier_label(rule: Optional[CommissionRule]) -> str:
    if rule is None:
        return "无对应档位"
    if rule.upper is None:
        return f"{_bound(rule.lower)}及以上"
    if rule.lower <= 0:
        return f"{_bound(rule.upper)}以下"
    return f"{_bound(rule.lower)}（含）至{_bound(rule.upper)}"


def rule_warnings(rules: Iterable[CommissionRule]) -> list[Problem]:
    """Warnings (never errors) about a 佣金规则 table: gaps, overlaps, falls and jumps as the rate rises."""
    rules = list(rules)
    out: list[Problem] = []
    sheet = Source("佣金规则")
    for month in (1, 2, 3):
        rows = sorted((r for r in rules if r.month == month), key=lambda r: (r.lower, r.upper is None, r.upper or 0))
        if not rows:
            out.append(Problem.warning(sheet, f"佣金规则缺少第{month}月的档位，该月佣金无法计算"))
            continue
        if rows[0].lower > 0:
            out.append(Problem.warning(rows[0].source, f"第{month}月佣金规则从 {_bound(rows[0].lower)} 开始，"
                                                       f"收缴率低于此值时没有档位（空档）"))
        for rule in rows:
            if rule.upper is not None and rule.upper <= rule.lower:
                out.append(Problem.warning(rule.source, f"第{month}月档位上限 {_bound(rule.upper)} 不大于下限 "
                                                        f"{_bound(rule.lower)}，该行不起作用"))
            if rule.slope < 0:
                out.append(Problem.warning(rule.source, f"第{month}月档位 {tier_label(rule)} 的佣金随收缴率上升而减少"
                                                        f"（公式 {rule.formula or rule.slope}）"))
        for prev, nxt in zip(rows, rows[1:]):
            if prev.upper is None or prev.upper > nxt.lower:
                out.append(Problem.warning(nxt.source, f"第{month}月档位 {tier_label(prev)} 与 {tier_label(nxt)} 重叠，"
                                                       f"重叠部分按表中先出现的一行计算"))
                continue
            if prev.upper < nxt.lower:
                out.append(Problem.warning(nxt.source, f"第{month}月佣金规则在 {_bound(prev.upper)} 至 "
                                                       f"{_bound(nxt.lower)} 之间没有档位（空档）"))
                continue
            at = nxt.lower  # prev's value just below the bound vs nxt's value at it
            left = round_money(prev.slope * at + prev.intercept)
            right = round_money(nxt.slope * at + nxt.intercept)
            if right < left:
                out.append(Problem.warning(nxt.source, f"第{month}月佣金在收缴率 {_bound(at)} 处由 {left} 元降为 "
                                                       f"{right} 元（收缴率提高佣金反而减少）"))
            elif right > left:
                out.append(Problem.warning(nxt.source, f"第{month}月佣金在收缴率 {_bound(at)} 处由 {left} 元跳升至 "
                                                       f"{right} 元"))
        top = rows[-1]
        if top.upper is not None and top.upper <= ONE:
            out.append(Problem.warning(top.source, f"第{month}月佣金规则最高档上限为 {_bound(top.upper)}，"
                                                   f"收缴率达到此值时没有档位（空档）"))
    return out


def month_end(quarter: Period, month: int) -> dt.date:
    """Last day of month ``month`` (1–3) of the quarter."""
    m = quarter.first_month + month - 1
    return dt.date(quarter.year, m, calendar.monthrange(quarter.year, m)[1])


@dataclass(frozen=True)
class WhatIf:
    next_lower: Decimal  # 下限 of the next tier
    needed: Decimal  # principal still to collect, ceil to the cent
    rooms: tuple[tuple[str, Decimal], ...]  # (room, open balance), largest first
    reachable: bool  # False when even all owing units together are not enough

    @property
    def rooms_total(self) -> Decimal:
        return sum((b for _r, b in self.rooms), ZERO)


@dataclass(frozen=True)
class CommissionRow:
    assistant: str
    quarter: Period
    month: int
    at: dt.date  # month end, or as_of if earlier
    receivable: Decimal
    collected: Decimal
    rate: Optional[Decimal]
    rule: Optional[CommissionRule]
    amount: Optional[Decimal]
    what_if: Optional[WhatIf]
    note: str = ""

    @property
    def tier(self) -> str:
        return tier_label(self.rule) if self.rate is not None else "—"


def commission_items(ledger: Ledger) -> set[str]:
    """Codes of the 佣金考核项目 (by 项目名称, or a 项目编码 written there)."""
    key = ledger.settings.commission_item
    return {i.code for i in ledger.items if i.name == key or i.code == key}


def _only_items(allocation: AllocationResult, codes: set[str],
                period: Optional[Period] = None) -> AllocationResult:
    """The allocation cut to the charges of the items ``codes`` (and of ``period`` when given); every room kept."""
    accounts = {room: replace(acc, charges=tuple(c for c in acc.charges if c.charge.item_code in codes
                                                 and (period is None or c.charge.period == period)))
                for room, acc in allocation.accounts.items()}
    return AllocationResult(allocation.as_of, accounts, ())


def next_tier_lower(rules: Iterable[CommissionRule], month: int, rate: Decimal) -> Optional[Decimal]:
    """下限 of the lowest tier of ``month`` that starts above ``rate`` (None at the top)."""
    above = [r.lower for r in rules if r.month == month and r.lower > rate]
    return min(above) if above else None


def what_if(rate_collected: Decimal, receivable: Decimal, next_lower: Decimal,
            balances: dict[str, Decimal]) -> WhatIf:
    """The fewest owing rooms (largest balances first) whose payment lifts collected/receivable to next_lower."""
    needed = (next_lower * receivable - rate_collected).quantize(CENT, rounding=ROUND_CEILING)
    needed = max(needed, ZERO)
    chosen: list[tuple[str, Decimal]] = []
    total = ZERO
    for room, balance in sorted(balances.items(), key=lambda kv: (-kv[1], kv[0])):
        if total >= needed:
            break
        if balance <= 0:
            continue
        chosen.append((room, balance))
        total += balance
    return WhatIf(next_lower, needed, tuple(chosen), total >= needed)


def quarter_totals(rows: Iterable[CommissionRow]) -> dict[str, Decimal]:
    """Each assistant's commission for the quarter so far: the sum of the months computed.

    Example (default table): month 1 at 50% → 50.00, month 2 at 75% → 0.00 → quarter 50.00.
    """
    out: dict[str, Decimal] = {}
    for r in rows:
        out[r.assistant] = out.get(r.assistant, ZERO) + (r.amount or ZERO)
    return out


def commission_rows(ledger: Ledger, allocation: AllocationResult, quarter: Period,
                    as_of: Optional[dt.date] = None) -> tuple[list[CommissionRow], list[Problem]]:
    """Rows of the 佣金 sheet (per assistant × month of the quarter started by as_of) and the warnings."""
    as_of = as_of or allocation.as_of
    problems = rule_warnings(ledger.commission_rules)
    if len(ledger.assistants) > MAX_ASSISTANTS:
        problems.append(Problem.warning(Source("服务助理"), f"服务助理共 {len(ledger.assistants)} 人，"
                                                          f"公司规定每个服务中心不得超过{MAX_ASSISTANTS}人（004号文件 5.1）"))
    excluded = {t.room: f"暂停催缴（{t.hold}）" for t in held_tasks(ledger, as_of, allocation)}
    excluded.update({u.room: "开发商持有" for u in ledger.units if u.developer_held})
    codes = commission_items(ledger)
    if not codes:
        problems.append(Problem.warning(Source("参数"), f"佣金考核项目“{ledger.settings.commission_item}”"
                                                       f"不在收费项目中，无法计算佣金"))
        return [], problems
    # the quarter's rows count only the quarter's own charges (its 应收 and what settled them), and the
    # suggestions only its open bills: the other periods' charges are left out once, not in every month
    only = _only_items(allocation, codes, quarter)
    if ledger.assistants:
        people = [(a.name, assistant_rooms(a, ledger.units)) for a in ledger.assistants]
    else:
        people = [(CENTER, {u.room for u in ledger.units})]
    rules = ledger.commission_rules
    rows: list[CommissionRow] = []
    for name, rooms in people:
        for month in (1, 2, 3):
            month_start = month_end(quarter, month).replace(day=1)
            if month_start > as_of:
                continue
            at = min(month_end(quarter, month), as_of)
            rate_rows = collection_rates(ledger, only, periods=[quarter],
                                         scopes={name: {"rooms": rooms, "item": None}}, as_of=at)
            if not rate_rows or not rate_rows[0].receivable:
                rows.append(CommissionRow(name, quarter, month, at, ZERO, ZERO, None, None, None, None,
                                          "本季度没有考核项目应收"))
                continue
            r = rate_rows[0]
            rate = r.current_rate
            rule = rule_for(rules, month, rate)
            amount = round_money(rule.slope * rate + rule.intercept) if rule else None
            note = "" if rule else f"佣金规则第{month}月没有覆盖此收缴率的档位"
            nxt = next_tier_lower(rules, month, rate)
            wi = None
            if nxt is None:
                note = note or "已在最高档"
            elif month_end(quarter, month) < as_of:
                note = note or "本月已结束，不再测算"
            else:
                balances: dict[str, Decimal] = {}
                left_out = 0
                for room in rooms:
                    acc = only.accounts.get(room)
                    if acc is None:
                        continue
                    if room in excluded:
                        left_out += 1
                        continue
                    owed = sum((s.open_principal(at) for s in acc.charges
                                if s.charge.period == quarter and s.charge.payable_from <= at), ZERO)
                    if owed > 0:
                        balances[room] = owed
                wi = what_if(r.collected, r.receivable, nxt, balances)
                if not wi.reachable:
                    note = note or f"可催收的欠费全部收回也达不到 {_bound(nxt)}"
                if left_out:
                    note = "；".join(x for x in (note, f"建议房号已排除暂停催缴/开发商持有 {left_out} 户") if x)
            rows.append(CommissionRow(name, quarter, month, at, r.receivable, r.collected, rate, rule, amount, wi,
                                      note))
    return rows, problems
