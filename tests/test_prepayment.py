"""Issue 15: prepayment campaigns (优惠), 指定期间 held for a period not yet billed, 退款 of 预存,
押金 and one-off charges.  Every figure is worked by hand in the comment beside it."""
from __future__ import annotations

from decimal import Decimal as D

from ledger_builders import Q1, Q2, Q3, Q4, charge, day, ledger, pay, unit

from xlwings_addin.engine.allocation import CASH, DISCOUNT, PREPAID, allocate, conservation_gap
from xlwings_addin.engine.deposits import deposits_held
from xlwings_addin.engine.rates import collection_rates
from xlwings_addin.jobs.charges import one_off_charge
from xlwings_addin.jobs.ledger import job_run, rates_sheet
from xlwings_addin.jobs.receipts import receive
from xlwings_addin.ledger import schema
from xlwings_addin.ledger.periods import Period
from xlwings_addin.ledger.records import ERROR, Campaign, Deposit, Payment, Source
from xlwings_addin.workbook.parse import parse_ledger
from xlwings_addin.workbook.raw import RawSheet

ROOM = "1-1-101"
Q4_25 = Period.quarter(2025, 4)
Q1_27 = Period.quarter(2027, 1)
# 100 ㎡ × 2.50 元/㎡·月 = 250.00 a month, 750.00 a quarter
BILLS = [charge(ROOM, p, "750.00") for p in (Q1, Q2, Q3, Q4, Q1_27)]
YEAR_GETS_A_MONTH = Campaign("交一年送一月", "WYF", day("2026-01-01"), day("2026-01-31"), 12, "赠送月数", D(1), True,
                             Source("优惠活动", "A2"))


def _book(payments, campaigns=(YEAR_GETS_A_MONTH,), charges=BILLS, **kw):
    return ledger(units=[unit(ROOM, "100")], charges=charges, payments=payments, campaigns=tuple(campaigns), **kw)


def _by_period(account):
    return {s.charge.period: s for s in account.charges}


# ---------------------------------------------------------------- 交一年送一月


def test_a_year_paid_in_the_window_earns_a_month_on_the_13th_month_bill():
    book = _book([pay("R1", ROOM, "2026-01-10", "3000.00")])  # 12 × 250.00
    account = allocate(book, day("2027-02-01")).accounts[ROOM]
    st = _by_period(account)
    # 3,000.00 pays 2026Q1 in cash (payable since 01-01), 2,250.00 to 预存 → Q2, Q3, Q4 by 预存冲抵
    assert st[Q1].settled(CASH) == D("750.00")
    assert [st[p].settled(PREPAID) for p in (Q2, Q3, Q4)] == [D("750.00")] * 3
    # the 13th month is 2027-01: 2027Q1's bill is settled 1 × 250.00 by 优惠, 500.00 left to pay
    assert st[Q1_27].settled(DISCOUNT) == D("250.00")
    assert st[Q1_27].open == D("500.00")
    assert account.prepaid_balance == D("0")
    assert conservation_gap(account) == 0  # 优惠 is no payment: 3,000 = 750 + 2,250 + 0


def test_the_campaign_in_the_rates_with_and_without_discount():
    book = _book([pay("R1", ROOM, "2026-01-10", "3000.00")])
    allocation = allocate(book, day("2027-02-01"))
    (row,) = [r for r in collection_rates(book, allocation, [Q1_27]) if r.scope == "全部"]
    # 2027Q1: 应收 750.00, 优惠 250.00, nothing else → 当期收缴率 250/750 = 1/3; excluding 减免/预存冲抵/优惠 0/750
    assert (row.receivable, row.discount, row.cash, row.prepaid, row.waived) == (D("750.00"), D("250.00"), 0, 0, 0)
    assert row.current_rate == D("250.00") / D("750.00")
    assert row.current_rate_cash_only == 0
    # without the campaign nothing of 2027Q1 is settled: 0%
    plain = _book([pay("R1", ROOM, "2026-01-10", "3000.00")], campaigns=())
    (row0,) = [r for r in collection_rates(plain, allocate(plain, day("2027-02-01")), [Q1_27]) if r.scope == "全部"]
    assert row0.current_rate == 0 and row0.discount == 0
    # the 收缴率 sheet: existing headers untouched, 优惠 the last column
    sheet = rates_sheet([row])
    assert sheet.headers[:len(schema.OUTPUT_SHEETS[schema.RATES].required)] == list(
        schema.OUTPUT_SHEETS[schema.RATES].required)
    assert sheet.headers[-1] == "优惠" and sheet.rows[0][-1] == D("250.00")


