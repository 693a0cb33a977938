"""诉讼 (litigation): which units go into the yearly batch, their 诉讼时效 and the calculation annex.

Pure rules, no files and no clock (``as_of`` is passed in).

**Delivered.** A letter counts only once its delivery is recorded: its
催缴记录 row has 结果 ``已送达`` *and* a non-blank 送达凭证.  A row with 结果
``已生成`` (the letter was printed) proves nothing to a court.

**Stage 诉讼** (:func:`litigation_stage`): a delivered 律师函 about the
current debt (dated on/after the oldest open 应缴日期) whose payment deadline
(delivery date + 律师函 deadline days, 7 by default) has passed as of the day;
overdue principal ≥ 参数 诉讼欠费金额; and no hold (the ladder's holds in
:mod:`.dunning`: installment plan honoured, open 投诉, 费用争议, promise date not
passed, already in litigation, developer-held) and no valid stated reason
(经济困难 / 服务不满, seed 004: 无正当理由方可诉讼).

Example: 律师函 delivered 2026-09-01 (送达凭证 EMS1234) → deadline 2026-09-08;
on 2026-09-08 not yet, from 2026-09-09 the unit qualifies (if it owes enough).

**诉讼时效** (:func:`limitation_clock`, 民法典 第188/195条): three years from the
latest of — the day after the oldest open bill's 应缴日期; a delivered demand
(any 方式, delivered as above); a part payment (the owner acknowledging the
debt, 诉讼时效规定 第14条); the signing of an installment plan, or its last
installment date (第189条).  A demand delivered after the period has already
run out restarts nothing; a payment or a signed plan does (诉讼时效规定 第19条).
Example: oldest bill due 2023-01-25, nothing since → 起算 2023-01-26, 届满
2026-01-26; a demand delivered 2025-06-10 → 届满 2028-06-10; a demand first
delivered 2026-03-01 → still 届满 2026-01-26 (left out of the batch).

**Calculation** (:func:`calculation_lines`): per charge, the contract late fee
(违约金日费率, the engine's figure) and the court-reference late fee at
LPR × 1.5 / 365 per day (合同编通则解释 第65条; :func:`~.late_fee.court_reference_rate`),
each with its formula.  Example: 1,000.00 unpaid 100 days, LPR 3.0% →
1000 × 0.03 × 1.5 ÷ 365 × 100 = 12.3287… → 12.33; contract 1000 × 0.0003 × 100 = 30.00.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable, Optional

from ..ledger.money import ZERO
from ..ledger.periods import Period, add_months
from ..ledger.records import Contact, InstallmentPlan, Ledger, Payment, Problem, Settings, Source, Unit
from .allocation import AllocationResult, ChargeStatus, UnitAccount, allocate
from .dunning import dunning_tasks
from .late_fee import days_late, late_fee_parts

DELIVERED = "已送达"
GENERATED = "已生成"
LAWYER_LETTER = "律师函"
SUIT = "诉讼"
CLAIM_CONTRACT, CLAIM_REFERENCE = "合同", "法院参考"
CLAIM_BASES = (CLAIM_CONTRACT, CLAIM_REFERENCE)
VALID_REASONS = ("经济困难", "服务不满")
LIMITATION_MONTHS = 36


def delivered(contact: Contact) -> bool:
    """结果 已送达 and a non-blank 送达凭证."""
    return contact.result == DELIVERED and bool((contact.proof or "").strip())


@dataclass(frozen=True)
class StageCheck:
    """Is the unit at stage 诉讼?  ``reason`` says why not ('' when it is)."""

    eligible: bool
    reason: str
    lawyer_letter: Optional[Contact] = None
    deadline: Optional[dt.date] = None


def litigation_stage(contacts: Iterable[Contact], *, oldest_due: dt.date, principal: Decimal,
                     threshold: Decimal, hold: str, owner_reason: str, as_of: dt.date,
                     deadline_days: int) -> StageCheck:
    """The stage test for one unit (``contacts`` are its 催缴记录 rows; ``hold`` is the ladder's hold or '')."""
    rows = sorted((c for c in contacts if c.date <= as_of), key=lambda c: c.date)
    letters = [c for c in rows if c.method == LAWYER_LETTER and c.date >= oldest_due]
    sent = [c for c in letters if delivered(c)]
    last = sent[-1] if sent else None
    deadline = last.date + dt.timedelta(days=deadline_days) if last else None
    if hold:
        return StageCheck(False, f"暂停催缴：{hold}", last, deadline)
    if last is None:
        if letters:
            c = letters[-1]
            state = f"结果“{c.result}”" if c.result else "结果空白"
            proof = "" if (c.proof or "").strip() else "、无送达凭证"
            return StageCheck(False, f"律师函（{c.date:%Y-%m-%d}）未记录送达（{state}{proof}）")
        return StageCheck(False, "无已送达的律师函")
    if as_of <= deadline:
        return StageCheck(False, f"律师函 {last.date:%Y-%m-%d} 送达，付款期限 {deadline:%Y-%m-%d} 尚未届满",
                          last, deadline)
    if principal < threshold:
        return StageCheck(False, f"欠费本金 {principal:,.2f} 元未达诉讼欠费金额 {threshold:,.2f} 元", last, deadline)
    if owner_reason in VALID_REASONS:
        return StageCheck(False, f"业主有正当理由（{owner_reason}），建议协商分期", last, deadline)
    return StageCheck(True, "", last, deadline)


@dataclass(frozen=True)
class LimitationClock:
    start: dt.date
    basis: str
    expires: dt.date
    as_of: dt.date

    @property
    def expired(self) -> bool:
        return self.as_of > self.expires

    @property
    def text(self) -> str:
        state = "可能已届满" if self.expired else "未届满"
        return (f"自{self.basis}（{self.start:%Y-%m-%d}）起算，{self.expires:%Y-%m-%d} 届满，"
                f"截至 {self.as_of:%Y-%m-%d} {state}")


def limitation_clock(contacts: Iterable[Contact], payments: Iterable[Payment], plans: Iterable[InstallmentPlan],
                     oldest_due: dt.date, as_of: dt.date) -> LimitationClock:
    """诉讼时效 of the unit's oldest open debt (see the module docstring)."""
    start, basis = oldest_due + dt.timedelta(days=1), "应缴日期次日"
    events = []  # (day, why, the owner's own acknowledgment?)
    for c in contacts:
        if delivered(c) and oldest_due < c.date <= as_of:
            events.append((c.date, f"送达催告（{c.method}，凭证 {c.proof.strip()}）", False))
    for p in payments:
        if p.amount > 0 and p.channel != "预存冲抵" and oldest_due < p.paid_on <= as_of:
            events.append((p.paid_on, f"部分缴费（收据 {p.receipt_no}）", True))
    for plan in plans:
        if plan.signed_on <= as_of:
            events.append((plan.signed_on, f"签订分期协议 {plan.plan_no}", True))
            last = add_months(plan.first_due, (plan.count - 1) * plan.interval_months)
            events.append((last, f"分期协议 {plan.plan_no} 最后一期履行期限", True))
    for day, why, acknowledged in sorted(events, key=lambda e: e[0]):
        if day <= start:
            continue
        # a demand after the period has run out revives nothing; the owner paying or signing does
        # (诉讼时效规定 第19条: a debtor who agrees to pay after expiry may not plead it)
        if day > add_months(start, LIMITATION_MONTHS) and not acknowledged:
            continue
        start, basis = day, why
    return LimitationClock(start, basis, add_months(start, LIMITATION_MONTHS), as_of)


def payments_after(payments: Iterable[Payment], day: Optional[dt.date], as_of: dt.date) -> list[Payment]:
    """Money the owner paid after ``day`` (the last delivered demand), up to ``as_of``."""
    if day is None:
        return []
    return [p for p in payments if p.amount > 0 and p.channel != "预存冲抵" and day < p.paid_on <= as_of]


# ---------------------------------------------------------------- the calculation annex

@dataclass(frozen=True)
class CalcLine:
    """One charge of the 计算表."""

    period: Period
    item: str
    amount: Decimal
    due: dt.date
    paid: Decimal  # principal settled (paid, offset or waived) by as_of
    paid_text: str  # '2026-02-04 实收 600.00；…'
    principal: Decimal  # still owed
    days: int  # days late of the unpaid part (0 when none is unpaid)
    fee: Decimal  # contract late fee outstanding
    fee_formula: str
    fee_ref: Decimal  # court-reference late fee outstanding
    fee_ref_formula: str


def _parts(amount: Decimal, due: dt.date, settlements, as_of: dt.date, grace: int) -> list[tuple[Decimal, int]]:
    """(principal part, days late) of each part that accrued — the same parts the late fee itself uses."""
    return late_fee_parts(amount, due, settlements, as_of, grace)


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


def calculation_lines(charges: Iterable[ChargeStatus], as_of: dt.date, daily_rate: Decimal, lpr: Decimal,
                      grace: int = 0) -> list[CalcLine]:
    """Charges past due with principal owed, or still owing late fee, oldest first."""
    out = []
    for c in sorted(charges, key=lambda c: (c.charge.due_date, c.charge.period, c.charge.item_code)):
        overdue = c.charge.due_date < as_of and c.open > 0
        if not overdue and c.fee_outstanding <= 0:
            continue
        settlements = [(s.day, s.amount) for s in c.settlements if s.day <= as_of]
        parts = _parts(c.charge.amount, c.charge.due_date, settlements, as_of, grace) if c.late_fee_applies else []
        rate = daily_rate.normalize()
        fee_formula = " + ".join(f"{a:.2f}×{rate}×{n}天" for a, n in parts) or "不计违约金"
        ref_formula = " + ".join(f"{a:.2f}×{_percent(lpr)}×1.5÷365×{n}天" for a, n in parts) or "不计违约金"
        settled_fee = c.fee_paid + c.fee_waived
        if parts:
            fee_formula += f" = {c.late_fee:.2f}"
            ref_formula += f" = {c.late_fee_ref:.2f}"
            if settled_fee > 0:
                fee_formula += f"，减已缴/减免 {settled_fee:.2f}"
                ref_formula += f"，减已缴/减免 {settled_fee:.2f}"
        paid_text = "；".join(f"{s.day:%Y-%m-%d} {s.kind} {s.amount:.2f}" for s in c.settlements if s.day <= as_of)
        out.append(CalcLine(
            period=c.charge.period, item=c.charge.item_name or c.charge.item_code, amount=c.charge.amount,
            due=c.charge.due_date, paid=c.settled(until=as_of), paid_text=paid_text, principal=c.open,
            days=days_late(c.charge.due_date, as_of, grace) if c.open > 0 else 0,
            fee=c.fee_outstanding, fee_formula=fee_formula, fee_ref=c.fee_ref_outstanding,
            fee_ref_formula=ref_formula))
    return out


@dataclass(frozen=True)
class CalcTotals:
    principal: Decimal
    fee: Decimal
    fee_ref: Decimal
    basis: str  # 合同 / 法院参考

    @property
    def claimed_fee(self) -> Decimal:
        return self.fee_ref if self.basis == CLAIM_REFERENCE else self.fee

    @property
    def other_fee(self) -> Decimal:
        return self.fee if self.basis == CLAIM_REFERENCE else self.fee_ref

    @property
    def claim_total(self) -> Decimal:
        return self.principal + self.claimed_fee


def calculation_totals(lines: Iterable[CalcLine], basis: str) -> CalcTotals:
    lines = list(lines)
    return CalcTotals(sum((x.principal for x in lines), ZERO), sum((x.fee for x in lines), ZERO),
                      sum((x.fee_ref for x in lines), ZERO), basis if basis in CLAIM_BASES else CLAIM_CONTRACT)


# ---------------------------------------------------------------- the batch

@dataclass(frozen=True)
class Case:
    """One unit in the litigation batch: everything the pack prints."""

    unit: Unit
    account: UnitAccount
    lines: tuple[CalcLine, ...]
    totals: CalcTotals
    stage: StageCheck
    limitation: LimitationClock
    contacts: tuple[Contact, ...]  # 催缴记录 rows about the current debt, oldest first
    owner_reason: str
    part_payments: tuple[Payment, ...]  # paid after the last delivered demand
    oldest_due: dt.date

    @property
    def room(self) -> str:
        return self.unit.room

    @property
    def delivered_demands(self) -> tuple[Contact, ...]:
        return tuple(c for c in self.contacts if delivered(c))

    @property
    def last_demand(self) -> Optional[Contact]:
        sent = self.delivered_demands
        return sent[-1] if sent else None


@dataclass(frozen=True)
class LeftOut:
    room: str
    owner: str
    reason: str


@dataclass(frozen=True)
class LitigationBatch:
    as_of: dt.date
    basis: str
    cases: tuple[Case, ...]
    left_out: tuple[LeftOut, ...]
    problems: tuple[Problem, ...] = ()


def claim_basis(settings: Settings) -> tuple[str, list[Problem]]:
    """参数 诉讼违约金口径: 合同 (default) or 法院参考; anything else is a problem and 合同 is used."""
    text = (settings.get("诉讼违约金口径") or "").strip()
    if not text:
        return CLAIM_CONTRACT, []
    if text in CLAIM_BASES:
        return text, []
    return CLAIM_CONTRACT, [Problem.error(Source("参数"), f"参数“诉讼违约金口径”的值“{text}”应为 合同 或 法院参考，使用 合同")]


def litigation_batch(ledger: Ledger, as_of: dt.date, deadline_days: int, rooms: Optional[Iterable[str]] = None,
                     allocation: Optional[AllocationResult] = None) -> LitigationBatch:
    """The units at stage 诉讼 on ``as_of`` (all owing units, or only ``rooms``), and those left out with why.

    Without ``rooms`` a unit is listed as left out only when it has a 律师函 about the current debt
    (the rest are simply not at this stage).  Holds come from the ladder (:func:`.dunning.dunning_tasks`).
    """
    basis, problems = claim_basis(ledger.settings)
    allocation = allocation or allocate(ledger, as_of)
    tasks = {t.room: t for t in dunning_tasks(ledger, as_of, allocation).tasks}
    units = ledger.unit_by_room()
    named = list(dict.fromkeys(rooms)) if rooms is not None else None
    contacts_by_room: dict[str, list[Contact]] = {}
    for c in ledger.contacts:
        if c.date <= as_of:
            contacts_by_room.setdefault(c.room, []).append(c)
    plans_by_room: dict[str, list[InstallmentPlan]] = {}
    for p in ledger.plans:
        plans_by_room.setdefault(p.room, []).append(p)
    s = ledger.settings
    cases, left = [], []
    for room in (named if named is not None else [u.room for u in ledger.units]):
        unit = units.get(room)
        if unit is None:
            left.append(LeftOut(room, "", "房号不在“房屋”表中"))
            continue
        account = allocation.accounts.get(room)
        open_overdue = [c for c in (account.charges if account else ()) if c.open > 0 and c.charge.due_date < as_of]
        if not open_overdue:
            if named is not None:
                left.append(LeftOut(room, unit.owner, "无逾期欠费本金"))
            continue
        oldest = min(c.charge.due_date for c in open_overdue)
        contacts = sorted((c for c in contacts_by_room.get(room, ()) if c.date >= oldest), key=lambda c: c.date)
        stated = sorted((c for c in contacts_by_room.get(room, ()) if c.reason), key=lambda c: c.date)
        owner_reason = stated[-1].reason if stated else ""  # the latest 欠费原因 the owner gave
        task = tasks.get(room)
        hold = ""
        if task is not None and task.held:
            hold = task.hold + (f"（{task.note_text}）" if task.note_text else "")
        principal = sum((c.open for c in open_overdue), ZERO)
        stage = litigation_stage(contacts, oldest_due=oldest, principal=principal, threshold=s.litigation_amount,
                                 hold=hold, owner_reason=owner_reason, as_of=as_of, deadline_days=deadline_days)
        if not stage.eligible:
            if named is not None or any(c.method == LAWYER_LETTER for c in contacts):
                left.append(LeftOut(room, unit.owner, stage.reason))
            continue
        plans = plans_by_room.get(room, [])
        clock = limitation_clock(contacts_by_room.get(room, ()), account.payments, plans, oldest, as_of)
        if clock.expired:
            left.append(LeftOut(room, unit.owner, f"诉讼时效可能已于 {clock.expires:%Y-%m-%d} 届满（起算：{clock.basis}"
                                                  f" {clock.start:%Y-%m-%d}），请核实有无其他中断事由"))
            continue
        lines = calculation_lines(account.charges, as_of, s.late_fee_rate, s.lpr, s.grace_days)
        totals = calculation_totals(lines, basis)
        sent = [c for c in contacts if delivered(c)]
        after = payments_after(account.payments, sent[-1].date if sent else None, as_of)
        cases.append(Case(unit, account, tuple(lines), totals, stage, clock, tuple(contacts), owner_reason,
                          tuple(after), oldest))
    return LitigationBatch(as_of, basis, tuple(cases), tuple(left), tuple(problems))
