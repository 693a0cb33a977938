"""The money rules of SPEC §4.1–4.5, each with figures worked out by hand."""
from __future__ import annotations


import pytest

from xlwings_addin.engine.aging import aging_bucket, arrears_list
from xlwings_addin.engine.allocation import PREPAID, WAIVED, allocate, conservation_gap
from xlwings_addin.engine.billing import bill_period
from xlwings_addin.engine.late_fee import accrued_late_fee, court_reference_rate
from xlwings_addin.engine.rates import collection_rates
from xlwings_addin.ledger.money import daxie, to_money
from xlwings_addin.ledger.records import MeterReading, Settings, SharedCost

from ledger_builders import D, Q1, Q2, Q3, charge, day, item, ledger, pay, unit, waiver

# ---------------------------------------------------------------- §4.3 late fee


def test_worked_example_of_spec_is_8_10():
    # 600 × 0.0003 × 10 + 600 × 0.0003 × 35 = 1.80 + 6.30
    fee = accrued_late_fee(D("1200.00"), day("2026-01-25"), [(day("2026-02-04"), D("600.00"))],
                           day("2026-03-01"), D("0.0003"))
    assert fee == D("8.10")


def test_paying_on_due_date_owes_nothing_and_one_day_later_owes_one_day():
    due = day("2026-01-25")
    assert accrued_late_fee(D("1200"), due, [(due, D("1200"))], day("2026-06-30"), D("0.0003")) == D("0.00")
    # 1200 × 0.0003 × 1 = 0.36
    assert accrued_late_fee(D("1200"), due, [(day("2026-01-26"), D("1200"))], day("2026-06-30"),
                            D("0.0003")) == D("0.36")


def test_grace_days_are_not_charged():
    # paid 10 days late with 5 days grace: 1200 × 0.0003 × 5 = 1.80
    fee = accrued_late_fee(D("1200"), day("2026-01-25"), [(day("2026-02-04"), D("1200"))], day("2026-03-01"),
                           D("0.0003"), grace=5)
    assert fee == D("1.80")


def test_cap_limits_fee_to_share_of_principal():
    # 1000 days unpaid: 1200 × 0.0003 × 1000 = 360.00, capped at 10% = 120.00
    due = day("2026-01-25")
    as_of = day("2028-10-21")
    assert (as_of - due).days == 1000
    assert accrued_late_fee(D("1200"), due, [], as_of, D("0.0003")) == D("360.00")
    assert accrued_late_fee(D("1200"), due, [], as_of, D("0.0003"), cap_ratio=D("0.1")) == D("120.00")


def test_court_reference_rate_is_lpr_times_1_5_over_365():
    # 1200 × 0.03 × 1.5 / 365 × 35 = 54 × 35 / 365 = 5.178… → 5.18
    fee = accrued_late_fee(D("1200"), day("2026-01-25"), [], day("2026-03-01"), court_reference_rate(D("0.03")))
    assert fee == D("5.18")


def test_half_up_rounding_of_the_fee():
    # 25.00 × 0.0003 × 1 = 0.0075 → 0.01 (half up)
    assert accrued_late_fee(D("25.00"), day("2026-01-25"), [], day("2026-01-26"), D("0.0003")) == D("0.01")


# ---------------------------------------------------------------- §4.1 billing


def _billing_ledger(**kw):
    units = kw.pop("units", [unit("1-1-101", "89.50"), unit("1-1-102", "120", parking_spaces=2)])
    return ledger(units=units, **kw)


def test_area_fixed_and_parking_billing():
    items = [item("WYF", "物业管理费", "面积", "2.50"),
             item("CWF", "车位管理费", "固定", "150", unit_label="元/车位·月"),
             item("LJF", "垃圾清运费", "固定", "10", unit_label="元/户·月")]
    result = bill_period(_billing_ledger(items=items), Q1)
    amounts = {(c.room, c.item_code): c.amount for c in result.charges}
    assert amounts[("1-1-101", "WYF")] == D("671.25")  # 89.50 × 2.50 × 3
    assert amounts[("1-1-102", "WYF")] == D("900.00")  # 120 × 2.50 × 3
    assert amounts[("1-1-102", "CWF")] == D("900.00")  # 150 × 3 months × 2 spaces
    assert ("1-1-101", "CWF") not in amounts  # no parking space, no charge
    assert amounts[("1-1-101", "LJF")] == D("30.00")  # 10 × 3 × 1
    assert all(c.due_date == day("2026-01-25") for c in result.charges)


