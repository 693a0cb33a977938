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
import operator
from dataclasses import dataclass
from decimal import Decimal

from ..ledger.money import ZERO
from ..ledger.periods import Period
from ..ledger.records import Unit
from .allocation import AllocationResult, UnitAccount

AGING_BUCKETS = ("未到期", "1-30天", "31-90天", "91-180天", "181-365天", "1-3年", "3年以上")
FEE_ONLY_LABEL = "仅欠违约金"  # 账龄 of a unit whose principal is all paid: not aged from bills already paid
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
    def earmarked(self) -> Decimal:
        """预存 held for a 指定期间 not yet billed (民法典 第560条): it never pays these arrears."""
        return self.account.earmarked_total()

    @property
    def total(self) -> Decimal:
        """应缴合计: what is due now — principal and late fee less the 预存 free to offset them."""
        return self.principal + self.late_fee - (self.prepaid - self.earmarked)

    @property
    def fee_only(self) -> bool:
        """Principal all paid, only a late fee open (仅欠违约金)."""
        return self.principal <= 0 < self.late_fee

    @property
    def bucket(self) -> str:
        return FEE_ONLY_LABEL if self.fee_only else aging_bucket(self.days_overdue)

    @property
    def period_count(self) -> int:
        return len(self.periods)


_OPEN = operator.attrgetter("open")


def arrears_of(unit: Unit, account: UnitAccount, as_of: dt.date) -> Arrears | None:
    """The unit's arrears line, or None when it owes nothing (principal and late fee)."""
    charges = account.charges
    opens = list(map(_OPEN, charges))  # each charge's open principal once, not once per figure
    open_charges = [c for c, o in zip(charges, opens) if o > 0] if any(map(ZERO.__lt__, opens)) else []
    fee = account.fee_outstanding
    if not open_charges and fee <= 0:
        return None
    if open_charges:
        oldest = min(c.charge.due_date for c in open_charges)
    else:  # only late fee left: the oldest charge that still owes a fee, but no aging (its bill is paid)
        oldest = min(c.charge.due_date for c in charges if c.fee_outstanding > 0)
    return Arrears(
        unit=unit,
        periods=tuple(sorted({c.charge.period for c in open_charges})),
        oldest_due=oldest,
        days_overdue=max(0, (as_of - oldest).days) if open_charges else 0,
        principal=sum(opens, ZERO),  # account.open_principal
        overdue_principal=sum((o for c, o in zip(charges, opens) if o > 0 and c.charge.due_date < as_of), ZERO),
        late_fee=fee,
        late_fee_ref=account.fee_ref_outstanding,
        prepaid=account.prepaid_balance,
        account=account,
    )


def arrears_order(line: Arrears) -> tuple:
    """The order of 欠费明细: owners first then developer-held, each by amount owed (largest first)."""
    return line.unit.developer_held, -(line.principal + line.late_fee), line.unit.room


def arrears_list(units, allocation: AllocationResult) -> list[Arrears]:
    """Owing units, owners first then developer-held, each by amount owed (largest first)."""
    out = []
    for unit in units:
        line = arrears_of(unit, allocation.accounts[unit.room], allocation.as_of)
        if line is not None:
            out.append(line)
    out.sort(key=arrears_order)
    return out


def aging_summary(arrears: list[Arrears], as_of: dt.date) -> dict[str, Decimal]:
    """Open principal by bucket, each charge aged on its own due date."""
    totals = {b: ZERO for b in AGING_BUCKETS}
    for line in arrears:
        for c in line.account.open_charges():
            totals[aging_bucket((as_of - c.charge.due_date).days)] += c.open
    return totals


# ---------------------------------------------------------------- 欠费户: the one definition

DEBTOR_DEFINITION = "欠费户 = 截至当日尚有未缴本金（欠费本金 > 0）的房屋，含开发商持有；仅欠违约金的房屋另计"


@dataclass(frozen=True)
class Debtors:
    """The owing households of one day — every output that says 欠费户数 takes it from here.

    ``owing``: units with unpaid principal > 0 (欠费户); ``fee_only``: units whose principal is all
    paid but a late fee is still open (仅欠违约金), counted and labelled separately.
    Example: A owes 500.00 principal, B owes only 5.33 违约金, C owes nothing → 欠费户 1, 仅欠违约金 1.
    """

    as_of: dt.date
    owing: tuple[Arrears, ...]
    fee_only: tuple[Arrears, ...]

    @property
    def count(self) -> int:
        return len(self.owing)

    @property
    def fee_only_count(self) -> int:
        return len(self.fee_only)

    @property
    def developer_count(self) -> int:
        return sum(1 for a in self.owing if a.unit.developer_held)

    @property
    def principal(self) -> Decimal:
        return sum((a.principal for a in self.owing), ZERO)

    @property
    def late_fee(self) -> Decimal:
        return sum((a.late_fee for a in self.owing + self.fee_only), ZERO)

    @property
    def fee_only_amount(self) -> Decimal:
        return sum((a.late_fee for a in self.fee_only), ZERO)

    @property
    def rooms(self) -> set[str]:
        return {a.unit.room for a in self.owing}

    def text(self) -> str:
        """'截至 2026-11-22 欠费户 63 户（含开发商持有 1 户），欠费本金 …；另仅欠违约金 52 户 …'."""
        dev = f"（含开发商持有 {self.developer_count} 户）" if self.developer_count else ""
        out = f"截至 {self.as_of:%Y-%m-%d} 欠费户 {self.count} 户{dev}，欠费本金 {self.principal:,.2f} 元"
        if self.fee_only:
            out += f"；另仅欠违约金 {self.fee_only_count} 户，违约金 {self.fee_only_amount:,.2f} 元"
        return out


def is_debtor(line: Arrears | None) -> bool:
    """欠费户: unpaid principal > 0 as of the day."""
    return line is not None and line.principal > 0


def debtors(units, allocation: AllocationResult, lines: list[Arrears] | None = None) -> Debtors:
    """The owing households as of ``allocation.as_of`` (see :class:`Debtors`)."""
    lines = arrears_list(units, allocation) if lines is None else lines
    return debtors_among(lines, allocation.as_of)


def debtors_among(lines: list[Arrears], as_of: dt.date) -> Debtors:
    """The owing households among the arrears lines of ``as_of``."""
    return Debtors(as_of, tuple(a for a in lines if is_debtor(a)),
                   tuple(a for a in lines if not is_debtor(a) and a.late_fee > 0))
