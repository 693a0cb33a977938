"""Properties of the engine that must hold for *any* ledger (hypothesis; issue 8).

- money conservation: for every unit, Σ payments = principal paid + late fee
  paid + 预存 (``conservation_gap == 0``), whatever the charges, payments,
  reversals and waivers;
- the late fee never falls as days pass, nor when the principal is larger;
- allocation does not depend on the order payments were typed in: the engine
  orders by date, then receipt number, so permuting the tuple of payments
  (same dates, same receipt numbers) changes nothing;
- billing is idempotent: billing a period again adds nothing.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlwings_addin.engine.allocation import allocate, conservation_gap
from xlwings_addin.engine.billing import bill_period
from xlwings_addin.engine.late_fee import accrued_late_fee
from xlwings_addin.ledger.periods import Period
from xlwings_addin.ledger.records import Charge, Ledger, Payment, Settings, Waiver

from ledger_builders import D, item, ledger, unit

pytestmark = pytest.mark.hostile
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ROOMS = ("1-1-101", "1-1-102")
PERIODS = tuple(Period.quarter(2026, q) for q in (1, 2, 3)) + (Period.quarter(2025, 4),)
START = dt.date(2025, 10, 1)

cents = st.integers(min_value=1, max_value=300_000).map(lambda c: Decimal(c) / 100)
days = st.integers(min_value=0, max_value=400).map(lambda n: START + dt.timedelta(days=n))


@st.composite
def ledgers(draw, principal_first=None):
    charges = []
    for i in range(draw(st.integers(0, 5))):
        period = draw(st.sampled_from(PERIODS))
        room = draw(st.sampled_from(ROOMS))
        code = draw(st.sampled_from(("WYF", "SF")))
        charges.append(Charge(bill_no=f"B{i}", period=period, room=room, item_code=code,
                              amount=draw(cents), due_date=period.due_date(25), item_name=code))
    payments = []
    for i in range(draw(st.integers(0, 6))):
        payments.append(Payment(
            receipt_no=f"R{i:02d}", paid_on=draw(days), room=draw(st.sampled_from(ROOMS)), amount=draw(cents),
            channel=draw(st.sampled_from(("微信", "现金", "预存冲抵"))),
            period=draw(st.none() | st.sampled_from(PERIODS))))
    reversals = []
    for j in range(draw(st.integers(0, 3))):
        if not payments:
            break
        original = draw(st.sampled_from(payments))
        part = draw(st.integers(1, int(original.amount * 100))) / Decimal(100)
        reversals.append(Payment(receipt_no=f"X{j}", paid_on=draw(days), room=original.room, amount=-part,
                                 channel=original.channel, reverses=original.receipt_no))
    waivers = []
    for _ in range(draw(st.integers(0, 3))):
        waivers.append(Waiver(date=draw(days), room=draw(st.sampled_from(ROOMS)),
                              kind=draw(st.sampled_from(("违约金减免", "费用减免"))), amount=draw(cents),
                              reason="测试", approver="经理", period=draw(st.none() | st.sampled_from(PERIODS))))
    first = draw(st.booleans()) if principal_first is None else principal_first
    s = Settings(late_fee_rate=draw(st.sampled_from((D("0.0003"), D("0.0005"), D("0.001")))),
                 grace_days=draw(st.integers(0, 15)), principal_first=first,
                 late_fee_cap=draw(st.none() | st.sampled_from((D("0.1"), D("0.3")))))
    return ledger(units=[unit(r) for r in ROOMS], items=[item("WYF"), item("SF", "水费", "用量", "4.10", False)],
                  charges=charges, payments=payments + reversals, waivers=waivers, settings=s)


as_ofs = st.integers(min_value=0, max_value=600).map(lambda n: START + dt.timedelta(days=n))


@FAST
@given(ledgers(), as_ofs)
def test_money_is_conserved_for_every_unit(book, as_of):
    result = allocate(book, as_of)
    for room, account in result.accounts.items():
        assert conservation_gap(account) == 0, room
        # and nothing is settled beyond a charge, nor paid below zero
        for c in account.charges:
            assert Decimal(0) <= c.open <= c.charge.amount
            assert c.fee_paid >= 0 and c.fee_waived >= 0
        assert account.prepaid_balance >= 0


@FAST
@given(ledgers(), as_ofs, st.integers(1, 400))
def test_unit_late_fee_never_falls_as_days_pass(book, as_of, more):
    early = allocate(book, as_of)
    late = allocate(book, as_of + dt.timedelta(days=more))
    for room in ROOMS:
        fee_early = {c.charge.bill_no: c.late_fee for c in early.accounts[room].charges}
        for c in late.accounts[room].charges:
            assert c.late_fee >= fee_early.get(c.charge.bill_no, Decimal(0))


settlement_lists = st.lists(st.tuples(st.integers(-30, 500), st.integers(1, 100_000)), max_size=4)


@FAST
@given(st.integers(1, 500_000), settlement_lists, st.integers(-30, 900), st.integers(0, 400), st.integers(0, 10),
       st.none() | st.sampled_from((D("0.1"), D("0.5"))))
def test_late_fee_monotone_in_days(amount_cents, parts, as_of_n, more, grace, cap):
    due = dt.date(2026, 1, 25)
    amount = Decimal(amount_cents) / 100
    settled, total = [], Decimal(0)
    for n, c in parts:  # settlements never exceed the charge
        part = min(Decimal(c) / 100, amount - total)
        if part > 0:
            settled.append((due + dt.timedelta(days=n), part))
            total += part
    as_of = due + dt.timedelta(days=as_of_n)
    a = accrued_late_fee(amount, due, settled, as_of, D("0.0003"), grace, cap)
    b = accrued_late_fee(amount, due, settled, as_of + dt.timedelta(days=more), D("0.0003"), grace, cap)
    assert D(0) <= a <= b


@FAST
@given(st.integers(1, 500_000), st.integers(0, 500_000), settlement_lists, st.integers(-30, 900),
       st.integers(0, 10), st.none() | st.sampled_from((D("0.1"), D("0.5"))))
def test_late_fee_monotone_in_principal(amount_cents, extra_cents, parts, as_of_n, grace, cap):
    """The same payments against a larger charge never make a smaller fee."""
    due = dt.date(2026, 1, 25)
    small = Decimal(amount_cents) / 100
    large = small + Decimal(extra_cents) / 100
    settled, total = [], Decimal(0)
    for n, c in parts:
        part = min(Decimal(c) / 100, small - total)
        if part > 0:
            settled.append((due + dt.timedelta(days=n), part))
            total += part
    as_of = due + dt.timedelta(days=as_of_n)
    assert (accrued_late_fee(small, due, settled, as_of, D("0.0003"), grace, cap)
            <= accrued_late_fee(large, due, settled, as_of, D("0.0003"), grace, cap))


def _snapshot(result):
    return {room: (a.prepaid_balance, a.payments_total, a.fee_paid_total,
                   tuple((c.charge.bill_no, c.settlements, c.late_fee, c.fee_paid, c.fee_waived) for c in a.charges))
            for room, a in result.accounts.items()}, sorted(result.problems, key=repr)


def test_two_fee_waivers_on_a_one_cent_charge_warn_the_same_in_either_order():
    # issue 20 point 8: 费用减免 0.02 and 0.01 on the same day on a 0.01 charge.  Smaller first: 0.01 clears
    # the charge, then all of 0.02 is unused → one warning "费用减免 0.02 超过当时欠费，0.02 未使用",
    # whichever row comes first in the sheet.
    q = Period.quarter(2026, 1)
    c = Charge(bill_no="B0", period=q, room="1-1-101", item_code="WYF", amount=D("0.01"),
               due_date=q.due_date(25), item_name="WYF")
    w1 = Waiver(date=dt.date(2026, 2, 1), room="1-1-101", kind="费用减免", amount=D("0.02"), reason="测试",
                approver="经理")
    w2 = Waiver(date=dt.date(2026, 2, 1), room="1-1-101", kind="费用减免", amount=D("0.01"), reason="测试",
                approver="经理")
    results = []
    for order in ((w1, w2), (w2, w1)):
        book = ledger(units=[unit("1-1-101")], charges=[c], waivers=order)
        results.append(sorted(p.message for p in allocate(book, dt.date(2026, 3, 1)).problems))
    assert results[0] == results[1] == ["费用减免 0.02 超过当时欠费，0.02 未使用"]


@FAST
@given(ledgers(), as_ofs, st.randoms(use_true_random=False))
def test_allocation_does_not_depend_on_payment_entry_order(book, as_of, rnd):
    payments = list(book.payments)
    rnd.shuffle(payments)
    waivers = list(book.waivers)
    rnd.shuffle(waivers)
    shuffled = Ledger(**{**book.__dict__, "payments": tuple(payments), "waivers": tuple(waivers)})
    assert _snapshot(allocate(shuffled, as_of)) == _snapshot(allocate(book, as_of))


@FAST
@given(st.lists(st.tuples(st.integers(1, 30_000), st.integers(0, 3)), min_size=1, max_size=6),
       st.sampled_from(PERIODS), st.booleans())
def test_billing_is_idempotent(areas, period, second_item):
    units = [unit(f"1-1-{101 + i}", str(Decimal(a) / 100), parking_spaces=spaces)
             for i, (a, spaces) in enumerate(areas)]
    items = [item("WYF", "物业管理费", "面积", "2.50")]
    if second_item:
        items.append(item("CWF", "车位管理费", "固定", "80", unit_label="元/车位·月"))
    book = ledger(units=units, items=items)
    first = bill_period(book, period)
    assert first.already_billed == 0
    billed = Ledger(**{**book.__dict__, "charges": first.charges})
    again = bill_period(billed, period)
    assert again.charges == () and again.already_billed == len(first.charges)
    # and every line is rounded to 分: area × 2.50 × 3, e.g. 0.01 ㎡ → 0.075 → 0.08
    for c in first.charges:
        assert c.amount == c.amount.quantize(D("0.01"))


@pytest.mark.parametrize("typed", [("X1", "X2"), ("X2", "X1")])
def test_two_reversals_of_one_receipt_the_earlier_counts_whatever_the_typing_order(typed):
    # found by test_allocation_does_not_depend_on_payment_entry_order: the first *typed* reversal used to win
    from ledger_builders import Q1, charge, day, pay

    rows = {"X1": pay("X1", "1-1-101", "2026-02-10", "-200", reverses="R1"),
            "X2": pay("X2", "1-1-101", "2026-02-05", "-500", reverses="R1")}
    book = ledger(units=[unit("1-1-101")], charges=[charge("1-1-101", Q1, "1200")],
                  payments=[pay("R1", "1-1-101", "2026-02-01", "1200")] + [rows[k] for k in typed])
    result = allocate(book, day("2026-03-01"))
    account = result.accounts["1-1-101"]
    # X2 (02-05) is the earlier reversal: R1 counts 1200 − 500 = 700; X1 is refused as a second reversal
    assert account.open_principal == D("500.00")
    # 700 × 0.0003 × 7 (01-25 → 02-01) + 500 × 0.0003 × 35 (01-25 → 03-01) = 1.47 + 5.25
    assert account.charges[0].late_fee == D("6.72")
    assert [p.cell for p in result.problems] == [""] and "已被冲销过" in result.problems[0].message
