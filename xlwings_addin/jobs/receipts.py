"""Front-desk receipts (前台收款) and reversals (冲销) — seed 004 §4.1 steps 8–9.

* :func:`receive` appends one 收款 row with the next receipt number of the
  center, refuses bad input (amount with more than 2 decimals, zero or
  negative, unknown room, duplicate 收据号, a unit whose bills are locked in a
  托收批次 still 待回盘), and says what the money paid by running the
  allocation (SPEC §4.2) before and after it.
* :func:`reverse` writes the reversal row (negative 金额, 冲销收据号 = the
  original); a receipt is reversed at most once, and a reversal is never
  itself reversed (issue a new receipt instead).
* Receipt numbers: ``<收据前缀><year><6 digits>``, e.g. ``SK2026000123``
  (参数 ``收据前缀``, default ``SK``).  The next number is one more than the
  largest number with the same prefix anywhere in the 收款 sheet — including
  reversal rows and rows the parser could not read — so a number is never
  reused, even after a reversal.

Example: 1-1-101 owes 2026Q3 物业管理费 1,200.00 (due 2026-07-25) and
2026Q4 1,200.00 (due 2026-10-25); 1,500.00 in cash on 2026-11-22 pays Q3 in
full and 300.00 of Q4 (oldest first, principal before late fee), leaving
900.00 principal plus the accrued late fee.  The receipt prints 壹仟伍佰元整.

Everything here is pure except :func:`render_receipt`, which writes the docx.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Iterable, Optional, Sequence

from ..ledger import schema
from .bank import locked_rooms, lock_message
from ..engine.allocation import CASH, PREPAID, allocate
from ..engine.dunning import mask_name
from .ledger import Changes, refresh_after_posting
from ..ledger.money import ZERO, MoneyError, daxie, to_money
from ..ledger.periods import Period
from ..ledger.records import Ledger, Payment, Problem, Source, room_hint
from ..workbook.parse import clean_room
from ..workbook.raw import column_letter

FRONT_DESK_CHANNELS = ("现金", "微信", "支付宝", "POS", "转账")
DIGITS = 6
INPUT = Source(schema.PAYMENTS)


def receipt_prefix(ledger: Ledger, day: dt.date) -> str:
    return f"{ledger.settings.get('收据前缀', 'SK').strip() or 'SK'}{day:%Y}"


def next_receipt_no(existing: Iterable[str], prefix: str) -> str:
    """One more than the largest ``prefix`` + digits number in ``existing`` (``SK2026000123`` → ``SK2026000124``)."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)$")
    numbers = [m.group(1) for m in (pattern.match(str(r).strip()) for r in existing) if m]
    width = max((len(n) for n in numbers), default=DIGITS)
    return f"{prefix}{max((int(n) for n in numbers), default=0) + 1:0{width}d}"


@dataclass(frozen=True)
class PaidLine:
    bill_no: str
    period: str
    item: str
    amount: Decimal  # principal this receipt settled
    open_after: Decimal


@dataclass(frozen=True)
class Effect:
    """What one receipt did to a unit's account, on its day."""

    lines: tuple[PaidLine, ...]
    fee_paid: Decimal
    to_prepaid: Decimal
    owing_before: Decimal  # open principal + outstanding late fee, before
    owing_after: Decimal
    prepaid_after: Decimal
    offers: tuple = ()  # campaigns.Offer: campaigns (优惠活动) this payment earned or just missed


def _room_ledger(ledger: Ledger, room: str, extra: Iterable[Payment] = ()) -> Ledger:
    return replace(ledger, units=tuple(u for u in ledger.units if u.room == room),
                   charges=tuple(c for c in ledger.charges if c.room == room),
                   payments=tuple(p for p in ledger.payments if p.room == room) + tuple(extra),
                   waivers=tuple(w for w in ledger.waivers if w.room == room))


