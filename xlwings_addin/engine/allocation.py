"""冲抵 (allocation of payments) and the state of every charge as of a day (SPEC §4.2, §4.3).

Per unit, events are replayed in date order (bills becoming payable, then
waivers, then payments, each day):

1. A bill becomes payable on its period's first day (or its 应缴日期 if that is
   earlier).  If the unit has a 预存 (prepaid) balance, it is offset against
   the bill at once: that part is shown as 预存冲抵.
2. A payment with 指定期间 goes to that period's charges first.
3. Then to the oldest payable charge first (by 应缴日期, then 项目编码); with
   冲抵顺序 = 先本金后违约金 all principal is cleared before any late fee, and
   the late fee paid is the one accrued to the payment's day.  With
   先违约金后本金 accrued late fees are paid first.
4. What remains is the unit's 预存 balance.
5. A reversal row (negative 金额 with 冲销收据号) undoes the receipt it names
   (wholly, or partly when its amount is smaller); the pair is left out.

费用减免 settles principal like a payment but is not collected money;
违约金减免 reduces the late fee.  Money is conserved: for every unit,
Σ payments − 退款 = principal paid in cash + 预存冲抵 (from payments) + late fee paid + 预存 balance.

6. A payment with a 指定期间 not yet billed (e.g. 2026Q1 paid on 2025-12-20) is
   held for that period (earmarked 预存, 民法典 第560条: the payer's designation
   governs) and offset against that period's bills when they become payable;
   older arrears are not paid from it.  What is still held when the period has
   ended becomes ordinary 预存.
7. 退款 (收款 渠道 退款) pays 预存 back; one larger than the balance is refused.
8. A payment that earns a prepayment campaign (优惠活动) settles the item's
   future bills by 优惠 (see :mod:`.campaigns`).

Example: bills 2026Q1 (1,200.00 due 2026-01-25) and 2026Q2 (1,200.00 due
2026-04-25); 1,500.00 paid on 2026-05-10 pays Q1 in full, 300.00 of Q2, and
nothing of the late fee (principal first); Q1's fee is then 1,200 × 0.0003 ×
105 days = 37.80 and keeps that value, Q2's fee accrues on the 900.00 still open.
"""
from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import operator
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Optional

from ..ledger.money import ZERO
from ..ledger.periods import Period, period_containing
from ..ledger.records import Charge, Ledger, Payment, Problem, Settings, Waiver
from .late_fee import NO_FEE, accrued_late_fee, accrued_late_fees, court_reference_rate

CASH = "实收"
PREPAID = "预存冲抵"
WAIVED = "减免"
DISCOUNT = "优惠"  # earned by a prepayment campaign (see engine/campaigns.py)


@dataclass(frozen=True)
class Settlement:
    day: dt.date
    amount: Decimal
    kind: str  # 实收 / 预存冲抵 / 减免 / 优惠
    receipt_no: str = ""
    channel: str = ""


@dataclass(frozen=True)
class ChargeStatus:
    """One charge as of a day: what settled it, what is open, and its late fee."""

    charge: Charge
    settlements: tuple[Settlement, ...]
    late_fee_applies: bool
    late_fee: Decimal  # accrued to as_of, rounded, capped
    late_fee_ref: Decimal  # court-reference accrued fee
    fee_paid: Decimal
    fee_waived: Decimal

    def settled(self, kind: Optional[str] = None, until: Optional[dt.date] = None,
                since: Optional[dt.date] = None) -> Decimal:
        return sum(
            (s.amount for s in self.settlements
             if (kind is None or s.kind == kind) and (until is None or s.day <= until)
             and (since is None or s.day >= since)),
            ZERO,
        )

    def open_principal(self, at: Optional[dt.date] = None) -> Decimal:
        return self.charge.amount - self.settled(until=at)

    @property
    def open(self) -> Decimal:
        known = self.__dict__.get("_open")  # set by allocate_unit, which has the figure at hand (not a field)
        return self.charge.amount - self.settled() if known is None else known

    @property
    def fee_outstanding(self) -> Decimal:
        return max(ZERO, self.late_fee - self.fee_paid - self.fee_waived)

    @property
    def fee_ref_outstanding(self) -> Decimal:
        return max(ZERO, self.late_fee_ref - self.fee_paid - self.fee_waived)



