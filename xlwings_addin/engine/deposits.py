"""押金 (deposits): 装修押金, 门禁卡押金 … held for the owner and paid back.

A deposit is not a fee: it is never fee income, never 预存, never in 收缴率 or
欠费明细, and never offsets a bill.  The 押金 sheet is its own small ledger:
金额 > 0 is 收取, 金额 < 0 is 退还 (an approver is required).  Held per unit
and 类型, in date order; a 退还 larger than what is held of that 类型 on its day
is refused (an error at its 金额 cell) and not counted.

Example: 1-1-101 装修押金 +2,000.00 on 2026-03-01, −2,000.00 on 2026-09-01
(审批人 李经理) → held 0.00; 门禁卡押金 +50.00 → held 50.00.  The 收缴率 of every
period is the same with or without these rows.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Optional

from ..ledger.money import ZERO
from ..ledger.records import Ledger, Problem


@dataclass(frozen=True)
class DepositHeld:
    room: str
    kind: str
    received: Decimal
    returned: Decimal

    @property
    def held(self) -> Decimal:
        return self.received - self.returned


def deposits_held(ledger: Ledger, as_of: Optional[dt.date] = None) -> tuple[list[DepositHeld], list[Problem]]:
    """Per unit and 类型: received, returned and held by ``as_of`` (default: every row)."""
    received: dict = defaultdict(lambda: ZERO)
    returned: dict = defaultdict(lambda: ZERO)
    problems: list[Problem] = []
    for d in sorted(ledger.deposits, key=lambda d: (d.date, d.amount < 0)):
        if as_of is not None and d.date > as_of:
            continue
        key = (d.room, d.kind)
        if d.amount > 0:
            received[key] += d.amount
            continue
        held = received[key] - returned[key]
        if -d.amount > held:
            problems.append(Problem.error(
                d.source, f"{d.room} 退还{d.kind} {-d.amount:,.2f} 元超过当日在押 {held:,.2f} 元，此行未计入"))
            continue
        returned[key] += -d.amount
    rows = [DepositHeld(room, kind, received[(room, kind)], returned[(room, kind)])
            for room, kind in sorted(set(received) | set(returned))]
    return rows, problems


def deposit_summary(rows: list[DepositHeld]) -> str:
    held = [r for r in rows if r.held]
    total = sum((r.held for r in held), ZERO)
    return f"押金：在押 {len(held)} 笔，合计 {total:,.2f} 元（不计入收费收入、预存和收缴率）"