def test_a_cent_short_earns_nothing_and_arrears_disqualify():
    short = allocate(_book([pay("R1", ROOM, "2026-01-10", "2999.99")]), day("2027-02-01")).accounts[ROOM]
    assert _by_period(short)[Q1_27].settled(DISCOUNT) == 0
    assert [o.shortfall for _r, o in short.offers] == [D("0.01")]
    # owing 2025Q4 (750.00, due 2025-10-25) on the day: 仅限无欠费 → not earned, even paying 3,750.00
    owing = _book([pay("R1", ROOM, "2026-01-10", "3750.00")], charges=BILLS + [charge(ROOM, Q4_25, "750.00")])
    account = allocate(owing, day("2027-02-01")).accounts[ROOM]
    assert _by_period(account)[Q1_27].settled(DISCOUNT) == 0
    assert "仅限无欠费" in account.offers[0][1].reason
    # outside the window (2026-02-01): no word at all
    late = allocate(_book([pay("R1", ROOM, "2026-02-01", "3000.00")]), day("2027-02-01")).accounts[ROOM]
    assert late.offers == () and _by_period(late)[Q1_27].settled(DISCOUNT) == 0


def test_discount_rate_and_fixed_amount_campaigns():
    # 九五折 on 12 months: 12 × 250.00 × (1 − 0.95) = 150.00; 减免金额 100.00 → 100.00
    for kind, value, expected in (("折扣率", "0.95", "150.00"), ("减免金额", "100", "100.00")):
        campaign = Campaign("预缴优惠", "WYF", day("2026-01-01"), day("2026-01-31"), 12, kind, D(value))
        account = allocate(_book([pay("R1", ROOM, "2026-01-10", "3000.00")], campaigns=[campaign]),
                           day("2027-02-01")).accounts[ROOM]
        assert _by_period(account)[Q1_27].settled(DISCOUNT) == D(expected)


def test_receive_says_when_a_payment_earns_or_just_misses_a_campaign():
    book = _book([])
    changes, _ctx = receive(book, ROOM, "3000", "现金", day("2026-01-10"))
    assert any("符合优惠活动“交一年送一月”" in line and "250.00" in line and "2027-01" in line
               for line in changes.summary)
    changes, _ctx = receive(book, ROOM, "2800", "现金", day("2026-01-10"))
    # 3,000.00 − 2,800.00 = 200.00 short (≤ a quarter of 3,000.00: a near miss)
    assert any("差 200.00 元未达到优惠活动" in line for line in changes.summary)
    changes, _ctx = receive(book, ROOM, "100", "现金", day("2026-01-10"))
    assert not any("优惠活动" in line for line in changes.summary)


def _raw(name, headers, *rows):
    return RawSheet(name, headers, [(i + 2, list(r)) for i, r in enumerate(rows)])


def _raw_book(**sheets):
    base = {
        "收费项目": _raw("收费项目", ["项目编码", "项目名称", "计费方式", "单价", "计违约金"],
                     ["WYF", "物业管理费", "面积", 2.5, "是"], ["SF", "水费", "用量", 4.1, "否"]),
        "房屋": _raw("房屋", ["房号", "房屋类型", "建筑面积", "业主姓名"], [ROOM, "住宅", 100, "张三"]),
    }
    base.update(sheets)
    return parse_ledger(base)