@dataclass(frozen=True)
class UnitAccount:
    room: str
    charges: tuple[ChargeStatus, ...]  # payable by as_of, oldest first
    prepaid_balance: Decimal
    payments_total: Decimal  # net of reversals, dated ≤ as_of
    fee_paid_total: Decimal
    payments: tuple[Payment, ...] = ()  # effective (net) payments
    refunded: Decimal = ZERO  # 退款 of 预存 paid back by as_of (part of payments_total no longer held)
    earmarked: tuple[tuple, ...] = ()  # (period, amount) held for a 指定期间 not yet billed (in prepaid_balance)
    offers: tuple = ()  # (receipt_no, campaigns.Offer) for every campaign a payment earned or missed

    @property
    def open_principal(self) -> Decimal:
        return sum((c.open for c in self.charges), ZERO)

    # A charge without a late fee adds exactly nothing: its fee_outstanding is max(ZERO, 0 − paid − waived),
    # which is ZERO itself (paid and waived are never negative), and adding ZERO changes neither the value
    # nor the exponent of a sum that starts at ZERO — so those charges (most of them) are skipped.

    @property
    def fee_outstanding(self) -> Decimal:
        return sum((c.fee_outstanding for c in self.charges if c.late_fee), ZERO)

    @property
    def fee_ref_outstanding(self) -> Decimal:
        return sum((c.fee_ref_outstanding for c in self.charges if c.late_fee_ref), ZERO)

    def earmarked_total(self, besides: Optional[Period] = None) -> Decimal:
        """预存 held for a 指定期间 not yet billed (民法典 第560条: it pays that period, never arrears),
        leaving out what is held for ``besides`` (a notice of that period is paid from it)."""
        return sum((amount for period, amount in self.earmarked if period != besides), ZERO)

    def open_charges(self) -> list[ChargeStatus]:
        return [c for c in self.charges if c.open > 0]


@dataclass(frozen=True)
class AllocationResult:
    as_of: dt.date
    accounts: dict  # room → UnitAccount
    problems: tuple[Problem, ...]


# The replay makes a Settlement for every part paid and a ChargeStatus for every charge (hundreds of
# thousands on a large estate).  A frozen dataclass's __init__ sets each field through
# object.__setattr__, one call per field; _settlement (and allocate_unit for a ChargeStatus) sets
# the instance's __dict__ at once instead — the same instance (equal, same repr and hash; neither
# class has a __post_init__).  tests/test_rates_reference.py checks they match the classes' fields.
_new = object.__new__
_set = object.__setattr__


def _settlement(day: dt.date, amount: Decimal, kind: str, receipt_no: str = "", channel: str = "") -> Settlement:
    """``Settlement(day, amount, kind, receipt_no, channel)``."""
    settlement = _new(Settlement)
    _set(settlement, "__dict__", {"day": day, "amount": amount, "kind": kind, "receipt_no": receipt_no,
                                  "channel": channel})
    return settlement


class _Charge:
    """Mutable working state of one charge during the replay."""

    __slots__ = ("charge", "applies", "settlements", "fee_paid", "fee_waived", "open", "rank")

    def __init__(self, charge: Charge, applies: bool):
        self.charge, self.applies = charge, applies
        self.settlements: list[Settlement] = []
        self.fee_paid = ZERO
        self.fee_waived = ZERO
        self.open = charge.amount
        # self.rank: place in the unit's charges sorted by _order, set by allocate_unit when it needs it

    def settle(self, day: dt.date, amount: Decimal, kind: str, payment: Optional[Payment] = None) -> None:
        self.settlements.append(_settlement(day, amount, kind, payment.receipt_no if payment else "",
                                            payment.channel if payment else ""))
        self.open -= amount

    def fee(self, day: dt.date, rate: Decimal, settings: Settings) -> Decimal:
        if not self.applies:
            return ZERO
        return accrued_late_fee(self.charge.amount, self.charge.due_date,
                                [(s.day, s.amount) for s in self.settlements], day, rate,
                                settings.grace_days, settings.late_fee_cap)

    def fee_due(self, day: dt.date, settings: Settings) -> Decimal:
        return max(ZERO, self.fee(day, settings.late_fee_rate, settings) - self.fee_paid - self.fee_waived)


