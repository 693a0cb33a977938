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
from typing import Callable, Iterable, Optional

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
                     scopes: Optional[dict[str, dict]] = None, as_of: Optional[dt.date] = None,
                     share: Optional[Callable] = None) -> list[RateRow]:
    """Rate rows for each period (default: every billed period started by as_of) and scope.

    ``as_of`` (default: the allocation's) may be earlier than the allocation's
    day, to see a rate "as it was" at a day into the period.

    How it is summed (the figures are those of adding every charge to every scope it belongs
    to, as tests/test_rates_reference.py checks against that plain loop): a charge's scopes
    depend only on its room and item, so the estate has a few dozen distinct scope lists.  Each
    charge is added once to its (period, scope list) group; each scope's figures are the sum of
    the groups that name it, and its units the union of theirs.  Decimal sums are exact, so the
    grouping changes no figure.

    ``share``: the allocation holds only a part of the units (a shard; the rest are summed by
    another process, see jobs/ledger.py), and the rows of this part are to be added to the other
    parts' rows.  ``share(periods, cycles)`` is called once every charge is read, with the periods
    met (by default: those started by the day that have a charge) and the billing cycles seen; it
    returns those of every part, so that each part counts its charges as arrears of every period
    of the whole estate.  Every (period, scope) row is then given, empty or not, in the same order
    in every part: :func:`add_rate_rows` adds the parts' rows into the estate's.
    """
    return _rate_rows(ledger, allocation, periods, scopes, as_of, share=share)[0]


def add_rate_rows(parts: list[list[RateRow]]) -> list[RateRow]:
    """The rows of the whole estate from the rows of its parts (each from ``collection_rates(…, share=…)``).

    The parts hold disjoint units (each unit's charges are in its own account), so every figure
    adds, the unit counts too; a row empty in the sum (no 应收, no 期初欠费) is left out, as it is
    when the estate is summed at once.
    """
    if len({len(rows) for rows in parts}) > 1:
        raise ValueError("rate rows of the parts do not line up")
    out = []
    for rows in zip(*parts):
        first = rows[0]
        if any((r.period, r.scope, r.as_of) != (first.period, first.scope, first.as_of) for r in rows):
            raise ValueError("rate rows of the parts do not line up")
        total = RateRow(
            first.period, first.scope, first.as_of,
            receivable=sum((r.receivable for r in rows), ZERO), cash=sum((r.cash for r in rows), ZERO),
            waived=sum((r.waived for r in rows), ZERO), prepaid=sum((r.prepaid for r in rows), ZERO),
            opening_arrears=sum((r.opening_arrears for r in rows), ZERO),
            arrears_collected=sum((r.arrears_collected for r in rows), ZERO),
            units_paid=sum(r.units_paid for r in rows), units_billed=sum(r.units_billed for r in rows),
            discount=sum((r.discount for r in rows), ZERO))
        if total.receivable or total.opening_arrears:
            out.append(total)
    return out


def rates_and_cuts(ledger: Ledger, allocation: AllocationResult, cuts: Iterable[tuple[Period, dt.date]],
                   cut_scopes: dict[str, dict], scopes: Optional[dict[str, dict]] = None,
                   as_of: Optional[dt.date] = None, main: bool = True) -> tuple[list[RateRow], list[RateRow]]:
    """``collection_rates(ledger, allocation, scopes=scopes, as_of=as_of)`` and, in the same pass over
    the charges, each cut's rows: for (P, d) of ``cuts``, ``collection_rates(ledger, allocation,
    periods=[P], scopes=cut_scopes, as_of=d)`` (d from P's first day up to as_of), in the order of
    ``cuts``.  ``main=False``: the cuts' rows only (the first list is empty).

    The 看板 needs both: the 收缴率 sheet (every period as of the day) and the 收缴率趋势 (the
    last 8 periods, each as of the same day into it).  A cut is one more (period, day) cell per
    scope list: a charge of P adds to it what was settled by d, a charge open at P's first day
    adds its 期初欠费 and what was collected from then to d.
    """
    cuts = list(cuts)
    t = as_of or allocation.as_of
    for p, d in cuts:
        if not p.start <= d <= t:
            raise ValueError(f"cut {p} as of {d}: the day must be in the period and not after {t}")
    return _rate_rows(ledger, allocation, None, scopes, as_of, cuts, cut_scopes, main)


