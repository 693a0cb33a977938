"""欠费明细 (arrears) and 账龄 (aging) per unit (SPEC §4.4).

Aging is always measured from 应缴日期 (the due date), never from the billing
or posting date: days overdue = as_of − 应缴日期 of the oldest open charge.
Buckets: 未到期 (≤ 0) / 1–30 / 31–90 / 91–180 / 181–365 / 1–3年 (366–1095) /
3年以上 (> 1095 days).

Example: a unit owing 2026Q1 (due 2026-01-25) and 2026Q2 (due 2026-04-25),
as of 2026-05-01: 欠费期数 2, 最早应缴日期 2026-01-25, 逾期天数 96, 账龄 91–180.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from ..ledger.money import ZERO
from ..ledger.periods import Period
from ..ledger.records import Unit
from .allocation import AllocationResult, UnitAccount

AGING_BUCKETS = ("未到期", "1-30天", "31-90天", "91-180天", "181-365天", "1-3年", "3年以上")
AGING_NOTE = "账龄按应缴日期计算（逾期天数 = 截至日期 − 最早未缴清账单的应缴日期）"


def aging_bucket(days_overdue: int) -> str:
    if days_overdue <= 0:
        return AGING_BUCKETS[0]
    for limit, label in ((30, AGING_BUCKETS[1]), (90, AGING_BUCKETS[2]), (180, AGING_BUCKETS[3]),
                         (365, AGING_BUCKETS[4]), (1095, AGING_BUCKETS[5])):
        if days_overdue <= limit:
            return label
    return AGING_BUCKETS[6]


@dataclass(frozen=True)
class Arrears:
    """One unit's line of 欠费明细."""

    unit: Unit
    periods: tuple[Period, ...]
    oldest_due: dt.date
    days_overdue: int
    principal: Decimal  # all open principal of payable bills
    overdue_principal: Decimal  # of bills past their due date
    late_fee: Decimal
    late_fee_ref: Decimal
    prepaid: Decimal
    account: UnitAccount

    @property
    def total(self) -> Decimal:
        return self.principal + self.late_fee - self.prepaid

    @property
    def bucket(self) -> str:
        return aging_bucket(self.days_overdue)

    @property
    def period_count(self) -> int:
        return len(self.periods)


def arrears_of(unit: Unit, account: UnitAccount, as_of: dt.date) -> Arrears | None:
    """The unit's arrears line, or None when it owes nothing (principal and late fee)."""
    open_charges = account.open_charges()
    fee = account.fee_outstanding
    if not open_charges and fee <= 0:
        return None
    if open_charges:
        oldest = min(c.charge.due_date for c in open_charges)
    else:  # only late fee left: age it from the oldest charge that still owes a fee
        oldest = min(c.charge.due_date for c in account.charges if c.fee_outstanding > 0)
    return Arrears(
        unit=unit,
        periods=tuple(sorted({c.charge.period for c in open_charges})),
        oldest_due=oldest,
        days_overdue=max(0, (as_of - oldest).days),
        principal=account.open_principal,
        overdue_principal=sum((c.open for c in open_charges if c.charge.due_date < as_of), ZERO),
        late_fee=fee,
        late_fee_ref=account.fee_ref_outstanding,
        prepaid=account.prepaid_balance,
        account=account,
    )


def arrears_list(units, allocation: AllocationResult) -> list[Arrears]:
    """Owing units, owners first then developer-held, each by amount owed (largest first)."""
    out = []
    for unit in units:
        line = arrears_of(unit, allocation.accounts[unit.room], allocation.as_of)
        if line is not None:
            out.append(line)
    out.sort(key=lambda a: (a.unit.developer_held, -(a.principal + a.late_fee), a.unit.room))
    return out


def aging_summary(arrears: list[Arrears], as_of: dt.date) -> dict[str, Decimal]:
    """Open principal by bucket, each charge aged on its own due date."""
    totals = {b: ZERO for b in AGING_BUCKETS}
    for line in arrears:
        for c in line.account.open_charges():
            totals[aging_bucket((as_of - c.charge.due_date).days)] += c.open
    return totals