def net_reversals(payments: list[Payment]) -> tuple[list[Payment], list[Problem]]:
    """Apply reversal rows to the receipts they name; return the effective payments."""
    if not any(map(_reverses, payments)):  # (no reversal row: every payment stands as it is)
        return list(payments), []
    problems: list[Problem] = []
    by_receipt = {p.receipt_no: p for p in payments if not p.reverses}
    reduced: dict[str, Decimal] = {}
    reversed_once: set[str] = set()
    # in date order, then receipt number (as payments are replayed), never in typing order:
    # when two rows reverse one receipt, the earlier one counts whichever row was typed first
    for p in sorted((p for p in payments if p.reverses), key=lambda p: (p.paid_on, p.receipt_no)):
        original = by_receipt.get(p.reverses)
        if original is None:
            problems.append(Problem.error(p.source, f"冲销收据号“{p.reverses}”不存在，此冲销行未处理"))
            continue
        if p.reverses in reversed_once:
            problems.append(Problem.error(p.source, f"收据“{p.reverses}”已被冲销过，不能重复冲销"))
            continue
        if original.room != p.room:
            problems.append(Problem.error(p.source, f"冲销行房号“{p.room}”与原收据房号“{original.room}”不一致"))
            continue
        if p.amount >= 0 or -p.amount > original.amount:
            problems.append(Problem.error(p.source, f"冲销金额 {p.amount} 应为负数且不超过原收据金额 {original.amount}"))
            continue
        reversed_once.add(p.reverses)
        reduced[p.reverses] = original.amount + p.amount
    effective = []
    for p in payments:
        if p.reverses:
            continue
        if p.receipt_no in reduced:
            if reduced[p.receipt_no] == 0:
                continue
            p = dataclasses.replace(p, amount=reduced[p.receipt_no])
        effective.append(p)
    return effective, problems


# the order charges are paid in: (应缴日期, 项目编码, 期间, 账单号) of a _Charge
_order = operator.attrgetter("charge.due_date", "charge.item_code", "charge.period", "charge.bill_no")


_event_key = operator.itemgetter(0, 1, 2)  # (day, kind, key): never the event's object
_payable_from = operator.attrgetter("charge.payable_from")
_amount = operator.attrgetter("amount")
_reverses = operator.attrgetter("reverses")
_END_KIND = 9
_END = (dt.date.max, _END_KIND, (), None)  # after every event: the bills still to become payable are merged in


def _pay_principal(targets: list[_Charge], start: int, remaining: Decimal, day: dt.date, kind: str,
                   payment: Optional[Payment] = None) -> Decimal:
    """Pay ``remaining`` (of the payment, or of a 费用减免) to the open principal of ``targets[start:]``
    in order; what is left.

    (``_Charge.settle`` inlined, and ``min(remaining, open)`` as min picks it — the first of two equal
    values — since most settlements of a large estate are made here.)
    """
    receipt_no, channel = (payment.receipt_no, payment.channel) if payment is not None else ("", "")
    for i in range(start, len(targets)):
        if remaining <= 0:
            break
        c = targets[i]
        open_ = c.open
        part = open_ if open_ < remaining else remaining
        if part > 0:
            c.settlements.append(_settlement(day, part, kind, receipt_no, channel))
            c.open = open_ - part
            remaining -= part
    return remaining