def _rate_rows(ledger: Ledger, allocation: AllocationResult, periods: Optional[Iterable[Period]],
               scopes: Optional[dict[str, dict]], as_of: Optional[dt.date], cuts: Iterable = (),
               cut_scopes: Optional[dict[str, dict]] = None, main: bool = True,
               share: Optional[Callable] = None) -> tuple[list, list]:
    if share is not None and (periods is not None or cuts or not main):
        raise ValueError("only the default rows (every period started by the day) are summed in parts")
    t = as_of or allocation.as_of
    scopes = scopes if scopes is not None else scopes_of(ledger)
    cuts = list(cuts)
    cut_scopes = cut_scopes if cut_scopes is not None else scopes
    accounts = allocation.accounts.values()
    given = periods is not None
    if given:
        periods = sorted(periods)
        if not periods:
            return [], []
        latest = periods[-1]
    elif not main:
        if not cuts:
            return [], []
        given, periods, latest = True, [], max(p for p, _d in cuts)
    # rooms → scope labels (for quick membership); item scopes are checked per charge
    room_scopes: dict[str, list[str]] = defaultdict(list)
    item_scopes: dict[str, list[str]] = defaultdict(list)
    for label, spec in {**cut_scopes, **scopes}.items():
        if spec["item"] is not None:
            item_scopes[spec["item"]].append(label)
        elif spec["rooms"] is None:
            room_scopes["*"].append(label)
        else:
            for room in spec["rooms"]:
                room_scopes[room].append(label)
    everywhere = room_scopes["*"]

    # Slots: one cell per scope list for each (period, day) with rows: the periods' as of t (a
    # period given twice is one row key, visited twice as arrears, as always) and each cut.  Given
    # periods and cuts have theirs from the start; by default every period started by t is one
    # (found in the single pass over the charges below).
    slot_of: dict = {}  # (period, day) → slot
    slot_keys: list = []  # slot → (period, day)
    cut_slots: dict = defaultdict(list)  # period → [(slot, day)] of its cuts before t

    def new_slot(period, day=t) -> int:
        slot = slot_of[(period, day)] = len(slot_keys)
        slot_keys.append((period, day))
        for group_cells in cells:
            group_cells.append([ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, set(), set()])
        if day != t:
            cut_slots[period].append((slot, day))
        return slot

    # groups: one per distinct scope list; per group and slot one cell:
    # [receivable, cash, prepaid, waived, discount, opening, arrears, rooms billed, rooms not settled by t]
    group_of: dict = {}  # tuple of labels → group number
    group_labels: list = []
    cells: list = []  # group → slot → cell
    kind_index = {CASH: 1, PREPAID: 2, DISCOUNT: 4}  # anything else is 减免 (3)

    cycles: set = set()  # (months, aligned?) of every period met

    def cycle_of(period) -> tuple:
        return period.months, period.months > 0 and (period.first_month - 1) % period.months == 0

    for p in periods if given else ():
        cycles.add(cycle_of(p))
        if (p, t) not in slot_of:
            new_slot(p)
    for p, d in cuts:
        cycles.add(cycle_of(p))
        if (p, d) not in slot_of:
            new_slot(p, d)

    def group_for(room: str, item: str):
        labels = tuple(everywhere + room_scopes.get(room, []) + item_scopes.get(item, []))
        if not labels:
            return None
        g = group_of.get(labels)
        if g is None:
            g = group_of[labels] = len(group_labels)
            group_labels.append(labels)
            cells.append([[ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, set(), set()] for _ in slot_keys])
        return g

    # Per period object (charges share a few; a dict keyed by id, so no charge's period is hashed):
    # (its slot as of t or None, a later period's?, its last day, the period itself — which keeps
    # its id taken —, its cuts' (slot, day) before t).
    # By default "later" is "not started by t": such a period is after every period started by t.
    period_info: dict = {}
    discovered: dict = {}  # by default: the periods started by t that have a charge (in order met)

    def info_of(period):
        cycles.add(cycle_of(period))
        if given:
            slot, later = slot_of.get((period, t)), period > latest
        elif period.start > t:
            slot, later = None, True
        else:
            slot, later = slot_of.get((period, t)), False
            if period not in discovered:
                discovered[period] = None
                if slot is None:
                    slot = new_slot(period)
        got = period_info[id(period)] = (slot, later, period.end, period, tuple(cut_slots.get(period, ())))
        return got

    # Arrears: a charge is arrears of a later period p (p > its own, started after it became
    # payable) while open at the end of the day before p started: only periods up to its last
    # settlement (or all, while it is still open at t) can count it.  When every period is a
    # calendar month, or every one a calendar quarter, a later period starts after the charge's
    # period ends, so only charges open past that end (candidates) are looked at once the periods
    # are known; otherwise every charge is.
    def add_receivable(cell, settlements, until, room, amount, last_day):
        """A charge of the cell's period as its 应收, with what was settled by ``until`` by kind;
        (settled by then, the day of the last of those settlements or ``last_day`` if later)."""
        settled = ZERO
        cell[0] += amount
        for x in settlements:
            day = x.day
            if day <= until:
                part = x.amount
                cell[kind_index.get(x.kind, 3)] += part
                settled += part
                if day > last_day:
                    last_day = day
        cell[7].add(room)
        if settled < amount:
            cell[8].add(room)
        return settled, last_day

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
                settled, last_day = add_receivable(cells[g][slot], s.settlements, t, room, amount, pf)
            else:
                for x in s.settlements:
                    day = x.day
                    if day <= t:
                        settled += x.amount
                        if day > last_day:
                            last_day = day
            for cut, until in info[4]:  # the period's rows as of an earlier day
                if pf <= until:
                    add_receivable(cells[g][cut], s.settlements, until, room, amount, pf)
            last_needed = t if amount - settled > 0 else last_day
            candidates.append((g, s, amount, last_needed, info[2]))
    if share is not None:  # the periods and cycles of every part: each has a row (slot) here too
        shared_periods, shared_cycles = share(sorted(discovered), cycles)
        cycles = set(shared_cycles)
        for p in shared_periods:
            if p not in discovered:
                discovered[p] = None
                if (p, t) not in slot_of:
                    new_slot(p)
    if _one_cycle(cycles):  # a later period starts after this charge's own ends: only those open past it
        candidates = [candidate for candidate in candidates if candidate[3] > candidate[4]]

    if not given:
        periods = sorted(discovered)
        if not periods and not cuts:  # nothing started by t (a bill due before its period starts is payable)
            return [], []
    # the arrears positions, in period order: each row period as of t (twice when given twice), each cut
    row_keys = {(p, t) for p in periods}
    positions = [(p, t, slot_of[(p, t)]) for p in periods] + [
        (p, d, slot_of[(p, d)]) for p, d in dict.fromkeys(cuts) if (p, d) not in row_keys]
    positions.sort(key=lambda x: (x[0], x[1]))
    slots = [slot for _p, _d, slot in positions]  # position → slot
    days = [d for _p, d, _slot in positions]  # position → the day its row is as of
    position_periods = [p for p, _d, _slot in positions]
    starts = [p.start for p in position_periods]
    n_positions = len(positions)
    after: dict = {}  # id of a period → the first position after it
    bisect_right = bisect.bisect_right
    for g, s, amount, last_needed, _end in candidates:
        c = s.charge
        pf = c.payable_from
        first = bisect_right(starts, pf)
        later_than = after.get(id(c.period))
        if later_than is None:
            later_than = after[id(c.period)] = bisect_right(position_periods, c.period)
        if later_than > first:
            first = later_than  # periods up to the charge's own are not its arrears
        if first >= n_positions or starts[first] > last_needed:
            continue
        settled_by_t = [x for x in s.settlements if x.day <= t]
        group_cells = cells[g]
        for i in range(first, bisect_right(starts, last_needed)):
            start = starts[i]
            opening = amount - sum((x.amount for x in settled_by_t if x.day < start), ZERO)
            if opening <= 0:
                continue
            until = days[i]
            collected = sum((x.amount for x in settled_by_t if start <= x.day <= until), ZERO)
            cell = group_cells[slots[i]]
            cell[5] += opening
            cell[6] += min(opening, collected)

    # each scope: the groups naming it (once per naming, as each charge was added once per naming)
    groups_of_label: dict = defaultdict(list)
    for g, labels in enumerate(group_labels):
        for label in labels:
            groups_of_label[label].append(g)

    def rows_of(p, day, labels) -> list[RateRow]:
        slot = slot_of[(p, day)]
        out = []
        for label in labels:
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
            if not receivable and not opening and share is None:  # (a part's rows are all given)
                continue
            out.append(RateRow(p, label, day, receivable, cash, waived, prepaid, opening, arrears,
                               len(rooms_billed - rooms_unpaid), len(rooms_billed), discount))
        return out

    rows = [r for p in periods for r in rows_of(p, t, scopes)] if main else []
    return rows, [r for p, d in cuts for r in rows_of(p, d, cut_scopes)]


def _one_cycle(cycles: set) -> bool:
    """Every period a calendar month, or every one a calendar quarter: then a period later than
    another starts after the other ends."""
    return len(cycles) == 1 and next(iter(cycles)) in ((1, True), (3, True))