def test_campaign_sheet_is_read_and_checked():
    headers = ["活动名称", "项目编码", "开始日期", "结束日期", "预缴月数", "优惠方式", "优惠值", "仅限无欠费"]
    book = _raw_book(优惠活动=_raw("优惠活动", headers,
                                ["交一年送一月", "WYF", "2026-01-01", "2026-01-31", 12, "赠送月数", 1, "是"],
                                ["交两年送三月", "WYF", "2026-01-01", "2026-01-31", 24, "赠送月数", 3, "否"],
                                ["水费活动", "SF", "2026-01-01", "2026-01-31", 12, "赠送月数", 1, "否"],
                                ["打折", "WYF", "2026-01-01", "2026-01-31", 12, "折扣率", 95, "否"]))
    assert [c.name for c in book.campaigns] == ["交一年送一月", "交两年送三月"]
    assert book.campaigns[0].no_arrears_only and book.campaigns[0].value == 1
    cells = {(p.level, p.cell): p.message for p in book.problems}
    assert "预缴上限月数" in cells[("警告", "A3")]  # 24 > 12 months: a warning, still used
    assert "用量" in cells[(ERROR, "A4")]  # a metered item cannot be prepaid by the month
    assert "折扣率应小于1" in cells[(ERROR, "G5")]


# ---------------------------------------------------------------- 指定期间 not yet billed


def test_a_payment_for_a_period_not_yet_billed_is_held_for_it():
    # 2025Q4 750.00 open (due 2025-10-25); on 2025-12-20 the owner pays 750.00 designated 2026Q1
    charges = [charge(ROOM, Q4_25, "750.00"), charge(ROOM, Q1, "750.00")]
    payment = pay("R1", ROOM, "2025-12-20", "750.00", period=Q1)
    before = allocate(_book([payment], campaigns=(), charges=charges), day("2025-12-31"))
    account = before.accounts[ROOM]
    assert _by_period(account)[Q4_25].open == D("750.00")  # the arrears are not paid from it
    assert account.prepaid_balance == D("750.00") and account.earmarked == ((Q1, D("750.00")),)
    (warning,) = before.problems
    assert "尚未出账" in warning.message and "2026Q1" in warning.message
    after = allocate(_book([payment], campaigns=(), charges=charges), day("2026-01-02")).accounts[ROOM]
    st = _by_period(after)
    assert st[Q1].settled(PREPAID) == D("750.00") and st[Q1].open == 0  # offset when it became payable
    assert st[Q4_25].open == D("750.00")
    assert after.prepaid_balance == 0 and conservation_gap(after) == 0


# ---------------------------------------------------------------- 退款 of 预存


def _refund(receipt, on, amount):
    return Payment(receipt, day(on), ROOM, D(amount), schema.REFUND, operator="李经理", source=Source("收款", "D9"))


def test_a_refund_reduces_prepaid_and_never_undoes_the_receipt():
    # 3,000.00 on 2026-01-10 pays 2026Q1 750.00 → 预存 2,250.00; 退款 800.00 on 2026-02-01 → 1,450.00
    book = _book([pay("R1", ROOM, "2026-01-10", "3000.00")], campaigns=(), charges=[charge(ROOM, Q1, "750.00")],
                 refunds=(_refund("T1", "2026-02-01", "800.00"),))
    account = allocate(book, day("2026-03-01")).accounts[ROOM]
    assert account.prepaid_balance == D("1450.00") and account.refunded == D("800.00")
    assert _by_period(account)[Q1].settled(CASH) == D("750.00")  # the receipt stands
    assert account.payments_total == D("3000.00") and conservation_gap(account) == 0
    assert any("预存退款 800.00" in line for line in job_run(book, day("2026-03-01")).summary)


def test_a_refund_larger_than_the_balance_is_refused():
    book = _book([pay("R1", ROOM, "2026-01-10", "3000.00")], campaigns=(), charges=[charge(ROOM, Q1, "750.00")],
                 refunds=(_refund("T1", "2026-02-01", "2300.00"),))
    result = allocate(book, day("2026-03-01"))
    assert result.accounts[ROOM].prepaid_balance == D("2250.00")  # unchanged
    (problem,) = result.problems
    assert problem.level == ERROR and problem.cell == "D9" and "超过当日预存余额 2,250.00" in problem.message