def _pay_fees(targets: list[_Charge], remaining: Decimal, fee_paid_total: Decimal, day: dt.date,
              settings: Settings) -> tuple[Decimal, Decimal]:
    """Pay ``remaining`` to the late fees accrued on ``targets`` by ``day``, in order; (what is left, the
    unit's fee paid so far)."""
    for c in targets:
        if remaining <= 0:
            break
        part = min(remaining, c.fee_due(day, settings))
        if part > 0:
            c.fee_paid += part
            fee_paid_total += part
            remaining -= part
    return remaining, fee_paid_total


def allocate_unit(room: str, charges: list[Charge], payments: list[Payment], waivers: list[Waiver],
                  settings: Settings, late_fee_items: set[str], as_of: dt.date,
                  problems: list[Problem], refunds=(), campaign_context=None, *,
                  reference_rate: Optional[Decimal] = None) -> UnitAccount:
    """Replay one unit's history up to ``as_of`` (inclusive).

    ``refunds``: 退款 rows (see :func:`_refund`); ``campaign_context``: (unit, items by code,
    campaigns) when the ledger has 优惠活动 (see :func:`_campaign_offers`); ``reference_rate``:
    court_reference_rate(settings.lpr), when the caller has it already.
    """
    work = [_Charge(c, c.item_code in late_fee_items) for c in charges if c.payable_from <= as_of]
    work.sort(key=_order)
    # Events in date order; on one day: bills becoming payable (in ``work``'s order), then waivers,
    # payments and refunds, each by its key.  The bills are a stream of their own, merged in below:
    # ``work`` sorted by the day each becomes payable (stably), which is ``work`` itself when its
    # days already run in order (the usual case).
    bill_days = [c.charge.payable_from for c in work]
    in_order = bill_days == sorted(bill_days)
    if in_order:
        bills = work
    else:
        for rank, c in enumerate(work):
            c.rank = rank
        bills = sorted(work, key=_payable_from)
        bill_days = [c.charge.payable_from for c in bills]
    events = []
    for w in waivers:
        if w.date <= as_of:
            # same-day waivers in an order of their own content, never of their rows: the same inputs
            # in any order give the same settlements and the same 问题 (smaller amounts first)
            events.append((w.date, 1, (w.kind, str(w.period or ""), w.amount, w.reason, w.approver), w))
    events += [(p.paid_on, 2, (p.receipt_no,), p) for p in payments if p.paid_on <= as_of]
    for r in refunds:
        if r.paid_on <= as_of:
            events.append((r.paid_on, 3, (r.receipt_no,), r))
    events.sort(key=_event_key)
    events.append(_END)

    # ``payable`` is kept in _order.  A bill joins it at its rank in ``work`` (the same place as
    # insort by _order: bills of equal key become payable the same day, in ``work``'s order); when
    # the bills become payable in ``work``'s order anyway (the usual case) that is always the end.
    # Every charge before ``first_open`` is settled in full (``open`` only ever falls), so paying
    # principal starts there instead of walking past every paid bill of the unit's history.
    payable: list[_Charge] = []
    ranks: list[int] = []
    first_open = 0
    next_bill = 0
    prepaid = ZERO
    refunded = ZERO
    earmarked: dict = {}  # period → 预存 held for it (指定期间 not yet billed)
    credits: list = []  # campaign discounts still to settle: [item_code, from_month, amount, receipt_no]
    offers: list = []
    fee_paid_total = ZERO
    payments_total = ZERO
    rate = settings.late_fee_rate

    for day, kind, _key, obj in events:
        due_now = bisect.bisect_right(bill_days, day, next_bill)  # bills payable by this event's day
        if due_now > next_bill:
            if in_order and not earmarked and not credits and not prepaid > 0:
                # they only join ``payable``: no 预存 to offset, nothing held, no discount to settle
                payable.extend(bills[next_bill:due_now])
                next_bill = due_now
            while next_bill < due_now:
                bill = bills[next_bill]  # a bill becomes payable
                next_bill += 1
                bill_day = bill.charge.payable_from
                if earmarked:
                    prepaid += _release_earmarks(earmarked, bill_day)
                if in_order:
                    payable.append(bill)
                else:
                    rank = bill.rank
                    at = bisect.bisect_right(ranks, rank)
                    ranks.insert(at, rank)
                    payable.insert(at, bill)
                    if at < first_open:
                        first_open = at
                if credits:
                    _settle_discounts(credits, [bill], bill_day)
                if earmarked and earmarked.get(bill.charge.period, ZERO) > 0 and bill.open > 0:
                    part = min(earmarked[bill.charge.period], bill.open)
                    bill.settle(bill_day, part, PREPAID)
                    earmarked[bill.charge.period] -= part
                if prepaid > 0 and bill.open > 0:
                    part = min(prepaid, bill.open)
                    bill.settle(bill_day, part, PREPAID)
                    prepaid -= part
        if kind == _END_KIND:
            break
        if earmarked:
            prepaid += _release_earmarks(earmarked, day)
        if kind == 3:  # 退款 of 预存
            taken = _refund(obj, prepaid + sum(earmarked.values(), ZERO), problems)
            if taken:
                refunded += taken
                from_general = min(prepaid, taken)
                prepaid -= from_general
                _take_from_earmarks(earmarked, taken - from_general)
            continue
        if kind == 1:  # waiver
            targets = [c for c in payable if obj.period is None or c.charge.period == obj.period]
            remaining = obj.amount
            if obj.kind == "费用减免":
                remaining = _pay_principal(targets, 0, remaining, day, WAIVED)
                if remaining > 0:
                    problems.append(Problem.warning(obj.source, f"费用减免 {obj.amount} 超过当时欠费，{remaining} 未使用"))
            else:
                for c in targets:
                    if remaining <= 0:
                        break
                    part = min(remaining, c.fee_due(day, settings))
                    if part > 0:
                        c.fee_waived += part
                        remaining -= part
                if remaining > 0:
                    fee_targets = [c for c in targets if c.applies]
                    if fee_targets:  # waive fee that has yet to accrue on the last such charge
                        fee_targets[-1].fee_waived += remaining
                    else:
                        problems.append(Problem.warning(obj.source, f"违约金减免 {obj.amount} 无可减免的违约金"))
        else:  # payment
            payment: Payment = obj
            payments_total += payment.amount
            remaining = payment.amount
            if campaign_context is not None:
                earned = _campaign_offers(payment, payable, campaign_context, settings, offers)
                credits.extend(earned)
            settle_kind = PREPAID if payment.channel == "预存冲抵" else CASH
            if payment.period is not None:
                designated = [c for c in payable if c.charge.period == payment.period]
                if not designated and day <= payment.period.end:
                    # the owner's designation governs (民法典 第560条): held for that period, not older arrears
                    earmarked[payment.period] = earmarked.get(payment.period, ZERO) + remaining
                    problems.append(Problem.warning(
                        payment.source, f"指定期间 {payment.period} 尚未出账：{remaining:,.2f} 元作为该期间的预存保留，"
                                        f"该期间账单可缴时冲抵（不冲抵往期欠费）"))
                    remaining = ZERO
                elif not designated:
                    problems.append(Problem.warning(
                        payment.source, f"指定期间 {payment.period} 没有应收，按先到期先冲抵处理"))
                remaining = _pay_principal(designated, 0, remaining, day, settle_kind, payment)
            # principal, oldest payable bill first (from the first not settled in full), and accrued late
            # fees, in the order 冲抵顺序 sets; each step stops at once when nothing is left
            if not settings.principal_first and remaining > 0:
                remaining, fee_paid_total = _pay_fees(payable, remaining, fee_paid_total, day, settings)
            if remaining > 0:
                while first_open < len(payable) and payable[first_open].open <= 0:
                    first_open += 1
                remaining = _pay_principal(payable, first_open, remaining, day, settle_kind, payment)
            if settings.principal_first and remaining > 0:
                remaining, fee_paid_total = _pay_fees(payable, remaining, fee_paid_total, day, settings)
            prepaid += remaining
            if credits:  # a discount earned for bills already payable settles them at once
                _settle_discounts(credits, payable, day)
    statuses = []
    ref_rate = court_reference_rate(settings.lpr) if reference_rate is None else reference_rate
    grace, cap = settings.grace_days, settings.late_fee_cap
    grace_days = None if grace == 0 else dt.timedelta(days=grace)
    for c in work:
        settlements = tuple(c.settlements)
        if c.applies:  # the fee as c.fee(as_of, rate, settings) computes it, and the court-reference fee
            charge = c.charge
            start = charge.due_date if grace_days is None else charge.due_date + grace_days
            if c.open <= 0 and (not settlements or settlements[-1].day <= start):
                # settled in full by its due date (and grace): nothing accrued, as accrued_late_fees finds
                # (a charge's settlements are made in day order, so the last is the latest)
                fee = fee_ref = NO_FEE
            else:
                fee, fee_ref = accrued_late_fees(charge.amount, charge.due_date,
                                                 [(s.day, s.amount) for s in settlements], as_of, rate, ref_rate,
                                                 grace, cap)
        else:
            fee = fee_ref = ZERO
        # ChargeStatus(...) made in one step (see _settlement), with its ``open`` already known: c.open is
        # the amount less each (positive) settlement in turn — the value of ``open``, amount − (ZERO + Σ
        # settlements), and with ZERO added its exponent too.  Without settlements it is amount − ZERO,
        # as ``open`` has it (so an amount of −0 stays −0).
        status = _new(ChargeStatus)
        _set(status, "__dict__", {"charge": c.charge, "settlements": settlements, "late_fee_applies": c.applies,
                                  "late_fee": fee, "late_fee_ref": fee_ref, "fee_paid": c.fee_paid,
                                  "fee_waived": c.fee_waived,
                                  "_open": c.open + ZERO if settlements else c.charge.amount - ZERO})
        statuses.append(status)
    held = sum(earmarked.values(), ZERO)
    return UnitAccount(room, tuple(statuses), prepaid + held, payments_total, fee_paid_total,
                       tuple([p for p in payments if p.paid_on <= as_of]), refunded,
                       tuple((p, a) for p, a in sorted(earmarked.items()) if a > 0), tuple(offers))