def payment_effect(ledger: Ledger, payment: Payment) -> Effect:
    """Run the allocation for the payment's unit as of its day, without and with it, and compare."""
    room, day = payment.room, payment.paid_on
    before = allocate(_room_ledger(ledger, room), day).accounts[room]
    after = allocate(_room_ledger(ledger, room, [payment]), day).accounts[room]
    lines = []
    for status in after.charges:
        paid = sum((s.amount for s in status.settlements
                    if s.receipt_no == payment.receipt_no and s.kind in (CASH, PREPAID)), ZERO)
        if paid:
            c = status.charge
            lines.append(PaidLine(c.bill_no, str(c.period), c.item_name or c.item_code, paid, status.open))
    return Effect(tuple(lines), after.fee_paid_total - before.fee_paid_total,
                  after.prepaid_balance - before.prepaid_balance,
                  before.open_principal + before.fee_outstanding, after.open_principal + after.fee_outstanding,
                  after.prepaid_balance,
                  tuple(o for r, o in after.offers if r == payment.receipt_no and (o.earned or o.near_miss)))


def _refuse(changes: Changes, message: str, at: Source = INPUT) -> tuple[Changes, None]:
    changes.problems.append(Problem.error(at, message))
    changes.summary.append("未收款，工作簿未改动。")
    return changes, None


def _money(text) -> Decimal:
    return to_money(text if isinstance(text, (Decimal, int)) else str(text))


def receive(ledger: Ledger, room: str, amount, channel: str, paid_on: dt.date, *,
            period: Optional[Period] = None, operator: str = "", receipt_no: str = "", note: str = "",
            existing_receipts: Iterable[str] = (), new_row: Optional[int] = None,
            headers: Sequence[str] = (), as_of: Optional[dt.date] = None) -> tuple[Changes, Optional[dict]]:
    """A front-desk receipt: the 收款 row to append and the receipt's context (None when refused).

    The same write refreshes 欠费明细/收缴率 as of ``as_of`` (today; the receipt's day if later or not given).

    ``existing_receipts``: every 收据号 in the 收款 sheet, read raw (also rows the parser skipped).
    ``new_row`` / ``headers``: the row the receipt would be written to and the 收款 sheet's headers, so
    a refusal names its cell (收款!C1203 for a wrong 房号), not just the sheet.
    """
    changes = Changes("前台收款")

    def at(column: str) -> Source:
        spec = schema.INPUT_SHEETS[schema.PAYMENTS]
        names = list(headers) or [*spec.required, *spec.optional]
        if new_row is None or column not in names:
            return INPUT
        return Source(schema.PAYMENTS, f"{column_letter(names.index(column))}{new_row}")

    room = clean_room(room)
    unit = ledger.unit_by_room().get(room)
    if unit is None:
        return _refuse(changes, f"房号“{room}”不在“房屋”表中" + room_hint(room, ledger.unit_by_room()), at("房号"))
    try:
        value = _money(amount)
    except MoneyError as exc:
        text = str(exc)
        return _refuse(changes, f"收款{text}" if text.startswith("金额") else f"收款金额{text}", at("金额"))
    if value <= 0:
        return _refuse(changes, f"收款金额应为正数，实为 {value}（更正已收款项请用 feebook reverse 冲销原收据）",
                       at("金额"))
    if channel not in FRONT_DESK_CHANNELS:
        return _refuse(changes, f"前台收款渠道应为 {'/'.join(FRONT_DESK_CHANNELS)} 之一，实为“{channel}”", at("渠道"))
    locks = locked_rooms(ledger)
    if room in locks:
        return _refuse(changes, lock_message(room, locks[room]), at("房号"))
    taken = {str(r).strip() for r in existing_receipts} | {p.receipt_no for p in ledger.payments}
    if receipt_no:
        receipt_no = receipt_no.strip()
        if receipt_no in taken:
            return _refuse(changes, f"收据号“{receipt_no}”已存在于“收款”表，不能重复使用", at("收据号"))
    else:
        receipt_no = next_receipt_no(taken, receipt_prefix(ledger, paid_on))
    payment = Payment(receipt_no, paid_on, room, value, channel, period, operator, note=note,
                      source=Source(schema.PAYMENTS))
    effect = payment_effect(ledger, payment)
    changes.append[schema.PAYMENTS] = [{
        "收据号": receipt_no, "收款日期": paid_on, "房号": room, "金额": value, "渠道": channel,
        "指定期间": str(period) if period else None, "经办人": operator or None, "备注": note or None,
    }]
    changes.audit.append({"操作": f"前台收款 {receipt_no}", "数量": 1,
                          "说明": f"{room} {value:.2f} 元 {channel}"})
    changes.summary.append(f"收据 {receipt_no}：{room} {mask_name(unit.owner)} 收款 {value:,.2f} 元（{daxie(value)}），{channel}，"
                           f"{paid_on:%Y-%m-%d}")
    changes.summary.extend(describe(effect))
    unreadable = [p for p in ledger.problems if p.level == "错误" and p.sheet in (schema.PAYMENTS, schema.CHARGES)]
    if unreadable:
        changes.summary.append(f"注意：“收款”“应收”表有 {len(unreadable)} 处无法读取（运行 feebook check 查看），"
                               f"以上冲抵明细未计入这些行")
    if period is not None and not any(c.period == period for c in ledger.charges if c.room == room):
        if paid_on <= period.end:
            changes.summary.append(f"注意：{room} 的 {period} 尚未出账，本笔作为该期间的预存保留，"
                                   f"该期间账单可缴时冲抵（不冲抵往期欠费）")
        else:
            changes.summary.append(f"注意：{room} 没有 {period} 的应收，按先到期先冲抵处理")
    refresh_after_posting(ledger, changes, max(as_of or paid_on, paid_on))
    return changes, receipt_context(ledger, payment, effect)


