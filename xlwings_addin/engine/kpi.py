"""Collection KPIs (seed 000 §三) and the 收缴率 trend, for the 看板 and the 催收总结报告.  Pure.

Definitions (every figure is principal, never late fee):

- **收缴率 (月度/季度/年度)** — charges whose 应缴日期 falls in the calendar
  month / quarter / year of ``as_of``: (实收 + 减免 + 预存冲抵 by as_of) / their
  应收; also shown as 实收 / 应收 (不含减免及预存冲抵).  A month with no due
  bills (quarterly billing, 2nd and 3rd month) has no rate ("—").
- **平均缴费天数** — amount-weighted, over the money actually paid (实收
  settlements, not 减免 or 预存冲抵) during the window: Σ amount × (paid day −
  应缴日期) / Σ amount.  Paying early counts negative days.
- **线上缴费占比** — 收款 (net of reversals) dated in the window: (微信 + 支付宝
  + 转账 + POS) / all channels except 预存冲抵 (moving money already held is not
  a payment).  现金 and 托收 are the offline channels.
- **催收成功率** — units with a 催缴记录 row dated in the window; each unit's
  first contact day d there.  Success = a 收款 (any amount, partial counts)
  dated d … d+30.  A written letter counts once delivered (结果 已送达 + 送达凭证),
  as on the ladder (:func:`engine.dunning.counts_as_contact`).  Units not yet paid whose 30 days are not over by as_of are
  *pending* and left out: rate = succeeded / (contacted − pending).
- **欠费原因** — units owing principal at as_of, by the 欠费原因 of their latest
  催缴记录 row that names one (others: 未记录).
- **趋势** — for each of the last 8 periods P_k, the 收缴率 row as of
  P_k.start + (as_of − P.start) days (clamped to P_k's last day): the same day
  into each period, so quarters compare fairly.

Example (tests/test_kpi.py): 5 units × 1,000.00 due 2026-10-25; 2,000.00 paid,
300.00 offset from 预存, 200.00 waived → 当期收缴率 2,500/5,000 = 50%, 实收 only
40%; paid 1,000 five days early, 700 ten days late, 300 twenty days late →
(−5,000 + 7,000 + 6,000) / 2,000 = 4.0 days.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Optional

from ..ledger.money import ZERO
from ..ledger.periods import Period, period_containing
from ..ledger.records import Ledger
from .dunning import counts_as_contact
from .aging import AGING_BUCKETS, Debtors, aging_summary, arrears_list, debtors, is_debtor
from .allocation import CASH, PREPAID, WAIVED, AllocationResult
from .rates import CENTER, RateRow, collection_rates, rates_and_cuts, scopes_of

ONLINE_CHANNELS = ("微信", "支付宝", "转账", "POS")
OFFLINE_CHANNELS = ("现金", "托收")
NOT_A_PAYMENT = "预存冲抵"
SUCCESS_DAYS = 30
TREND_PERIODS = 8
NO_REASON = "未记录"
REASONS = ("经济困难", "服务不满", "遗忘", "联系不上", "恶意拖欠", "其他")


def _ratio(n: Decimal, d: Decimal) -> Optional[Decimal]:
    return None if not d else Decimal(n) / Decimal(d)


@dataclass(frozen=True)
class WindowRate:
    label: str
    start: dt.date
    end: dt.date
    receivable: Decimal
    cash: Decimal
    waived: Decimal
    prepaid: Decimal

    @property
    def collected(self) -> Decimal:
        return self.cash + self.waived + self.prepaid

    @property
    def rate(self) -> Optional[Decimal]:
        return _ratio(self.collected, self.receivable)

    @property
    def rate_cash_only(self) -> Optional[Decimal]:
        return _ratio(self.cash, self.receivable)


def window_rate(allocation: AllocationResult, label: str, start: dt.date, end: dt.date,
                as_of: Optional[dt.date] = None) -> WindowRate:
    """收缴率 of the charges due in [start, end], collected by as_of."""
    return window_rates(allocation, [(label, start, end)], as_of)[0]


def window_rates(allocation: AllocationResult, windows, as_of: Optional[dt.date] = None) -> list[WindowRate]:
    """:func:`window_rate` of each (label, start, end) of ``windows``, in one pass over the charges."""
    t = as_of or allocation.as_of
    windows = list(windows)
    sums = [[ZERO, ZERO, ZERO, ZERO] for _ in windows]  # receivable, 实收, 减免, 预存冲抵
    if windows:
        low = min(a for _l, a, _b in windows)
        high = max(b for _l, _a, b in windows)
        hits_on: dict = {}  # due date → the sums of the windows it falls in (charges share a few due dates)
        for acc in allocation.accounts.values():
            for s in acc.charges:
                c = s.charge
                due = c.due_date
                if not (low <= due <= high) or c.payable_from > t:
                    continue
                hits = hits_on.get(due)
                if hits is None:
                    hits = hits_on[due] = [sums[i] for i, (_l, a, b) in enumerate(windows) if a <= due <= b]
                if not hits:
                    continue
                cash = waived = prepaid = ZERO
                for x in s.settlements:
                    if x.day <= t:
                        if x.kind == CASH:
                            cash += x.amount
                        elif x.kind == WAIVED:
                            waived += x.amount
                        elif x.kind == PREPAID:
                            prepaid += x.amount
                for total in hits:
                    total[0] += c.amount
                    total[1] += cash
                    total[2] += waived
                    total[3] += prepaid
    return [WindowRate(label, a, b, *total) for (label, a, b), total in zip(windows, sums)]


def calendar_windows(as_of: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    q = period_containing(as_of, "季度")
    month = Period.month(as_of.year, as_of.month)
    return [(f"月度（{as_of.year}年{as_of.month}月）", month.start, month.end),
            (f"季度（{q.label_cn}）", q.start, q.end),
            (f"年度（{as_of.year}年）", dt.date(as_of.year, 1, 1), dt.date(as_of.year, 12, 31))]


def average_days_to_pay(allocation: AllocationResult, start: dt.date, end: dt.date) -> Optional[Decimal]:
    """Amount-weighted mean of (paid day − 应缴日期) over 实收 settled in [start, end]; 0.1 day."""
    weighted = total = ZERO
    for acc in allocation.accounts.values():
        for s in acc.charges:
            for st in s.settlements:
                if st.kind == CASH and start <= st.day <= end:
                    weighted += st.amount * (st.day - s.charge.due_date).days
                    total += st.amount
    if not total:
        return None
    return (weighted / total).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def effective_payments(allocation: AllocationResult):
    return [p for acc in allocation.accounts.values() for p in acc.payments]


def channel_totals(allocation: AllocationResult, start: dt.date, end: dt.date) -> dict[str, Decimal]:
    """收款 by 渠道 in [start, end] (net of reversals), 预存冲抵 left out; schema order first."""
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for p in effective_payments(allocation):
        if start <= p.paid_on <= end and p.channel != NOT_A_PAYMENT:
            totals[p.channel or "其他"] += p.amount
    order = list(ONLINE_CHANNELS) + list(OFFLINE_CHANNELS)
    return {k: totals[k] for k in sorted(totals, key=lambda k: (order.index(k) if k in order else 99, k))
            if totals[k]}


def online_share(totals: dict[str, Decimal]) -> Optional[Decimal]:
    online = sum((v for k, v in totals.items() if k in ONLINE_CHANNELS), ZERO)
    return _ratio(online, sum(totals.values(), ZERO))


@dataclass(frozen=True)
class SuccessRate:
    contacted: int
    succeeded: int
    pending: int
    contacts: int  # contact rows in the window

    @property
    def rate(self) -> Optional[Decimal]:
        return _ratio(Decimal(self.succeeded), Decimal(self.contacted - self.pending))


def success_rate(ledger: Ledger, allocation: AllocationResult, start: dt.date, end: dt.date,
                 as_of: Optional[dt.date] = None) -> SuccessRate:
    t = as_of or allocation.as_of
    last = min(end, t)
    first_contact: dict[str, dt.date] = {}
    rows = 0
    for c in ledger.contacts:
        if start <= c.date <= last and counts_as_contact(c):  # a letter only generated is no contact yet
            rows += 1
            if c.room not in first_contact or c.date < first_contact[c.room]:
                first_contact[c.room] = c.date
    paid_days = defaultdict(list)
    for p in effective_payments(allocation):
        if p.channel != NOT_A_PAYMENT and p.amount > 0 and p.paid_on <= t:
            paid_days[p.room].append(p.paid_on)
    succeeded = pending = 0
    for room, d in first_contact.items():
        deadline = d + dt.timedelta(days=SUCCESS_DAYS)
        if any(d <= day <= deadline for day in paid_days.get(room, ())):
            succeeded += 1
        elif deadline > t:
            pending += 1
    return SuccessRate(len(first_contact), succeeded, pending, rows)


@dataclass(frozen=True)
class Breakdown:
    label: str
    units: int
    amount: Decimal


def reasons_breakdown(ledger: Ledger, allocation: AllocationResult, lines=None) -> list[Breakdown]:
    """Owing units by their latest recorded 欠费原因 (REASONS order, then others, then 未记录)."""
    t = allocation.as_of
    latest: dict[str, tuple[dt.date, str]] = {}
    for c in ledger.contacts:
        if c.reason and c.date <= t and (c.room not in latest or c.date >= latest[c.room][0]):
            latest[c.room] = (c.date, c.reason)
    groups: dict[str, list] = defaultdict(lambda: [0, ZERO])
    for a in (arrears_list(ledger.units, allocation) if lines is None else lines):
        if not is_debtor(a):
            continue
        reason = latest.get(a.unit.room, (None, NO_REASON))[1]
        groups[reason][0] += 1
        groups[reason][1] += a.principal
    order = list(REASONS)
    keys = sorted(groups, key=lambda k: (k == NO_REASON, order.index(k) if k in order else 50, k))
    return [Breakdown(k, groups[k][0], groups[k][1]) for k in keys]


def arrears_by_building(ledger: Ledger, allocation: AllocationResult, lines=None) -> list[Breakdown]:
    from .rates import _natural

    groups: dict[str, list] = defaultdict(lambda: [0, ZERO])
    for a in (arrears_list(ledger.units, allocation) if lines is None else lines):
        if is_debtor(a):
            g = groups[a.unit.building or "未分楼栋"]
            g[0] += 1
            g[1] += a.principal
    return [Breakdown(k, v[0], v[1]) for k, v in sorted(groups.items(), key=lambda kv: _natural(kv[0]))]


def arrears_by_amount(ledger: Ledger, allocation: AllocationResult, lines=None) -> list[Breakdown]:
    """Owing units by open principal: <1,000 / 1,000–3,000 / 3,000–诉讼欠费金额 / ≥ 诉讼欠费金额."""
    top = ledger.settings.litigation_amount
    bands = [(Decimal(1000), "1000元以下"), (Decimal(3000), "1000–3000元"),
             (top, f"3000–{top.normalize():f}元"), (None, f"{top.normalize():f}元及以上")]
    groups = {label: [0, ZERO] for _l, label in bands}
    for a in (arrears_list(ledger.units, allocation) if lines is None else lines):
        if not is_debtor(a):
            continue
        label = next(lbl for limit, lbl in bands if limit is None or a.principal < limit)
        groups[label][0] += 1
        groups[label][1] += a.principal
    return [Breakdown(k, v[0], v[1]) for k, v in groups.items()]


def arrears_by_aging(ledger: Ledger, allocation: AllocationResult, lines=None) -> dict[str, Decimal]:
    """Open principal by 账龄 bucket, each charge aged from its own 应缴日期 (engine.aging)."""
    return aging_summary((arrears_list(ledger.units, allocation) if lines is None else lines), allocation.as_of)


def same_day(period: Period, offset_days: int) -> dt.date:
    return min(period.start + dt.timedelta(days=offset_days), period.end)


def trend_cuts(ledger: Ledger, as_of: dt.date, periods: int = TREND_PERIODS) -> list[tuple[Period, dt.date]]:
    """The last ``periods`` periods up to the one containing ``as_of``, each with the same day into it."""
    current = period_containing(as_of, ledger.settings.cycle)
    offset = (as_of - current.start).days
    wanted = [current]
    while len(wanted) < periods:
        wanted.insert(0, wanted[0].previous())
    return [(p, same_day(p, offset)) for p in wanted]


def trend_rows(ledger: Ledger, allocation: AllocationResult, as_of: Optional[dt.date] = None,
               periods: int = TREND_PERIODS, scopes: Optional[dict] = None) -> list[RateRow]:
    """收缴率 rows of the last ``periods`` periods, each as of the same day into its period.

    Scopes default to 全部, each 楼栋 and each 服务助理.  Rows are ordered by scope
    (as in :func:`scopes_of`) then period; periods without charges give no row.
    """
    return rates_and_trend(ledger, allocation, as_of, periods, scopes, with_rates=False)[1]


def rates_and_trend(ledger: Ledger, allocation: AllocationResult, as_of: Optional[dt.date] = None,
                    periods: int = TREND_PERIODS, scopes: Optional[dict] = None,
                    with_rates: bool = True) -> tuple[list[RateRow], list[RateRow]]:
    """(``collection_rates(ledger, allocation, as_of=as_of)``, :func:`trend_rows`) in one pass over the
    charges (:func:`engine.rates.rates_and_cuts`): the 看板 writes both."""
    t = as_of or allocation.as_of
    scopes = scopes if scopes is not None else scopes_of(ledger, by_item=False)
    full, rows = rates_and_cuts(ledger, allocation, trend_cuts(ledger, t, periods), scopes, as_of=t,
                                main=with_rates)
    order = {label: i for i, label in enumerate(scopes)}
    rows.sort(key=lambda r: (order[r.scope], r.period))
    return full, rows


def on_time_share(allocation: AllocationResult, period: Period) -> tuple[int, int]:
    """(units whose charges of ``period`` were all settled by their 应缴日期, units billed for it)."""
    state: dict[str, bool] = {}
    same: dict = {}  # id of a charge's period (charges share a few period objects) → is it ``period``?
    for acc in allocation.accounts.values():
        for s in acc.charges:
            p = s.charge.period
            hit = same.get(id(p))
            if hit is None:
                hit = same[id(p)] = p == period
            if hit:
                ok = s.settled(until=s.charge.due_date) >= s.charge.amount
                state[acc.room] = state.get(acc.room, True) and ok
    return sum(1 for v in state.values() if v), len(state)


@dataclass(frozen=True)
class Kpis:
    as_of: dt.date
    period: Period
    window: tuple[dt.date, dt.date]  # the period's days up to as_of
    rates: tuple[WindowRate, ...]  # 月度 / 季度 / 年度
    center: Optional[RateRow]  # the period's 收缴率 row for 全部 as of as_of
    by_scope: tuple[RateRow, ...]  # the period's rows for every 楼栋 / 服务助理
    average_days: Optional[Decimal]
    channels: dict
    online_share: Optional[Decimal]
    success: SuccessRate
    reasons: tuple[Breakdown, ...]
    aging: dict
    buildings: tuple[Breakdown, ...]
    amounts: tuple[Breakdown, ...]
    on_time: tuple[int, int]
    trend: tuple[RateRow, ...]
    debtors: Optional[Debtors] = None  # 欠费户 / 仅欠违约金 as of as_of (engine.aging.debtors)

    def center_trend(self) -> list[RateRow]:
        return [r for r in self.trend if r.scope == CENTER]


def kpis(ledger: Ledger, allocation: AllocationResult, period: Optional[Period] = None,
         as_of: Optional[dt.date] = None, trend: Optional[list[RateRow]] = None) -> Kpis:
    """Every KPI for ``period`` (default: the one containing as_of) as of ``as_of`` (≤ the allocation's day).

    ``trend``: the :func:`trend_rows` of as_of, when the caller has them already (:func:`rates_and_trend`).
    """
    t = as_of or allocation.as_of
    current = period_containing(t, ledger.settings.cycle)
    period = period or current
    start, end = period.start, min(period.end, t)
    scopes = scopes_of(ledger, by_item=False)
    trend = trend if trend is not None else trend_rows(ledger, allocation, t, scopes=scopes)
    if period == current:  # the trend's last period is this one, as of the same day t: its rows are these
        scope_rows = [r for r in trend if r.period == period]
    else:
        scope_rows = collection_rates(ledger, allocation, periods=[period], scopes=scopes, as_of=t)
    center = next((r for r in scope_rows if r.scope == CENTER), None)
    channels = channel_totals(allocation, start, end)
    lines = arrears_list(ledger.units, allocation)  # once, for every breakdown below
    return Kpis(
        as_of=t, period=period, window=(start, end),
        rates=tuple(window_rates(allocation, calendar_windows(t), t)),
        center=center,
        by_scope=tuple(r for r in scope_rows if r.scope != CENTER),
        average_days=average_days_to_pay(allocation, start, end),
        channels=channels,
        online_share=online_share(channels),
        success=success_rate(ledger, allocation, start, end, t),
        reasons=tuple(reasons_breakdown(ledger, allocation, lines)),
        aging=arrears_by_aging(ledger, allocation, lines),
        buildings=tuple(arrears_by_building(ledger, allocation, lines)),
        amounts=tuple(arrears_by_amount(ledger, allocation, lines)),
        on_time=on_time_share(allocation, period),
        trend=tuple(trend),
        debtors=debtors(ledger.units, allocation, lines),
    )


__all__ = ["AGING_BUCKETS", "Kpis", "kpis", "trend_rows", "trend_cuts", "rates_and_trend", "window_rate",
           "window_rates", "average_days_to_pay", "channel_totals", "online_share", "success_rate",
           "reasons_breakdown", "arrears_by_building", "arrears_by_amount", "arrears_by_aging", "on_time_share",
           "ONLINE_CHANNELS", "OFFLINE_CHANNELS"]