def test_refund_rows_are_read_apart_from_payments():
    headers = ["收据号", "收款日期", "房号", "金额", "渠道", "经办人", "备注", "冲销收据号"]
    book = _raw_book(收款=_raw("收款", headers,
                             ["R1", "2026-01-10", ROOM, 3000, "现金", "", "", ""],
                             ["T1", "2026-02-01", ROOM, -800, "退款", "", "审批：李经理", ""],
                             ["T2", "2026-02-02", ROOM, 100, "退款", "", "", ""],
                             ["T3", "2026-02-03", ROOM, -100, "退款", "小张", "", "R1"]))
    assert [p.receipt_no for p in book.payments] == ["R1"]
    assert [(r.receipt_no, r.amount) for r in book.refunds] == [("T1", D("800"))]
    messages = {p.cell: p.message for p in book.problems}
    assert "审批人" in messages["G4"] and "不冲销收据" in messages["H5"]


# ---------------------------------------------------------------- 押金


def test_a_deposit_leaves_every_rate_unchanged():
    payments = [pay("R1", ROOM, "2026-01-20", "500.00")]
    deposits = (Deposit(day("2026-01-05"), ROOM, "装修押金", D("2000.00"), approver=""),
                Deposit(day("2026-02-10"), ROOM, "装修押金", D("-2000.00"), approver="李经理"),
                Deposit(day("2026-02-11"), ROOM, "门禁卡押金", D("50.00")))
    plain = _book(payments, campaigns=(), charges=[charge(ROOM, Q1, "750.00")])
    with_deposits = _book(payments, campaigns=(), charges=[charge(ROOM, Q1, "750.00")], deposits=deposits)
    as_of = day("2026-03-01")
    rates = collection_rates(plain, allocate(plain, as_of))
    assert collection_rates(with_deposits, allocate(with_deposits, as_of)) == rates
    (row,) = [r for r in rates if r.scope == "全部"]
    assert row.current_rate == D("500.00") / D("750.00")  # 500/750, the deposits nowhere
    assert allocate(with_deposits, as_of).accounts[ROOM].prepaid_balance == 0
    held, problems = deposits_held(with_deposits, as_of)
    assert [(h.kind, h.held) for h in held] == [("装修押金", D("0.00")), ("门禁卡押金", D("50.00"))]
    assert problems == []
    changes = job_run(with_deposits, as_of)
    assert any("押金：在押 1 笔，合计 50.00 元" in line for line in changes.summary)


def test_returning_more_deposit_than_held_is_refused():
    deposits = (Deposit(day("2026-01-05"), ROOM, "门禁卡押金", D("50.00")),
                Deposit(day("2026-02-10"), ROOM, "门禁卡押金", D("-80.00"), approver="李经理",
                        source=Source("押金", "D3")))
    held, problems = deposits_held(_book([], deposits=deposits))
    assert held[0].held == D("50.00")
    assert problems[0].cell == "D3" and "超过当日在押 50.00" in problems[0].message


def test_deposit_sheet_requires_an_approver_to_return():
    book = _raw_book(押金=_raw("押金", ["日期", "房号", "类型", "金额", "审批人"],
                             ["2026-01-05", ROOM, "装修押金", 2000, ""],
                             ["2026-02-05", ROOM, "装修押金", -2000, ""]))
    assert [d.amount for d in book.deposits] == [D("2000")]
    assert any(p.cell == "E3" and "审批人" in p.message for p in book.problems)


# ---------------------------------------------------------------- one-off charges