def test_metered_billing_and_negative_usage_is_a_problem():
    items = [item("SF", "水费", "用量", "4.10", late_fee=False, unit_label="元/吨")]
    readings = [MeterReading(Q1, "1-1-101", "水", D("1200"), D("1234.5")),
                MeterReading(Q1, "1-1-102", "水", D("500"), D("480"))]
    result = bill_period(_billing_ledger(items=items, readings=tuple(readings)), Q1)
    assert [(c.room, c.amount) for c in result.charges] == [("1-1-101", D("141.45"))]  # 34.5 × 4.10
    assert len(result.problems) == 1
    assert "用量为负" in result.problems[0].message


def test_shared_cost_by_area_and_by_household_sums_exactly():
    units = [unit("A", "50"), unit("B", "30"), unit("C", "20"), unit("X", "10", building="2")]
    items = [item("GT", "公摊电费", "公摊", None, late_fee=False)]
    shared = (SharedCost(Q1, "GT", D("100.00"), "面积", "1"),)
    result = bill_period(ledger(units=units, items=items, shared_costs=shared), Q1)
    assert {c.room: c.amount for c in result.charges} == {"A": D("50.00"), "B": D("30.00"), "C": D("20.00")}

    equal = [unit("A", "10"), unit("B", "10"), unit("C", "10")]
    # 100.00 / 3 = 33.333… → 33.33 × 3 = 99.99; the residue 0.01 goes to the largest share (first of equals)
    result = bill_period(ledger(units=equal, items=items, shared_costs=(SharedCost(Q1, "GT", D("100.00"), "面积"),)), Q1)
    assert [c.amount for c in result.charges] == [D("33.34"), D("33.33"), D("33.33")]
    result = bill_period(ledger(units=equal, items=items, shared_costs=(SharedCost(Q1, "GT", D("0.10"), "户数"),)), Q1)
    assert [c.amount for c in result.charges] == [D("0.04"), D("0.03"), D("0.03")]


def test_billing_twice_adds_nothing():
    book = _billing_ledger()
    first = bill_period(book, Q1)
    assert len(first.charges) == 2 and first.already_billed == 0
    again = bill_period(ledger(units=book.units, items=book.items, charges=first.charges), Q1)
    assert again.charges == () and again.already_billed == 2


# ---------------------------------------------------------------- §4.2 allocation


def _account(charges, payments, as_of, waivers=(), settings=None, room="R"):
    book = ledger(units=[unit(room)], charges=charges, payments=payments, waivers=waivers, settings=settings)
    result = allocate(book, day(as_of))
    return result.accounts[room], result


def test_oldest_first_principal_before_late_fee_then_prepaid_offsets_next_bill():
    charges = [charge("R", Q1, "1200.00"), charge("R", Q2, "1200.00"), charge("R", Q3, "1200.00")]
    payments = [pay("1", "R", "2026-05-10", "1500.00"), pay("2", "R", "2026-06-01", "1000.00")]
    acc, _ = _account(charges, payments, "2026-05-31")
    q1, q2 = acc.charges[0], acc.charges[1]
    assert q1.open == 0 and q2.open == D("900.00")
    # Q1 paid 105 days late: 1200 × 0.0003 × 105 = 37.80; nothing of it paid yet (principal first)
    assert q1.late_fee == D("37.80") and q1.fee_paid == 0
    # Q2: 300 paid 15 days late (1.35) + 900 open 36 days to 05-31 (9.72)
    assert q2.late_fee == D("11.07")

    acc, _ = _account(charges, payments, "2026-07-01")
    q1, q2, q3 = acc.charges
    # On 06-01: 900 clears Q2, then fees 37.80 + (1.35 + 900 × 0.0003 × 37 = 9.99) = 49.14, rest 50.86 → 预存
    assert q2.open == 0
    assert q1.fee_paid + q2.fee_paid == D("49.14")
    # Q3 becomes payable on 07-01 and takes the 50.86 as 预存冲抵
    assert q3.settled(PREPAID) == D("50.86") and q3.open == D("1149.14")
    assert acc.prepaid_balance == 0
    assert conservation_gap(acc) == 0


def test_designated_period_is_paid_first():
    charges = [charge("R", Q1, "1200.00"), charge("R", Q2, "1200.00")]
    acc, _ = _account(charges, [pay("1", "R", "2026-05-01", "1200.00", period=Q2)], "2026-05-01")
    assert acc.charges[0].open == D("1200.00") and acc.charges[1].open == 0


def test_reversal_undoes_the_receipt():
    charges = [charge("R", Q1, "1200.00")]
    payments = [pay("1", "R", "2026-01-20", "1200.00"), pay("1R", "R", "2026-02-01", "-1200.00", reverses="1")]
    acc, result = _account(charges, payments, "2026-03-01")
    assert result.problems == ()
    assert acc.charges[0].open == D("1200.00")
    # as if never paid: 1200 × 0.0003 × 35 = 12.60
    assert acc.charges[0].late_fee == D("12.60")
    assert acc.payments_total == 0