# ---------------------------------------------------------------- 退款, 指定期间 held, campaign discounts
# (kept apart from the replay above: each is called at one point of it)


def _refund(refund: Payment, balance: Decimal, problems: list[Problem]) -> Decimal:
    """A 退款 row pays 预存 back: refused (nothing taken) when larger than the balance on its day.

    Worked example: 1-1-101 paid 3,000.00 on 2026-01-10 against 2026Q1's 750.00 → 预存 2,250.00;
    on moving out, 退款 800.00 on 2026-02-01 (审批人 in 备注) → 预存 1,450.00; the receipt of
    3,000.00 stands (a refund never undoes a receipt).  A 退款 of 2,300.00 instead is refused:
    "退款 2,300.00 元超过当日预存余额 2,250.00 元".
    """
    if refund.amount > balance:
        problems.append(Problem.error(
            refund.source, f"退款 {refund.amount:,.2f} 元超过当日预存余额 {balance:,.2f} 元，此退款未处理"))
        return ZERO
    return refund.amount


def _release_earmarks(earmarked: dict, day: dt.date) -> Decimal:
    """预存 held for a period that has ended (its bills had their chance) becomes ordinary 预存."""
    released = ZERO
    for period in [p for p in earmarked if p.end < day]:
        released += earmarked.pop(period)
    return released


