"""收缴率 (collection rates) by period and scope (SPEC §4.5).  Numerator / denominator:

- 当期收缴率(as of t) = (实收 + 减免 + 预存冲抵 + 优惠 of period P's charges by t) / 应收 of P.
  Shown also **excluding** 减免, 预存冲抵 and 优惠: 实收 / 应收.  (优惠: a prepayment
  campaign's discount, :mod:`.campaigns`; its own column, after the others.)
- 清欠率 = principal of earlier periods' charges settled from P's first day to t
  / their open principal at the end of the day before P started (期初欠费).
- 综合收缴率 = (P collected + arrears collected) / (应收 + 期初欠费).
- 户收费率 = units whose P charges are all settled by t / units billed for P.

Scopes: ``全部``, ``楼栋:1``, ``服务助理:小王`` (their buildings; the whole
center when none are listed), ``项目:WYF``.

Example: P = 2026Q1 receivable 1,000.00; by t 700.00 paid in cash, 100.00
offset from 预存, 50.00 waived → 当期收缴率 = 850/1000 = 85%, excluding
waivers and offsets 70%.
"""
from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable, Optional

from ..ledger.money import ZERO
from ..ledger.periods import Period
from ..ledger.records import Assistant, Ledger, Unit
from .allocation import CASH, DISCOUNT, PREPAID, AllocationResult

CENTER = "全部"


@dataclass(frozen=True)
class RateRow:
    period: Period
    scope: str
    as_of: dt.date
    receivable: Decimal
    cash: Decimal
    waived: Decimal
    prepaid: Decimal
    opening_arrears: Decimal
    arrears_collected: Decimal
    units_paid: int
    units_billed: int
    discount: Decimal = ZERO  # 优惠 earned by prepayment campaigns (its own column, like 减免)

    @property
    def collected(self) -> Decimal:
        return self.cash + self.waived + self.prepaid + self.discount

    @property
    def current_rate(self) -> Optional[Decimal]:
        return _ratio(self.collected, self.receivable)

    @property
    def current_rate_cash_only(self) -> Optional[Decimal]:
        return _ratio(self.cash, self.receivable)

    @property
    def arrears_rate(self) -> Optional[Decimal]:
        return _ratio(self.arrears_collected, self.opening_arrears)

    @property
    def overall_rate(self) -> Optional[Decimal]:
        return _ratio(self.collected + self.arrears_collected, self.receivable + self.opening_arrears)

    @property
    def household_rate(self) -> Optional[Decimal]:
        return _ratio(Decimal(self.units_paid), Decimal(self.units_billed))


def _ratio(numerator: Decimal, denominator: Decimal) -> Optional[Decimal]:
    return None if not denominator else numerator / denominator


def assistant_rooms(assistant: Assistant, units: Iterable[Unit]) -> set[str]:
    """The rooms an assistant answers for: their buildings; else units naming them; else all."""
    units = list(units)
    if assistant.buildings:
        return {u.room for u in units if u.building in assistant.buildings}
    named = {u.room for u in units if u.assistant == assistant.name}
    return named or {u.room for u in units}


def scopes_of(ledger: Ledger, by_item: bool = True) -> dict[str, dict]:
    """scope label → {'rooms': set or None (all), 'item': code or None}."""
    scopes: dict[str, dict] = {CENTER: {"rooms": None, "item": None}}
    for building in sorted({u.building for u in ledger.units if u.building}, key=_natural):
        scopes[f"楼栋:{building}"] = {"rooms": {u.room for u in ledger.units if u.building == building}, "item": None}
    for assistant in ledger.assistants:
        scopes[f"服务助理:{assistant.name}"] = {"rooms": assistant_rooms(assistant, ledger.units), "item": None}
    if by_item:
        for item in ledger.items:
            scopes[f"项目:{item.code}"] = {"rooms": None, "item": item.code}
    return scopes


def _natural(text: str):
    return [int(t) if t.isdigit() else t for t in __import__("re").split(r"(\d+)", text)]