def test_a_one_off_charge_takes_the_next_bill_number():
    from ledger_builders import item

    items = (item(), item("MJK", "门禁卡工本费", "固定", "0", late_fee=False))
    book = ledger(units=[unit(ROOM, "100")], items=items)
    changes = one_off_charge(book, ROOM, "MJK", "50", day("2026-11-22"))
    (row,) = changes.append[schema.CHARGES]
    assert (row["账单号"], row["期间"], row["金额"], row["应缴日期"], row["来源"]) == (
        "2026Q4-1-1-101-MJK", "2026Q4", D("50.00"), day("2026-11-22"), "手工")
    again = one_off_charge(book, ROOM, "MJK", "50", day("2026-11-23"),
                           existing_bill_nos=["2026Q4-1-1-101-MJK", "2026Q4-1-1-101-MJK-2"])
    assert again.append[schema.CHARGES][0]["账单号"] == "2026Q4-1-1-101-MJK-3"
    for args, words in (((ROOM, "XX", "50"), "项目编码"), (("9-9-999", "MJK", "50"), "房号"),
                        ((ROOM, "MJK", "-5"), "正数"), ((ROOM, "MJK", "1.005"), "金额")):
        refused = one_off_charge(book, *args, day("2026-11-22"))
        assert refused.errors and not refused.writes and words in refused.errors[0].message
    monthly = one_off_charge(book, ROOM, "MJK", "50", day("2026-11-22"), period=Period.month(2026, 11))
    assert monthly.errors and "计费周期" in monthly.errors[0].message


def test_feebook_charge_writes_the_row(tmp_path):
    import openpyxl

    from xlwings_addin.faces.cli import main
    from xlwings_addin.jobs.ledger import load

    path = tmp_path / "book.xlsx"
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in (("收费项目", [["项目编码", "项目名称", "计费方式", "单价", "计违约金"],
                                    ["WX", "维修费", "固定", 0, "否"]]),
                       ("房屋", [["房号", "房屋类型", "建筑面积", "业主姓名"], [ROOM, "住宅", 100, "张三"]]),
                       # 应收 and 收款 are required sheets (issue 14): present, with headers only
                       ("应收", [["账单号", "期间", "房号", "项目编码", "金额", "应缴日期"]]),
                       ("收款", [["收据号", "收款日期", "房号", "金额", "渠道"]])):
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
    wb.save(path)
    assert main(["charge", str(path), "--room", ROOM, "--item", "WX", "--amount", "120.50",
                 "--date", "2026-11-22"]) == 0
    (c,) = load(path).ledger.charges
    assert (c.bill_no, c.amount, c.origin, c.due_date) == ("2026Q4-1-1-101-WX", D("120.50"), "手工", day("2026-11-22"))
    assert main(["charge", str(path), "--room", ROOM, "--item", "WX", "--amount", "30", "--date", "2026-11-23"]) == 0
    assert [c.bill_no for c in load(path).ledger.charges] == ["2026Q4-1-1-101-WX", "2026Q4-1-1-101-WX-2"]


def test_feebook_refund_checks_the_balance_and_writes_a_refund_row(tmp_path):
    import openpyxl

    from xlwings_addin.faces.cli import main
    from xlwings_addin.jobs.ledger import load

    path = tmp_path / "book.xlsx"
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in (("收费项目", [["项目编码", "项目名称", "计费方式", "单价", "计违约金"],
                                    ["WYF", "物业管理费", "面积", 2.5, "是"]]),
                       ("房屋", [["房号", "房屋类型", "建筑面积", "业主姓名"], [ROOM, "住宅", 100, "张三"]]),
                       ("应收", [["账单号", "期间", "房号", "项目编码", "金额", "应缴日期"],
                                 ["2026Q1-1-1-101-WYF", "2026Q1", ROOM, "WYF", 750, "2026-01-25"]]),
                       ("收款", [["收据号", "收款日期", "房号", "金额", "渠道"],
                                 ["SK2026000001", "2026-01-10", ROOM, 3000, "现金"]])):
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
    wb.save(path)
    # 预存 = 3,000.00 − 750.00 = 2,250.00: 2,300.00 is refused, 800.00 leaves 1,450.00
    assert main(["refund", str(path), "--room", ROOM, "--amount", "2300", "--approver", "李经理",
                 "--date", "2026-02-01"]) != 0
    assert load(path).ledger.refunds == ()
    assert main(["refund", str(path), "--room", ROOM, "--amount", "800", "--approver", "李经理",
                 "--date", "2026-02-01"]) == 0
    book = load(path).ledger
    (r,) = book.refunds
    assert (r.receipt_no, r.amount, r.channel) == ("SK2026000002", D("800.00"), "退款") and "李经理" in r.note
    account = allocate(book, day("2026-03-01")).accounts[ROOM]
    assert account.prepaid_balance == D("1450.00")
    assert [p.amount for p in book.payments] == [D("3000.00")]  # the receipt stands


