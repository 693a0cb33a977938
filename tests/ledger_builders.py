"""Small helpers to write a ledger inline in a test (records, not workbooks)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from xlwings_addin.ledger.periods import Period
from xlwings_addin.ledger.records import Charge, FeeItem, Ledger, Payment, Settings, Unit, Waiver

D = Decimal
Q1, Q2, Q3, Q4 = (Period.quarter(2026, q) for q in (1, 2, 3, 4))


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def unit(room: str, area: str = "100", building: str = "1", **kw) -> Unit:
    return Unit(room=room, house_type=kw.pop("house_type", "住宅"), area=D(area), owner=kw.pop("owner", "张三"),
                building=building, **kw)


def item(code: str = "WYF", name: str = "物业管理费", method: str = "面积", price: str | None = "2.50",
         late_fee: bool = True, **kw) -> FeeItem:
    return FeeItem(code=code, name=name, method=method, unit_price=D(price) if price is not None else None,
                   late_fee=late_fee, **kw)


def charge(room: str, period: Period, amount: str, due: str | None = None, code: str = "WYF") -> Charge:
    return Charge(bill_no=f"{period}-{room}-{code}", period=period, room=room, item_code=code, amount=D(amount),
                  due_date=day(due) if due else period.due_date(25), item_name="物业管理费")


def pay(receipt: str, room: str, on: str, amount: str, channel: str = "微信", period: Period | None = None,
        reverses: str = "") -> Payment:
    return Payment(receipt_no=receipt, paid_on=day(on), room=room, amount=D(amount), channel=channel,
                   period=period, reverses=reverses)


def waiver(room: str, on: str, kind: str, amount: str, period: Period | None = None) -> Waiver:
    return Waiver(date=day(on), room=room, kind=kind, amount=D(amount), reason="测试", approver="经理", period=period)


def ledger(units=(), items=(item(),), charges=(), payments=(), waivers=(), settings: Settings | None = None,
           **kw) -> Ledger:
    return Ledger(settings=settings or Settings(), units=tuple(units), items=tuple(items), charges=tuple(charges),
                  payments=tuple(payments), waivers=tuple(waivers), **kw)