def collection_rates(ledger: Ledger, allocation: AllocationResult, periods: Optional[Iterable[Period]] = None,
                     scopes: Optional[dict[str, dict]] = None, as_of: Optional[dt.date] = None) -> list[RateRow]:
    """Rate rows for each period (default: every billed period started by as_of) and scope.

    ``as_of`` (default: the allocation's) may be earlier than the allocation's
    day, to see a rate "as it was" at a day into the period.
    """
    t = as_of or allocation.as_of
    scopes = scopes if scopes is not None else scopes_of(ledger)
    statuses = [s for acc in allocation.accounts.values() for s in acc.charges]
    if periods is None:
        periods = sorted({s.charge.period for s in statuses if s.charge.period.start <= t})
    periods = sorted(periods)
    # rooms → scope labels (for quick membership); item scopes are checked per charge
    room_scopes: dict[str, list[str]] = defaultdict(list)
    item_scopes: dict[str, list[str]] = defaultdict(list)
    for label, spec in scopes.items():
        if spec["item"] is not None:
            item_scopes[spec["item"]].append(label)
        elif spec["rooms"] is None:
            room_scopes["*"].append(label)
        else:
            for room in spec["rooms"]:
                room_scopes[room].append(label)

    label_cache: dict = {}

    def labels(status) -> list[str]:
        key = (status.charge.room, status.charge.item_code)
        got = label_cache.get(key)
        if got is None:
            got = label_cache[key] = (room_scopes["*"] + room_scopes.get(key[0], []) + item_scopes.get(key[1], []))
        return got

    zero = lambda: {"receivable": ZERO, "cash": ZERO, "waived": ZERO, "prepaid": ZERO, "opening": ZERO,
                    "arrears": ZERO, "discount": ZERO}
    acc = {(p, label): zero() for p in periods for label in scopes}
    unit_state: dict = defaultdict(dict)  # (p, label) → room → all paid?
    period_set = set(periods)
    starts = [p.start for p in periods]
    if not periods:  # nothing started by t (a bill due before its period starts is payable, but no row yet)
        return []
    latest = periods[-1]
    for s in statuses:
        c = s.charge
        if c.payable_from > t or c.period > latest:  # a later period's charge is no row's receivable or arrears
            continue
        scope_labels = labels(s)
        if not scope_labels:
            continue
        settled_by_t = [x for x in s.settlements if x.day <= t]
        if c.period in period_set:
            cash = prepaid = waived = discount = ZERO
            for x in settled_by_t:
                if x.kind == CASH:
                    cash += x.amount
                elif x.kind == PREPAID:
                    prepaid += x.amount
                elif x.kind == DISCOUNT:
                    discount += x.amount
                else:
                    waived += x.amount
            paid_all = cash + prepaid + waived + discount >= c.amount
            for label in scope_labels:
                a = acc[(c.period, label)]
                a["receivable"] += c.amount
                a["cash"] += cash
                a["prepaid"] += prepaid
                a["waived"] += waived
                a["discount"] += discount
                rooms = unit_state[(c.period, label)]
                rooms[c.room] = rooms.get(c.room, True) and paid_all
        # As arrears of each later period started by t: open at the end of the day
        # before that period started.  A charge settled before a period started is
        # not its arrears, so only periods up to the last settlement (or all, while
        # the charge is still open at t) are visited.
        open_at_t = c.amount - sum((x.amount for x in settled_by_t), ZERO)
        last_needed = t if open_at_t > 0 else max((x.day for x in settled_by_t), default=c.payable_from)
        first = bisect.bisect_right(starts, c.payable_from)
        last = bisect.bisect_right(starts, last_needed)
        for p in periods[first:last]:
            if p <= c.period:
                continue
            opening = c.amount - sum((x.amount for x in settled_by_t if x.day < p.start), ZERO)
            if opening <= 0:
                continue
            collected = min(opening, sum((x.amount for x in settled_by_t if x.day >= p.start), ZERO))
            for label in scope_labels:
                a = acc[(p, label)]
                a["opening"] += opening
                a["arrears"] += collected
    rows = []
    for p in periods:
        for label in scopes:
            a = acc[(p, label)]
            rooms = unit_state.get((p, label), {})
            if not a["receivable"] and not a["opening"]:
                continue
            rows.append(RateRow(p, label, t, a["receivable"], a["cash"], a["waived"], a["prepaid"], a["opening"],
                                a["arrears"], sum(1 for v in rooms.values() if v), len(rooms), a["discount"]))
    return rows