def test_a_one_off_charge_refreshes_arrears_and_rates_in_the_same_write():
    from ledger_builders import item

    items = (item(), item("MJK", "门禁卡工本费", "固定", "0", late_fee=False))
    # 2026Q4 物业管理费 750.00 due 2026-10-25, unpaid; the clerk adds 门禁卡 50.00 on 2026-11-22, entered 2026-11-30
    book = ledger(units=[unit(ROOM, "100")], items=items, charges=[charge(ROOM, Q4, "750.00")])
    changes = one_off_charge(book, ROOM, "MJK", "50", day("2026-11-22"), as_of=day("2026-11-30"))
    arrears = changes.replace[schema.ARREARS]
    (row,) = [r for r in arrears.rows if r and r[0] == ROOM]
    h = arrears.headers.index
    # 欠费本金 750.00 + 50.00 = 800.00 over 2 bills of one period; 违约金 only on 物业管理费 (门禁卡 计违约金 否):
    # 750.00 × 0.0003 × 36 days (2026-10-25 → 2026-11-30) = 8.10
    assert (row[h("欠费本金")], row[h("违约金")], row[h("欠费期数")]) == (D("800.00"), D("8.10"), 1)
    rates = changes.replace[schema.RATES]
    (everything,) = [r for r in rates.rows if len(r) > 2 and r[0] == "2026Q4" and r[1] == "全部"]
    assert (everything[2], everything[3]) == (D("800.00"), D("0"))  # 应收 750.00 + 50.00, 实收 0
    # the same figures a fresh run as of the same day writes once the row is in 应收
    from dataclasses import replace as _with

    from xlwings_addin.jobs.ledger import _charge_of
    after = _with(book, charges=book.charges + (_charge_of(changes.append[schema.CHARGES][0]),))
    fresh = job_run(after, day("2026-11-30"))
    assert fresh.replace[schema.ARREARS].rows[:len(arrears.rows)] == arrears.rows
    assert [r[:-2] for r in fresh.replace[schema.RATES].rows if len(r) > 2] == [r[:-2] for r in rates.rows if len(r) > 2]


def test_a_refund_refreshes_the_prepaid_shown_in_arrears():
    from xlwings_addin.jobs.refunds import refund

    # 1-1-101 owes 2026Q4 750.00 (due 2026-10-25) and holds 500.00 paid on 2026-11-10 for 2027Q1 (not yet
    # billed: earmarked 预存, never offset against the old arrears).  Refunding 200.00 on 2026-11-30 must show
    # in 欠费明细 at once: 预存余额 500.00 − 200.00 = 300.00, 欠费本金 still 750.00.
    book = ledger(units=[unit(ROOM, "100")], charges=[charge(ROOM, Q4, "750.00")],
                  payments=[pay("R1", ROOM, "2026-11-10", "500.00", period=Q1_27)])
    changes = refund(book, ROOM, "200", day("2026-11-30"), approver="李经理", as_of=day("2026-11-30"))
    arrears = changes.replace[schema.ARREARS]
    (row,) = [r for r in arrears.rows if r and r[0] == ROOM]
    h = arrears.headers.index
    assert (row[h("欠费本金")], row[h("预存余额")]) == (D("750.00"), D("300.00"))


