"""退预存 (refund of 预存): ``feebook refund WB --room R --amount A --approver 李经理``.

When an owner moves out or overpaid (最高法 物业纠纷解释 第3条), the 预存 the
center holds is paid back.  A refund is a 收款 row of 渠道 退款 (金额 the amount
paid back, 审批人 in 备注 — SPEC §2): it reduces the 预存 balance and never
undoes a receipt (a wrong receipt is corrected by a reversal, ``feebook reverse``).
Refused (nothing written): no approver, an amount that is not positive, or one
larger than the unit's 预存 balance on the refund's day.

Worked example: 1-1-101 is billed 2026Q1 750.00 and pays 3,000.00 on
2026-01-10 → 预存 2,250.00.  ``feebook refund --amount 800 --approver 李经理
--date 2026-02-01`` appends 收款 ``SK2026000002`` 退款 800.00 (备注
“退预存，审批人：李经理”) → 预存 1,450.00; the 3,000.00 receipt and Q1's
750.00 实收 are unchanged.  ``--amount 2300`` is refused: 超过预存余额 2,250.00.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Iterable, Optional

from ..engine.allocation import allocate
from ..engine.dunning import mask_name
from ..ledger import schema
from ..ledger.money import MoneyError, to_money
from ..ledger.records import Ledger, Problem, Source
from ..workbook.parse import clean_room
from .ledger import Changes, refresh_after_posting
from .receipts import next_receipt_no, receipt_prefix


def refund(ledger: Ledger, room: str, amount, on: dt.date, *, approver: str, reason: str = "",
           operator: str = "", existing_receipts: Iterable[str] = (), as_of: Optional[dt.date] = None) -> Changes:
    """The refund row; 欠费明细 (whose 预存余额 it lowers) and 收缴率 are rewritten with it as of ``as_of``
    (the day of entry; the refund's day when later or not given)."""
    changes = Changes("退预存")

    def refuse(message: str) -> Changes:
        changes.problems.append(Problem.error(Source(schema.PAYMENTS), message))
        changes.summary.append("未退款，工作簿未改动。")
        return changes

    room = clean_room(room)
    unit = ledger.unit_by_room().get(room)
    if unit is None:
        return refuse(f"房号“{room}”不在“房屋”表中")
    if not approver.strip():
        return refuse("退款必须有审批人（--approver）")
    try:
        value = to_money(str(amount))
    except MoneyError as exc:
        return refuse(f"退款{exc}" if str(exc).startswith("金额") else f"退款金额{exc}")
    if value <= 0:
        return refuse(f"退款金额应为正数，实为 {value}")
    mine = replace(ledger, units=(unit,), charges=tuple(c for c in ledger.charges if c.room == room),
                   payments=tuple(p for p in ledger.payments if p.room == room),
                   refunds=tuple(r for r in ledger.refunds if r.room == room))
    account = allocate(mine, on).accounts[room]
    if value > account.prepaid_balance:
        return refuse(f"退款 {value:,.2f} 元超过 {room} 在 {on:%Y-%m-%d} 的预存余额 {account.prepaid_balance:,.2f} 元"
                      f"（退款只退预存，不冲销收据）")
    taken = {str(r).strip() for r in existing_receipts} | {p.receipt_no for p in ledger.payments + ledger.refunds}
    receipt_no = next_receipt_no(taken, receipt_prefix(ledger, on))
    note = f"退预存，审批人：{approver.strip()}" + (f"；{reason.strip()}" if reason.strip() else "")
    changes.append[schema.PAYMENTS] = [{
        "收据号": receipt_no, "收款日期": on, "房号": room, "金额": value, "渠道": schema.REFUND,
        "经办人": operator or None, "备注": note,
    }]
    changes.audit.append({"操作": f"退预存 {receipt_no}", "数量": 1, "说明": f"{room} {value:.2f} 元；{note}"})
    changes.summary.append(f"退款 {receipt_no}：{room} {mask_name(unit.owner)} 退预存 {value:,.2f} 元，{on:%Y-%m-%d}，"
                           f"审批人 {approver.strip()}；预存余额 {account.prepaid_balance:,.2f} → "
                           f"{account.prepaid_balance - value:,.2f} 元")
    return refresh_after_posting(ledger, changes, max(as_of or on, on))