def _take_from_earmarks(earmarked: dict, amount: Decimal) -> None:
    for period in sorted(earmarked, reverse=True):
        if amount <= 0:
            return
        part = min(amount, earmarked[period])
        earmarked[period] -= part
        amount -= part


def _campaign_offers(payment: Payment, payable: list[_Charge], context, settings: Settings,
                     offers: list) -> list:
    """Campaigns the payment earns, as discounts to settle: [item_code, from_month, amount, receipt_no]."""
    from .campaigns import earned_offer

    unit, items, campaigns = context
    day = payment.paid_on
    overdue = sum((c.open for c in payable if c.charge.due_date < day and c.open > 0), ZERO)
    out = []
    current = period_containing(day, settings.cycle)

    def first_unpaid(code: str) -> dt.date:
        """First day of the item's first period, from the payment's own on, not already settled: the
        prepaid months start there (paying after 2026Q4 is settled prepays 2027-01 onwards)."""
        period = current
        while True:
            bills = [c for c in payable if c.charge.item_code == code and c.charge.period == period]
            if not bills or any(c.open > 0 for c in bills):
                return period.start
            period = period.next()

    for offer in earned_offer(campaigns, payment, unit, items, overdue, first_unpaid):
        offers.append((payment.receipt_no, offer))
        if offer.earned:
            out.append([offer.campaign.item_code, offer.from_month, offer.discount, payment.receipt_no])
    return out