def test_reversing_twice_or_an_unknown_receipt_is_a_problem():
    payments = [pay("1", "R", "2026-01-20", "100.00"), pay("1R", "R", "2026-02-01", "-100.00", reverses="1"),
                pay("1R2", "R", "2026-02-02", "-100.00", reverses="1"), pay("9R", "R", "2026-02-02", "-5", reverses="9")]
    _, result = _account([charge("R", Q1, "1200.00")], payments, "2026-03-01")
    messages = [p.message for p in result.problems]
    assert any("不能重复冲销" in m for m in messages) and any("不存在" in m for m in messages)


def test_late_fee_first_order():
    settings = Settings(principal_first=False)
    # on 02-04 the fee is 1200 × 0.0003 × 10 = 3.60, paid first; 596.40 goes to principal
    acc, _ = _account([charge("R", Q1, "1200.00")], [pay("1", "R", "2026-02-04", "600.00")], "2026-02-04",
                      settings=settings)
    assert acc.charges[0].fee_paid == D("3.60")
    assert acc.charges[0].open == D("603.60")


def test_waivers():
    # 费用减免 100 on 01-10 settles principal (no fee on it); 违约金减免 5.00 reduces the fee
    charges = [charge("R", Q1, "1200.00")]
    acc, _ = _account(charges, [], "2026-03-01",
                      waivers=[waiver("R", "2026-01-10", "费用减免", "100.00"),
                               waiver("R", "2026-02-20", "违约金减免", "5.00", period=Q1)])
    c = acc.charges[0]
    assert c.settled(WAIVED) == D("100.00") and c.open == D("1100.00")
    # 1100 × 0.0003 × 35 = 11.55; less 5.00 waived = 6.55
    assert c.late_fee == D("11.55") and c.fee_outstanding == D("6.55")


def test_payment_before_any_bill_is_prepaid():
    acc, _ = _account([charge("R", Q2, "300.00")], [pay("1", "R", "2026-03-10", "500.00")], "2026-04-30")
    assert acc.charges[0].settled(PREPAID) == D("300.00")
    assert acc.prepaid_balance == D("200.00")


def test_late_fee_is_idempotent():
    charges = [charge("R", Q1, "1200.00")]
    a1, _ = _account(charges, [pay("1", "R", "2026-02-04", "600.00")], "2026-03-01")
    a2, _ = _account(charges, [pay("1", "R", "2026-02-04", "600.00")], "2026-03-01")
    assert a1.charges[0].late_fee == a2.charges[0].late_fee == D("8.10")


# ---------------------------------------------------------------- §4.4 aging


@pytest.mark.parametrize("days,bucket", [(0, "未到期"), (1, "1-30天"), (30, "1-30天"), (31, "31-90天"), (90, "31-90天"),
                                         (91, "91-180天"), (181, "181-365天"), (365, "181-365天"), (366, "1-3年"),
                                         (1095, "1-3年"), (1096, "3年以上")])
def test_aging_buckets(days, bucket):
    assert aging_bucket(days) == bucket


def test_arrears_line_is_aged_from_the_oldest_due_date():
    units = [unit("R"), unit("D", developer_held=True), unit("OK")]
    charges = [charge("R", Q1, "1200.00"), charge("R", Q2, "1200.00"), charge("D", Q2, "300.00"),
               charge("OK", Q1, "100.00")]
    book = ledger(units=units, charges=charges, payments=[pay("1", "OK", "2026-01-25", "100.00")])
    lines = arrears_list(book.units, allocate(book, day("2026-05-01")))
    assert [a.unit.room for a in lines] == ["R", "D"]  # owners first, developer-held last, paid units absent
    r = lines[0]
    assert r.period_count == 2 and r.oldest_due == day("2026-01-25")
    assert r.days_overdue == 96 and r.bucket == "91-180天"
    # fees: 1200 × 0.0003 × 96 = 34.56 and 1200 × 0.0003 × 6 = 2.16
    assert r.principal == D("2400.00") and r.late_fee == D("36.72") and r.total == D("2436.72")


# ---------------------------------------------------------------- §4.5 collection rates