def test_a_one_off_charge_of_a_periodic_item_before_its_bill_needs_force():
    """WYF (面积, 2.50 元/㎡·月) for 2027Q1, not billed yet: a 50.00 line would make `bill` skip the
    unit's 750.00 (100 ㎡ × 2.50 × 3) — refused unless forced; once billed, an extra line is fine."""
    book = ledger(units=[unit(ROOM, "100")])  # the default item is WYF
    refused = one_off_charge(book, ROOM, "WYF", "50", day("2027-01-05"))
    assert refused.errors and not refused.writes
    assert "尚未计费" in refused.errors[0].message and "--force" in refused.errors[0].message
    forced = one_off_charge(book, ROOM, "WYF", "50", day("2027-01-05"), force=True)
    assert [r["金额"] for r in forced.append[schema.CHARGES]] == [D("50.00")]
    billed = ledger(units=[unit(ROOM, "100")], charges=[charge(ROOM, Q1_27, "750.00")])
    extra = one_off_charge(billed, ROOM, "WYF", "50", day("2027-01-05"))
    assert not extra.errors and extra.append[schema.CHARGES][0]["账单号"].endswith("-2")


def test_earmarked_prepayment_is_not_taken_off_what_is_due_now():
    """2025Q4 750.00 open; 750.00 paid on 2025-12-20 designated 2026Q1 (not yet billed): 欠费明细's
    应缴合计 as of 2025-12-31 is 750.00 principal + late fee, not 0 — the 750.00 is held for 2026Q1."""
    from xlwings_addin.engine.aging import arrears_list

    charges = [charge(ROOM, Q4_25, "750.00"), charge(ROOM, Q1, "750.00")]
    book = _book([pay("R1", ROOM, "2025-12-20", "750.00", period=Q1)], campaigns=(), charges=charges)
    (line,) = arrears_list(book.units, allocate(book, day("2025-12-31")))
    assert line.prepaid == D("750.00") and line.earmarked == D("750.00")
    assert line.total == line.principal + line.late_fee == D("750.00") + line.late_fee


def test_a_demand_letter_does_not_net_earmarked_prepayment_off_the_arrears():
    """The same unit's 催缴函: 2025Q4's 750.00 (+ its late fee) is demanded in full; the 750.00 held for
    2026Q1 is not shown as 预存 that pays it."""
    from xlwings_addin.documents.contexts import DEMAND, plan_letters

    charges = [charge(ROOM, Q4_25, "750.00"), charge(ROOM, Q1, "750.00")]
    book = _book([pay("R1", ROOM, "2025-12-20", "750.00", period=Q1)], campaigns=(), charges=charges)
    plan = plan_letters(book, DEMAND, day("2025-12-31"), rooms=[ROOM], force=True)
    ((_room, ctx),) = plan.letters
    fee = D(ctx["late_fee_total"].replace(",", ""))
    assert ctx["prepaid_balance"] == "0.00"
    assert D(ctx["total_due"].replace(",", "")) == D("750.00") + fee


def test_a_year_paid_after_the_current_quarter_is_settled_earns_the_month_after_that_year():
    """2026Q4 (750.00, payable 2026-10-01) paid on 2026-10-10; the campaign runs 2026-11-01–11-30 and on
    11-20 the owner pays 3,000.00 = 12 × 250.00.  Those 12 months are 2027-01 … 2027-12 (2026Q4 is
    already paid), so the free month is 2028-01: 2028Q1's bill gets the 250.00 优惠 — not 2027Q4's."""
    q1_28, q4_27 = Period.quarter(2028, 1), Period.quarter(2027, 4)
    november = Campaign("交一年送一月", "WYF", day("2026-11-01"), day("2026-11-30"), 12, "赠送月数", D(1), True,
                        Source("优惠活动", "A2"))
    periods = (Q4, Period.quarter(2027, 1), Period.quarter(2027, 2), Period.quarter(2027, 3), q4_27, q1_28)
    book = _book([pay("R1", ROOM, "2026-10-10", "750.00"), pay("R2", ROOM, "2026-11-20", "3000.00")],
                 campaigns=(november,), charges=[charge(ROOM, p, "750.00") for p in periods])
    st = _by_period(allocate(book, day("2028-02-01")).accounts[ROOM])
    assert st[q4_27].settled(DISCOUNT) == 0 and st[q4_27].open == 0  # paid from the 3,000.00 (预存冲抵)
    assert st[q1_28].settled(DISCOUNT) == D("250.00") and st[q1_28].open == D("500.00")
