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

    How it is summed (the figures are those of adding every charge to every scope it belongs
    to, as tests/test_rates_reference.py checks against that plain loop): a charge's scopes
    depend only on its room and item, so the estate has a few dozen distinct scope lists.  Each
    charge is added once to its (period, scope list) group; each scope's figures are the sum of
    the groups that name it, and its units the union of theirs.  Decimal sums are exact, so the
    grouping changes no figure.
    """
    t = as_of or allocation.as_of
    scopes = scopes if scopes is not None else scopes_of(ledger)
    accounts = allocation.accounts.values()
    given = periods is not None
    if given:
        periods = sorted(periods)
        if not periods:
            return []
        latest = periods[-1]
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
    everywhere = room_scopes["*"]

    # Slots: the distinct periods with a row (a period given twice is one row key, visited twice as
    # arrears, as always).  Given periods have theirs from the start; by default every period
    # started by t is one (found in the single pass over the charges below).
    slot_of: dict = {}  # period → slot
    slot_periods: list = []  # slot → period

    def new_slot(period) -> int:
        slot_of[period] = len(slot_periods)
        slot_periods.append(period)
        for group_cells in cells:
            group_cells.append([ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, set(), set()])
        return slot_of[period]

    # groups: one per distinct scope list; per group and slot one cell:
    # [receivable, cash, prepaid, waived, discount, opening, arrears, rooms billed, rooms not settled by t]
    group_of: dict = {}  # tuple of labels → group number
    group_labels: list = []
    cells: list = []  # group → slot → cell
    kind_index = {CASH: 1, PREPAID: 2, DISCOUNT: 4}  # anything else is 减免 (3)

    cycles: set = set()  # (months, aligned?) of every period met

    def cycle_of(period) -> tuple:
        return period.months, period.months > 0 and (period.first_month - 1) % period.months == 0

    if given:
        for p in periods:
            cycles.add(cycle_of(p))
            if p not in slot_of:
                new_slot(p)

    def group_for(room: str, item: str):
        labels = tuple(everywhere + room_scopes.get(room, []) + item_scopes.get(item, []))
        if not labels:
            return None
        g = group_of.get(labels)
        if g is None:
            g = group_of[labels] = len(group_labels)
            group_labels.append(labels)
            cells.append([[ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, set(), set()] for _ in slot_periods])
        return g

    # Per period object (charges share a few; a dict keyed by id, so no charge's period is hashed):
    # (its slot or None, a later period's?, its last day, the period itself — which keeps its id taken).
    # By default "later" is "not started by t": such a period is after every period started by t.
    period_info: dict = {}

    def info_of(period):
        cycles.add(cycle_of(period))
        if given:
            slot, later = slot_of.get(period), period > latest
        elif period.start > t:
            slot, later = None, True
        else:
            slot, later = slot_of.get(period), False
            if slot is None:
                slot = new_slot(period)
        got = period_info[id(period)] = (slot, later, period.end, period)
        return got

    # Arrears: a charge is arrears of a later period p (p > its own, started after it became
    # payable) while open at the end of the day before p started: only periods up to its last
    # settlement (or all, while it is still open at t) can count it.  When every period is a
    # calendar month, or every one a calendar quarter, a later period starts after the charge's
    # period ends, so only charges open past that end (candidates) are looked at once the periods
    # are known; otherwise every charge is.
    candidates: list = []  # (group, status, amount, last day needed, its period's last day)
    for acc in accounts:
        own_room = acc.room
        by_item: dict = {}  # item code → group of the account's own room (None: the charge is in no scope)
        for s in acc.charges:
            c = s.charge
            pf = c.payable_from
            if pf > t:
                continue
            period = c.period
            info = period_info.get(id(period)) or info_of(period)
            if info[1]:  # a later period's charge is no row's receivable or arrears
                continue
            room = c.room
            if room == own_room:
                item = c.item_code
                g = by_item.get(item, -1)
                if g == -1:
                    g = by_item[item] = group_for(room, item)
            else:  # a charge filed under another room's account: never so from allocate
                g = group_for(room, c.item_code)
            if g is None:
                continue
            amount = c.amount
            settled = ZERO
            last_day = pf  # the last settlement's day (pf when none, or all earlier: no arrears either way)
            slot = info[0]
            if slot is not None:
                cell = cells[g][slot]
                cell[0] += amount
                for x in s.settlements:
                    day = x.day
                    if day <= t:
                        part = x.amount
                        cell[kind_index.get(x.kind, 3)] += part
                        settled += part
                        if day > last_day:
                            last_day = day
                cell[7].add(room)
                if settled < amount:
                    cell[8].add(room)
            else:
                for x in s.settlements:
                    day = x.day
                    if day <= t:
                        settled += x.amount
                        if day > last_day:
                            last_day = day
            last_needed = t if amount - settled > 0 else last_day
            candidates.append((g, s, amount, last_needed, info[2]))
    if _one_cycle(cycles):  # a later period starts after this charge's own ends: only those open past it
        candidates = [candidate for candidate in candidates if candidate[3] > candidate[4]]

    if not given:
        periods = sorted(slot_periods)
        if not periods:  # nothing started by t (a bill due before its period starts is payable, but no row yet)
            return []
    slots = [slot_of[p] for p in periods]  # position in ``periods`` → slot
    starts = [p.start for p in periods]
    n_periods = len(periods)
    after: dict = {}  # id of a period → the first position in ``periods`` after it
    bisect_right = bisect.bisect_right
    for g, s, amount, last_needed, _end in candidates:
        c = s.charge
        pf = c.payable_from
        first = bisect_right(starts, pf)
        later_than = after.get(id(c.period))
        if later_than is None:
            later_than = after[id(c.period)] = bisect_right(periods, c.period)
        if later_than > first:
            first = later_than  # periods up to the charge's own are not its arrears
        if first >= n_periods or starts[first] > last_needed:
            continue
        settled_by_t = [x for x in s.settlements if x.day <= t]
        group_cells = cells[g]
        for i in range(first, bisect_right(starts, last_needed)):
            start = starts[i]
            opening = amount - sum((x.amount for x in settled_by_t if x.day < start), ZERO)
            if opening <= 0:
                continue
            collected = min(opening, sum((x.amount for x in settled_by_t if x.day >= start), ZERO))
            cell = group_cells[slots[i]]
            cell[5] += opening
            cell[6] += collected

    # each scope: the groups naming it (once per naming, as each charge was added once per naming)
    groups_of_label: dict = defaultdict(list)
    for g, labels in enumerate(group_labels):
        for label in labels:
            groups_of_label[label].append(g)
    rows = []
    for p, slot in zip(periods, slots):
        for label in scopes:
            total = [ZERO] * 7
            rooms_billed: set = set()
            rooms_unpaid: set = set()
            for g in groups_of_label.get(label, ()):
                cell = cells[g][slot]
                for k in range(7):
                    total[k] += cell[k]
                rooms_billed |= cell[7]
                rooms_unpaid |= cell[8]
            receivable, cash, prepaid, waived, discount, opening, arrears = total
            if not receivable and not opening:
                continue
            rows.append(RateRow(p, label, t, receivable, cash, waived, prepaid, opening, arrears,
                                len(rooms_billed - rooms_unpaid), len(rooms_billed), discount))
    return rows


def _one_cycle(cycles: set) -> bool:
    """Every period a calendar month, or every one a calendar quarter: then a period later than
    another starts after the other ends."""
    return len(cycles) == 1 and next(iter(cycles)) in ((1, True), (3, True))