def describe(effect: Effect) -> list[str]:
    """The effect in the clerk's words, one line each."""
    out = [f"  冲抵 {x.period} {x.item}（{x.bill_no}）{x.amount:,.2f} 元，该项余欠 {x.open_after:,.2f} 元"
           for x in effect.lines]
    if effect.fee_paid:
        out.append(f"  冲抵违约金 {effect.fee_paid:,.2f} 元")
    if effect.to_prepaid > 0:
        out.append(f"  转入预存 {effect.to_prepaid:,.2f} 元")
    out.append(f"  收款前应缴 {effect.owing_before:,.2f} 元，收款后尚欠 {effect.owing_after:,.2f} 元"
               f"（含违约金），预存余额 {effect.prepaid_after:,.2f} 元")
    for offer in effect.offers:
        out.append(f"  优惠活动：{offer.reason}")
    return out


RECEIPT_MAX_LINES = 6  # more paid lines than this are grouped one per period (the receipt stays one A5 page)


def receipt_lines(lines) -> list[dict]:
    """The receipt's 冲抵明细 rows: one per bill, or, past ``RECEIPT_MAX_LINES``, one per period
    (items joined, bill count instead of numbers, amounts summed) so four periods fit one A5 sheet."""
    if len(lines) <= RECEIPT_MAX_LINES:
        return [{"period": x.period, "item": x.item, "bill_no": x.bill_no, "amount": f"{x.amount:,.2f}",
                 "open_after": f"{x.open_after:,.2f}"} for x in lines]
    groups: dict[str, list] = {}
    for x in lines:
        groups.setdefault(x.period, []).append(x)
    out = []
    for period, xs in groups.items():
        items = list(dict.fromkeys(x.item for x in xs))
        out.append({"period": period, "item": "、".join(items), "bill_no": f"{len(xs)} 张账单",
                    "amount": f"{sum((x.amount for x in xs), ZERO):,.2f}",
                    "open_after": f"{sum((x.open_after for x in xs), ZERO):,.2f}"})
    return out