def test_collection_rates_with_and_without_waivers_and_prepaid():
    from xlwings_addin.ledger.periods import Period

    Q4_2025 = Period.quarter(2025, 4)
    units = [unit("A", building="1"), unit("B", building="1"), unit("C", building="2")]
    charges = [charge("A", Q1, "600.00"), charge("B", Q1, "400.00"), charge("C", Q1, "300.00"),
               charge("C", Q4_2025, "500.00")]
    payments = [pay("1", "A", "2026-01-20", "300.00"),
                pay("2", "B", "2025-12-15", "100.00"),  # prepaid before Q1, offset on 01-01
                pay("3", "B", "2026-01-22", "250.00"),
                pay("4", "C", "2026-02-01", "200.00")]  # goes to C's older 2025Q4 bill
    waivers = [waiver("B", "2026-01-10", "费用减免", "50.00", period=Q1)]
    book = ledger(units=units, charges=charges, payments=payments, waivers=waivers)
    rows = collection_rates(book, allocate(book, day("2026-03-31")))
    center = next(r for r in rows if r.period == Q1 and r.scope == "全部")
    assert center.receivable == D("1300.00")
    assert (center.cash, center.waived, center.prepaid) == (D("550.00"), D("50.00"), D("100.00"))
    assert center.current_rate == D("700") / D("1300")
    assert center.current_rate_cash_only == D("550") / D("1300")
    assert center.opening_arrears == D("500.00") and center.arrears_collected == D("200.00")
    assert center.arrears_rate == D("0.4")
    assert center.overall_rate == D("0.5")  # (700 + 200) / (1300 + 500)
    assert (center.units_paid, center.units_billed) == (1, 3)
    b1 = next(r for r in rows if r.period == Q1 and r.scope == "楼栋:1")
    assert b1.current_rate == D("0.7")  # (300 + 250 + 50 + 100) / 1000
    assert b1.current_rate_cash_only == D("0.55")


# ---------------------------------------------------------------- money


@pytest.mark.parametrize("amount,words", [("1234.50", "壹仟贰佰叁拾肆元伍角整"), ("1200.00", "壹仟贰佰元整"),
                                          ("100005.07", "壹拾万零伍元零柒分"), ("0.50", "伍角整"),
                                          ("1010.00", "壹仟零壹拾元整"), ("20.05", "贰拾元零伍分"),
                                          ("0", "零元整")])
def test_chinese_capitals(amount, words):
    assert daxie(D(amount)) == words


def test_to_money_never_goes_through_float_artefacts():
    assert to_money(1200.1) == D("1200.10")
    assert to_money("１,２００.５") == D("1200.50")
    with pytest.raises(ValueError):
        to_money("0.001")


def test_shared_cost_residue_of_several_cents_goes_a_cent_each_to_the_largest_shares():
    # 7 units, areas 3,1,1,1,1,1,1 (total 9); 1.00 split: 0.333… → 0.33, 0.111… → 0.11 × 6 = 0.66;
    # parts sum to 0.99, residue +0.01 → the largest share: 0.34
    units = [unit("A", "3")] + [unit(f"U{i}", "1") for i in range(6)]
    items = [item("GT", "公摊电费", "公摊", None, late_fee=False)]
    result = bill_period(ledger(units=units, items=items, shared_costs=(SharedCost(Q1, "GT", D("1.00"), "面积"),)), Q1)
    assert [c.amount for c in result.charges] == [D("0.34")] + [D("0.11")] * 6
    # 2.00 over 300 equal households: 0.00666… → 0.01 each = 3.00, residue −1.00 → the first
    # hundred (all shares equal, in room order) give back a cent each: 100 × 0.00 + 200 × 0.01
    many = [unit(f"R{i:03d}", "50") for i in range(300)]
    result = bill_period(ledger(units=many, items=items, shared_costs=(SharedCost(Q1, "GT", D("2.00"), "户数"),)), Q1)
    amounts = [c.amount for c in result.charges]
    assert sum(amounts) == D("2.00") and min(amounts) == D("0.00")
    assert amounts.count(D("0.00")) == 100 and amounts.count(D("0.01")) == 200


def test_a_reversal_dated_after_as_of_does_not_undo_the_receipt_yet():
    charges = [charge("R", Q1, "1200.00")]
    payments = [pay("1", "R", "2026-01-20", "1200.00"), pay("1R", "R", "2026-04-01", "-1200.00", reverses="1")]
    before, _ = _account(charges, payments, "2026-03-31")
    assert before.charges[0].open == 0 and before.payments_total == D("1200.00")
    after, _ = _account(charges, payments, "2026-04-01")
    # undone on 04-01: unpaid since the due date, 1200 × 0.0003 × 66 days = 23.76
    assert after.charges[0].open == D("1200.00") and after.charges[0].late_fee == D("23.76")


def test_rates_before_the_first_period_starts_are_empty_not_an_error():
    """A 2026Q1 bill due 2025-12-25 (before its period) is payable on 2025-12-28, but no period has started:
    no 收缴率 rows (and no crash comparing with a period that does not exist)."""
    import datetime as _dt

    from ledger_builders import charge, ledger, unit
    from xlwings_addin.engine.allocation import allocate as _allocate
    from xlwings_addin.engine.rates import collection_rates as _rates
    from xlwings_addin.ledger.periods import Period as _Period

    book = ledger(units=[unit("1-1-101", "100")],
                  charges=[charge("1-1-101", _Period.quarter(2026, 1), "750.00", due="2025-12-25")])
    day = _dt.date(2025, 12, 28)
    assert _rates(book, _allocate(book, day)) == []