def _settle_discounts(credits: list, targets: list[_Charge], day: dt.date) -> None:
    """Settle earned discounts (kind 优惠) on the item's bills from the credit's first month."""
    for credit in credits:
        code, from_month, amount, receipt_no = credit
        for c in targets:
            if amount <= 0:
                break
            if c.charge.item_code != code or c.charge.period.start < from_month or c.open <= 0:
                continue
            part = min(amount, c.open)
            c.settlements.append(_settlement(day, part, DISCOUNT, receipt_no, DISCOUNT))
            c.open -= part
            amount -= part
        credit[2] = amount
    credits[:] = [c for c in credits if c[2] > 0]


def allocate(ledger: Ledger, as_of: dt.date) -> AllocationResult:
    """Every unit's account as of ``as_of``."""
    prepared = prepare_allocation(ledger, as_of)
    accounts, problems = allocate_units(prepared, ledger.units)
    return AllocationResult(as_of, accounts, tuple(prepared.problems) + tuple(problems))


@dataclass(frozen=True)
class PreparedAllocation:
    """What every unit's replay shares: the effective payments (reversals applied) and charges (credit
    notes netted) grouped by room, and the problems met doing so (before any unit's)."""

    ledger: Ledger
    as_of: dt.date
    problems: tuple
    charges_by_room: dict
    payments_by_room: dict
    refunds_by_room: dict
    waivers_by_room: dict
    items: dict
    late_fee_items: frozenset
    reference_rate: Decimal


def prepare_allocation(ledger: Ledger, as_of: dt.date) -> PreparedAllocation:
    problems: list[Problem] = []
    # a reversal dated after as_of does not undo its receipt in the as_of view
    payments, reversal_problems = net_reversals([p for p in ledger.payments if p.paid_on <= as_of])
    problems.extend(reversal_problems)
    charges_by_room = defaultdict(list)
    for c in _net_credit_notes(ledger.charges, problems):
        charges_by_room[c.room].append(c)
    payments_by_room = defaultdict(list)
    for p in payments:
        payments_by_room[p.room].append(p)
    refunds_by_room = defaultdict(list)
    for r in ledger.refunds:
        refunds_by_room[r.room].append(r)
    waivers_by_room = defaultdict(list)
    for w in ledger.waivers:
        waivers_by_room[w.room].append(w)
    return PreparedAllocation(ledger, as_of, tuple(problems), charges_by_room, payments_by_room, refunds_by_room,
                              waivers_by_room, ledger.item_by_code() if ledger.campaigns else {},
                              frozenset(i.code for i in ledger.items if i.late_fee),
                              court_reference_rate(ledger.settings.lpr))


