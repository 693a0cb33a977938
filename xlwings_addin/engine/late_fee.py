"""违约金 (late fee): simple daily rate on unpaid principal, per charge (SPEC §4.3).

For a charge of amount A due on D, grace g days and daily rate r, each part of
the principal accrues from the day after D+g until the day it is paid::

    fee = Σ_payments  paid_j × r × max(0, (p_j − D).days − g)
        + unpaid(as_of) × r × max(0, (as_of − D).days − g)

Paying on D owes nothing; paying on D+1 (g = 0) owes one day.  No late fee on
late fee.  The fee of each charge is rounded to 0.01 元 (half up), then capped
at 违约金上限比例 × A when a cap is set.  The figure depends only on the
charge, its settlements and ``as_of``: computing it twice gives the same
figure (it is never posted cumulatively).

Worked example (SPEC §4.3): A = 1,200.00, D = 2026-01-25, r = 0.0003, g = 0;
600.00 paid 2026-02-04, nothing else, as_of 2026-03-01 →
600 × 0.0003 × 10 + 600 × 0.0003 × 35 = 1.80 + 6.30 = **8.10**.

The court-reference figure uses r_ref = LPR年利率 × 1.5 / 365 (合同编通则解释
第65条: a penalty more than 30% above the loss may be cut; the product shows
both so a clerk sees the risk).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, localcontext
from typing import Iterable, Optional

from ..ledger.money import CENT, ZERO, round_money

NO_FEE = ZERO.quantize(CENT)  # the fee when nothing accrued (Decimal('0.00')), as _rounded_fee gives it


def days_late(due: dt.date, day: dt.date, grace: int) -> int:
    """Days of accrual for money paid on ``day`` (0 when paid on or before due + grace)."""
    return max(0, (day - due).days - grace)


def accrued_late_fee(
    amount: Decimal,
    due: dt.date,
    settlements: Iterable[tuple[dt.date, Decimal]],
    as_of: dt.date,
    daily_rate: Decimal,
    grace: int = 0,
    cap_ratio: Optional[Decimal] = None,
) -> Decimal:
    """The late fee of one charge as of ``as_of``, rounded to 0.01 and capped.

    ``settlements`` are (date, amount) parts of the principal that were paid
    (or offset or waived); parts dated after ``as_of`` are ignored.
    """
    return accrued_late_fees(amount, due, settlements, as_of, daily_rate, daily_rate, grace, cap_ratio)[0]


def accrued_late_fees(
    amount: Decimal,
    due: dt.date,
    settlements: Iterable[tuple[dt.date, Decimal]],
    as_of: dt.date,
    daily_rate: Decimal,
    reference_rate: Decimal,
    grace: int = 0,
    cap_ratio: Optional[Decimal] = None,
) -> tuple[Decimal, Decimal]:
    """:func:`accrued_late_fee` at ``daily_rate`` and at ``reference_rate`` (the court reference), in one pass.

    Each figure is computed with its own rate alone, so both are exactly what a pass with that
    rate gives.
    """
    # Decimal's default 28 significant digits are exact for any amount < 10^12 元
    # times a 4-digit rate times a 5-digit day count; rounding happens once, below.
    start = due if grace == 0 else due + dt.timedelta(days=grace)  # money paid by this day accrues nothing
    total = ZERO
    total_ref = ZERO
    unpaid = amount
    for day, part in settlements:
        if day > as_of:
            continue
        unpaid -= part
        if day > start:
            days = (day - start).days
            total += part * daily_rate * days
            total_ref += part * reference_rate * days
    if unpaid > 0 and as_of > start:
        days = (as_of - start).days
        total += unpaid * daily_rate * days
        total_ref += unpaid * reference_rate * days
    if not total and not total_ref:  # (paid by the due date: the common case)
        return NO_FEE, NO_FEE
    return _rounded_fee(total, amount, cap_ratio), _rounded_fee(total_ref, amount, cap_ratio)


def _rounded_fee(total: Decimal, amount: Decimal, cap_ratio: Optional[Decimal]) -> Decimal:
    """The accrued total rounded to 0.01 (half up), then capped at ``cap_ratio`` × amount."""
    if not total:
        return NO_FEE
    fee = round_money(total)
    if cap_ratio is not None:
        fee = min(fee, round_money(amount * cap_ratio))
    return max(fee, ZERO)


def court_reference_rate(lpr: Decimal) -> Decimal:
    """Daily rate a court commonly takes as the ceiling: LPR × 1.5 / 365."""
    with localcontext() as ctx:
        ctx.prec = 34
        return lpr * Decimal("1.5") / Decimal(365)


def late_fee_parts(amount: Decimal, due: dt.date, settlements, as_of: dt.date,
                   grace: int = 0) -> list[tuple[Decimal, int]]:
    """(principal part, days it accrued) for each part that accrued: paid parts to their day, the rest to as_of.

    1,200.00 due 2026-01-25, 600.00 paid 2026-02-04, as of 2026-03-01 → [(600.00, 10), (600.00, 35)].
    """
    out = []
    unpaid = amount
    for day, part in settlements:
        if day > as_of:
            continue
        unpaid -= part
        n = days_late(due, day, grace)
        if n:
            out.append((part, n))
    n = days_late(due, as_of, grace)
    if unpaid > 0 and n:
        out.append((unpaid, n))
    return out


def late_fee_formula(amount: Decimal, due: dt.date, settlements, as_of: dt.date, daily_rate: Decimal,
                     grace: int = 0) -> str:
    """The calculation written out for a clerk or a letter: '600.00×0.0003×10天 + 600.00×0.0003×35天'."""
    rate = daily_rate.normalize()
    parts = late_fee_parts(amount, due, settlements, as_of, grace)
    return " + ".join(f"{part:.2f}×{rate}×{n}天" for part, n in parts)