def receipt_context(ledger: Ledger, payment: Payment, effect: Effect) -> dict:
    """The plain dict the 收据 template is rendered with."""
    s = ledger.settings
    unit = ledger.unit_by_room()[payment.room]
    return {
        "company": s.company, "center": s.center, "hotline": s.hotline,
        "receipt_no": payment.receipt_no, "date": f"{payment.paid_on.year}年{payment.paid_on.month}月{payment.paid_on.day}日",
        "room": payment.room, "owner": unit.owner, "channel": payment.channel, "operator": payment.operator or "",
        "period": str(payment.period) if payment.period else "",
        "amount": f"{payment.amount:,.2f}", "amount_daxie": daxie(payment.amount),
        "lines": receipt_lines(effect.lines),
        "fee_paid": f"{effect.fee_paid:,.2f}", "to_prepaid": f"{max(effect.to_prepaid, ZERO):,.2f}",
        "owing_after": f"{effect.owing_after:,.2f}", "prepaid_after": f"{effect.prepaid_after:,.2f}",
        "note": payment.note or "",
    }


def reverse(ledger: Ledger, receipt_no: str, on: dt.date, *, reason: str = "", operator: str = "",
            existing_receipts: Iterable[str] = (), as_of: Optional[dt.date] = None) -> Changes:
    """The reversal row for ``receipt_no`` (refused when unknown, already reversed, or itself a reversal)."""
    changes = Changes("冲销收据")
    receipt_no = receipt_no.strip()

    def refuse(message: str) -> Changes:
        changes.problems.append(Problem.error(INPUT, message))
        changes.summary.append("未冲销，工作簿未改动。")
        return changes

    original = next((p for p in ledger.payments if p.receipt_no == receipt_no), None)
    if original is None:
        if receipt_no in {str(r).strip() for r in existing_receipts}:
            return refuse(f"收据“{receipt_no}”所在的行无法读取（见“问题”表），请先修正")
        return refuse(f"收据“{receipt_no}”不在“收款”表中")
    if original.reverses or original.amount < 0:
        return refuse(f"收据“{receipt_no}”本身是冲销行（冲销 {original.reverses}），不能再冲销；如需收款请重新开收据")
    done = next((p for p in ledger.payments if p.reverses == receipt_no), None)
    if done is not None:
        return refuse(f"收据“{receipt_no}”已于 {done.paid_on} 被冲销（冲销收据号 {done.receipt_no}），不能重复冲销")
    if on < original.paid_on:
        return refuse(f"冲销日期 {on} 早于原收据日期 {original.paid_on}")
    taken = {str(r).strip() for r in existing_receipts} | {p.receipt_no for p in ledger.payments}
    new_no = next_receipt_no(taken, receipt_prefix(ledger, on))
    reason = reason.strip() or "冲销"
    changes.append[schema.PAYMENTS] = [{
        "收据号": new_no, "收款日期": on, "房号": original.room, "金额": -original.amount, "渠道": original.channel,
        "指定期间": str(original.period) if original.period else None, "经办人": operator or None,
        "托收批次": original.batch or None, "冲销收据号": receipt_no, "备注": f"冲销：{reason}",
    }]
    changes.audit.append({"操作": f"冲销收据 {receipt_no}", "数量": 1,
                          "说明": f"冲销行 {new_no}，{original.room} {-original.amount:.2f} 元；原因：{reason}"})
    changes.summary.append(f"已冲销收据 {receipt_no}（{original.room} {original.amount:,.2f} 元，{original.channel}）："
                           f"冲销行收据号 {new_no}，金额 {-original.amount:,.2f} 元；原收据号不再使用")
    if original.channel == "托收":
        batch = f"（批次 {original.batch}）" if original.batch else ""
        changes.summary.append(f"注意：{receipt_no} 是托收收款{batch}，请确认银行已退回该笔款项")
    return refresh_after_posting(ledger, changes, max(as_of or on, on))