def allocate_units(prepared: PreparedAllocation, units) -> tuple[dict, list[Problem]]:
    """The accounts of ``units`` (room → UnitAccount, in their order) and the problems of their
    replays, in that order: any part of the units, so that parts can be replayed apart."""
    ledger, as_of = prepared.ledger, prepared.as_of
    problems: list[Problem] = []
    accounts = {}
    charges_by_room, payments_by_room = prepared.charges_by_room, prepared.payments_by_room
    waivers_by_room, refunds_by_room = prepared.waivers_by_room, prepared.refunds_by_room
    items, late_fee_items, reference_rate = prepared.items, prepared.late_fee_items, prepared.reference_rate
    for unit in units:
        room = unit.room
        accounts[room] = allocate_unit(room, charges_by_room.get(room, []), payments_by_room.get(room, []),
                                       waivers_by_room.get(room, []), ledger.settings, late_fee_items, as_of,
                                       problems, refunds_by_room.get(room, ()),
                                       (unit, items, ledger.campaigns) if ledger.campaigns else None,
                                       reference_rate=reference_rate)
    return accounts, problems


def _net_credit_notes(charges, problems: Optional[list] = None) -> list[Charge]:
    """Negative 应收 rows (红冲, typed by hand) are credits to the unit, never dropped.

    A credit first reduces the charges of the same unit, period and item; what
    is left (nothing billed for that period, or a credit larger than the charge)
    reduces the unit's other charges — the same item first, then any, oldest
    due first — so money already paid against them becomes 预存.  A credit
    larger than everything the unit was ever billed is reported (warning at
    the credit's cell) rather than lost silently.

    Example: 750.00 billed 2026Q1 and paid; a −500.00 row for 2026Q2 (nothing
    billed) cuts Q1 to 250.00, so 500.00 of the payment is 预存.
    """
    if not any(map(ZERO.__gt__, map(_amount, charges))):  # (no c.amount < ZERO)
        return list(charges)
    groups: dict = defaultdict(list)
    for c in charges:
        groups[(c.room, c.period, c.item_code)].append(c)
    kept: dict = {}  # id of a positive charge → its amount after credits
    order: list = []
    leftovers = []  # (credit row, amount still to apply)
    for group in groups.values():
        positives = sorted((c for c in group if c.amount > 0), key=lambda c: c.due_date)
        for c in positives:
            kept[id(c)] = c.amount
            order.append(c)
        credits = [c for c in group if c.amount < 0]
        for credit_row in credits:
            credit = -credit_row.amount
            for c in positives:
                cut = min(credit, kept[id(c)])
                kept[id(c)] -= cut
                credit -= cut
            if credit > 0:
                leftovers.append((credit_row, credit))
    by_room: dict = defaultdict(list)
    for c in order:
        by_room[c.room].append(c)
    for credit_row, credit in leftovers:
        others = sorted(by_room.get(credit_row.room, []),
                        key=lambda c: (c.item_code != credit_row.item_code, c.due_date, c.bill_no))
        applied = []
        for c in others:
            cut = min(credit, kept[id(c)])
            if cut > 0:
                kept[id(c)] -= cut
                credit -= cut
                applied.append(f"{c.period} {c.item_code} {cut}")
        if problems is not None:
            if applied:
                problems.append(Problem.warning(
                    credit_row.source, f"红冲 {credit_row.amount}：{credit_row.period} {credit_row.item_code} 的应收不足以冲减，"
                                       f"已冲减该户其他应收（{'；'.join(applied)}），已缴部分转为预存"))
            if credit > 0:
                problems.append(Problem.warning(
                    credit_row.source, f"红冲 {credit_row.amount} 超过该户全部应收，{credit} 元无可冲减的应收，"
                                       f"未计入（请核对，或改为退款/预存收款）"))
    out = []
    for c in charges:
        if c.amount < 0:
            continue
        if c.amount == 0:
            out.append(c)
            continue
        amount = kept[id(c)]
        if amount > 0:
            out.append(c if amount == c.amount else dataclasses.replace(c, amount=amount))
    return out


def conservation_gap(account: UnitAccount) -> Decimal:
    """Σ payments − (principal from payments + late fee paid + 预存): zero when money is conserved."""
    principal = sum(
        (s.amount for c in account.charges for s in c.settlements if s.kind in (CASH, PREPAID)), ZERO)
    return (account.payments_total - account.refunded - principal - account.fee_paid_total
            - account.prepaid_balance)
