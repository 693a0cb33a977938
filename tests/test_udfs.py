"""The FB_* worksheet functions called as plain Python, with figures worked out by hand.

Functions that read the workbook get ``caller`` = a cell of a small in-memory
book (tests/fake_xlwings.py) typed here: two flats on 1 栋, each billed
2026Q1 物业管理费 due 2026-01-25 — 1-1-101 1,200.00 (600.00 paid 2026-02-04),
1-1-102 600.00 (unpaid); daily rate 0.0003.
"""
from __future__ import annotations

import datetime as dt

import pytest

from fake_xlwings import book_from_rows
from xlwings_addin.faces import udfs
from xlwings_addin.faces.udfs import (FB_AGING, FB_ARREARS, FB_COMMISSION, FB_DAXIE, FB_LATEFEE, FB_LATEFEE_REF,
                                FB_RATE, FB_STAGE)

D = dt.date
VALUE, NA = "#VALUE!", "#N/A"


def failed(result):
    """(Excel error, Chinese reason) of a failed call: errors are Excel errors, not text (issue 21)."""
    assert isinstance(result, udfs.CellError), result
    return str(result), result.reason


@pytest.fixture
def cell():
    book = book_from_rows({
        "参数": [["参数", "值"], ["违约金日费率", "0.0003"], ["计费周期", "季度"]],
        "收费项目": [["项目编码", "项目名称", "计费方式", "单价", "计违约金"], ["WY", "物业管理费", "面积", "2.00", "是"]],
        "房屋": [["房号", "楼栋", "房屋类型", "建筑面积", "业主姓名"],
                 ["1-1-101", "1", "住宅", 200, "张三"], ["1-1-102", "1", "住宅", 100, "李四"]],
        "服务助理": [["姓名", "负责楼栋"], ["小王", "1"]],
        "应收": [["账单号", "期间", "房号", "项目编码", "金额", "应缴日期"],
                 ["B1", "2026Q1", "1-1-101", "WY", 1200, D(2026, 1, 25)],
                 ["B2", "2026Q1", "1-1-102", "WY", 600, D(2026, 1, 25)]],
        "收款": [["收据号", "收款日期", "房号", "金额", "渠道"], ["R1", D(2026, 2, 4), "1-1-101", 600, "现金"]],
        "佣金规则": [["月份", "收缴率下限", "收缴率上限", "金额公式"],
                     [2, 0, 0.8, "0"], [2, 0.8, 0.95, "3000*收缴率-2350"], [2, 0.95, None, "500"]],
    })
    udfs._LEDGERS.clear()
    return book.sheets["房屋"].range((2, 1))


# ------------------------------------------------------------------ FB_LATEFEE / FB_LATEFEE_REF


def test_latefee_hand_worked():
    # 2026-01-25 → 2026-03-01 is 35 days (6 left in January, 28 in February, 1 in March)
    # 1,200.00 × 0.0003 × 35 = 12.60
    assert FB_LATEFEE(1200, D(2026, 1, 25), D(2026, 3, 1)) == 12.60
    # Excel hands dates over as datetimes or serial numbers; text dates are accepted too
    assert FB_LATEFEE(1200.0, dt.datetime(2026, 1, 25), 46082) == 12.60  # serial 46082 = 2026-03-01
    assert FB_LATEFEE("1200", "2026-01-25", "2026/3/1") == 12.60
    # rate 0.0005 and 5 grace days: 1,200.00 × 0.0005 × (35 − 5) = 18.00
    assert FB_LATEFEE(1200, D(2026, 1, 25), D(2026, 3, 1), 0.0005, 5) == 18.00
    assert FB_LATEFEE(1200, D(2026, 1, 25), D(2026, 3, 1), "0.05%", 5) == 18.00
    # paid on the due date owes nothing; one day late owes one day: 1,000 × 0.0003 × 1 = 0.30
    assert FB_LATEFEE(1000, D(2026, 1, 25), D(2026, 1, 25)) == 0.0
    assert FB_LATEFEE(1000, D(2026, 1, 25), D(2026, 1, 26)) == 0.30
    # 333.33 × 0.0003 × 10 = 0.999999 → 1.00 (rounded half up once, at the end)
    assert FB_LATEFEE(333.33, D(2026, 1, 25), D(2026, 2, 4)) == 1.00


def test_latefee_ref_hand_worked():
    # court reference daily rate = 0.030 × 1.5 / 365 = 0.000123287…; × 1,200 × 35 = 5.1780… → 5.18
    assert FB_LATEFEE_REF(1200, D(2026, 1, 25), D(2026, 3, 1)) == 5.18
    # LPR 3.45 %: 0.0345 × 1.5 / 365 × 1,200 × 35 = 5.9548… → 5.95
    assert FB_LATEFEE_REF(1200, D(2026, 1, 25), D(2026, 3, 1), "3.45%") == 5.95


@pytest.mark.parametrize("args, message", [
    (("abc", D(2026, 1, 25), D(2026, 3, 1)), "本金不是数字：abc"),
    ((None, D(2026, 1, 25), D(2026, 3, 1)), "缺少本金"),
    ((1200, "下个月", D(2026, 3, 1)), "应缴日期不是有效日期：下个月"),
    ((1200, D(2026, 1, 25), ""), "缺少截至日期"),
    ((1200, D(2026, 1, 25), -3), "截至日期不是有效日期：-3"),
    ((1200, D(2026, 1, 25), D(2026, 3, 1), -0.1), "日费率不能为负数：-0.1"),
    ((1200, D(2026, 1, 25), D(2026, 3, 1), None, 2.5), "宽限天数应为整数：2.5"),
    ((True, D(2026, 1, 25), D(2026, 3, 1)), "本金应为数字"),
])
def test_latefee_bad_arguments_return_value_error_with_reason(args, message):
    assert failed(FB_LATEFEE(*args)) == (VALUE, message)


# ------------------------------------------------------------------ FB_DAXIE / FB_AGING


def test_daxie():
    assert FB_DAXIE(1234.5) == "壹仟贰佰叁拾肆元伍角整"
    assert FB_DAXIE("1200") == "壹仟贰佰元整"
    assert FB_DAXIE(100005.07) == "壹拾万零伍元零柒分"
    assert failed(FB_DAXIE("abc")) == (VALUE, "金额不是数字：abc")
    assert failed(FB_DAXIE(None)) == (VALUE, "缺少金额")


def test_aging():
    # buckets: ≤0 未到期, 1–30, 31–90, 91–180, 181–365, 366–1095 (1-3年), >1095
    assert [FB_AGING(d) for d in (0, 1, 30, 31, 96, 180, 181, 365, 366, 1095, 1096)] == [
        "未到期", "1-30天", "1-30天", "31-90天", "91-180天", "91-180天", "181-365天", "181-365天",
        "1-3年", "1-3年", "3年以上"]
    assert FB_AGING(96.0) == "91-180天"  # Excel passes numbers as floats
    assert failed(FB_AGING(1.5)) == (VALUE, "逾期天数应为整数：1.5")
    assert failed(FB_AGING("很久")) == (VALUE, "逾期天数不是数字：很久")


# ------------------------------------------------------------------ FB_COMMISSION


def test_commission_default_rules_without_a_workbook():
    # month 2 at 87.5 %: 3000 × 0.875 − 2350 = 275.00; month 1 at 94.99 %: 2000 × 0.9499 − 1400 = 499.80
    assert FB_COMMISSION(0.875, 2) == 275.00
    assert FB_COMMISSION("87.5%", 2) == 275.00
    assert FB_COMMISSION(0.9499, 1) == 499.80
    # "以上包括本数": 80 % exactly is in the 80–95 % tier of month 3: 4000 × 0.8 − 3500 = −300.00
    assert FB_COMMISSION(0.8, 3) == -300.00
    assert FB_COMMISSION(0.5, 1) == 50.00


def test_commission_reads_the_workbook_rules(cell):
    # the book's 佣金规则 has only month 2
    assert FB_COMMISSION(0.875, 2, caller=cell) == 275.00
    assert failed(FB_COMMISSION(0.875, 1, caller=cell)) == (NA, "佣金规则第1月没有覆盖收缴率 87.50% 的档位")


@pytest.mark.parametrize("rate, month, message", [
    (0.9, 4, "月份应为 1、2 或 3：4"),
    (0.9, None, "缺少月份"),
    (None, 2, "缺少收缴率"),
    (1.2, 2, "收缴率不能超过 100%：1.2"),
    ("很高", 2, "收缴率不是数字：很高"),
])
def test_commission_bad_arguments(rate, month, message):
    assert failed(FB_COMMISSION(rate, month)) == (VALUE, message)


# ------------------------------------------------------------------ functions that read the workbook


def test_arrears(cell):
    # 1-1-101: 600.00 open + late fee 600 × 0.0003 × 10 (to the payment) + 600 × 0.0003 × 35 = 1.80 + 6.30
    #          = 608.10 (the SPEC §4.3 example)
    assert FB_ARREARS("1-1-101", D(2026, 3, 1), caller=cell) == 608.10
    # 1-1-102: 600.00 + 600 × 0.0003 × 35 = 606.30
    assert FB_ARREARS("1-1-102", D(2026, 3, 1), caller=cell) == 606.30
    # before the due date nothing is late: 600.00 owed, no fee
    assert FB_ARREARS("1-1-102", D(2026, 1, 25), caller=cell) == 600.00
    assert FB_ARREARS(" 1-1-102 ", "2026-03-01", caller=cell) == 606.30


def test_arrears_bad_arguments(cell):
    assert failed(FB_ARREARS("9-9-999", D(2026, 3, 1), caller=cell)) == (NA, "房号不存在：9-9-999")
    assert failed(FB_ARREARS("", D(2026, 3, 1), caller=cell)) == (VALUE, "缺少房号")
    assert failed(FB_ARREARS("1-1-101", "昨天", caller=cell)) == (VALUE, "截至日期不是有效日期：昨天")
    assert failed(FB_ARREARS("1-1-101", D(2026, 3, 1))) == (VALUE, "此函数需在收费大表工作簿的单元格中使用")


def test_rate(cell):
    # 2026Q1 receivable 1,200 + 600 = 1,800; collected by 2026-03-01: 600 → 1/3
    third = 600 / 1800
    assert FB_RATE("全部", "2026Q1", D(2026, 3, 1), caller=cell) == pytest.approx(third, abs=1e-12)
    assert FB_RATE("", "2026Q1", D(2026, 3, 1), caller=cell) == pytest.approx(third, abs=1e-12)
    assert FB_RATE(1, "2026Q1", D(2026, 3, 1), caller=cell) == pytest.approx(third, abs=1e-12)  # 楼栋 1
    assert FB_RATE("小王", "2026Q1", D(2026, 3, 1), caller=cell) == pytest.approx(third, abs=1e-12)
    assert FB_RATE("WY", "2026Q1", D(2026, 3, 1), caller=cell) == pytest.approx(third, abs=1e-12)
    # before the payment nothing is collected
    assert FB_RATE("全部", "2026Q1", D(2026, 2, 1), caller=cell) == 0.0


def test_rate_bad_arguments(cell):
    assert failed(FB_RATE("9栋", "2026Q1", D(2026, 3, 1), caller=cell)) == (NA, "范围不存在：9栋")
    assert failed(FB_RATE("全部", "2026Q9", D(2026, 3, 1), caller=cell)) == (VALUE, "期间无效：2026Q9")
    assert failed(FB_RATE("全部", "2025Q1", D(2026, 3, 1), caller=cell)) == (NA, "2025Q1 没有应收")


def test_stage(cell):
    # 2026-03-01 is 35 days past 2026-01-25: 31–180 days → 跟进
    assert FB_STAGE("1-1-101", D(2026, 3, 1), caller=cell) == "跟进"
    # 3 days before the due date is inside the 5-day reminder lead → 提醒; 15 days before → nothing to do
    assert FB_STAGE("1-1-102", D(2026, 1, 22), caller=cell) == "提醒"
    assert FB_STAGE("1-1-102", D(2026, 1, 10), caller=cell) == "无需催收"
    # 2026-02-10 is 16 days overdue: 8–30 → 沟通
    assert FB_STAGE("1-1-102", D(2026, 2, 10), caller=cell) == "沟通"
    assert failed(FB_STAGE("9-9-999", D(2026, 3, 1), caller=cell)) == (NA, "房号不存在：9-9-999")


def test_every_udf_has_a_tooltip_and_argument_help():
    import inspect

    assert set(udfs.HELP) == {"FB_LATEFEE", "FB_LATEFEE_REF", "FB_ARREARS", "FB_RATE", "FB_COMMISSION",
                              "FB_STAGE", "FB_DAXIE", "FB_AGING", "FB_ERROR"}
    # the functions that read the workbook recalculate with every recalculation (Application.Volatile)
    assert udfs.VOLATILE == {"FB_ARREARS", "FB_RATE", "FB_COMMISSION", "FB_STAGE"}
    for name, (description, arg_docs) in udfs.HELP.items():
        f = getattr(udfs, name)
        assert f.__doc__ == description and len(description) <= 255
        params = [p for p in inspect.signature(f).parameters if p != "caller"]
        assert set(arg_docs) == set(params), name


def test_cells_asking_for_the_same_day_share_one_allocation(monkeypatch):
    import datetime as dt
    from decimal import Decimal

    from ledger_builders import Q1, charge, ledger as make_ledger, pay, unit
    from xlwings_addin.faces import udfs

    calls = []
    real = udfs.allocate
    monkeypatch.setattr(udfs, "allocate", lambda ledger, day: calls.append(day) or real(ledger, day))
    book = make_ledger(units=[unit("A"), unit("B")], charges=[charge("A", Q1, "600.00"), charge("B", Q1, "300.00")],
                       payments=[pay("1", "A", "2026-02-04", "600.00")])
    day = dt.date(2026, 3, 1)
    first = udfs.allocation_of(book, day)
    assert udfs.allocation_of(book, day) is first and calls == [day]
    # A paid 10 days late (600 × 0.0003 × 10 = 1.80); B owes 300 for 35 days (300 × 0.0003 × 35 = 3.15)
    assert first.accounts["A"].fee_outstanding == Decimal("1.80")
    assert first.accounts["B"].fee_outstanding == Decimal("3.15")


# ------------------------------------------------------------------ xlwings' wrappers: a new object on every access


class Wrapper:
    """What xlwings hands over: every ``.sheet`` / ``.book`` / ``.sheets`` access builds a NEW wrapper
    object around the same Excel object (here: the fake book), so a wrapper is never a cache key."""

    def __init__(self, target, made):
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_made", made)

    def __getattr__(self, name):
        value = getattr(self._target, name)
        if name in ("sheet", "book", "used_range") or (name == "sheets"):
            self._made.append(name)
            if name == "sheets":
                return [Wrapper(s, self._made) for s in value]
            return Wrapper(value, self._made)
        return value

    def __getitem__(self, key):
        return Wrapper(self._target[key], self._made)


@pytest.fixture
def counted(cell, monkeypatch):
    """(caller factory, reads): each call gets a fresh wrapper of the same cell; reads counts full book reads."""
    from xlwings_addin.workbook import live

    reads, made, clock = [], [], [1000.0]
    real = live.read_book
    monkeypatch.setattr(live, "read_book", lambda book, *a, **k: reads.append(1) or real(book, *a, **k))
    monkeypatch.setattr(udfs, "_CLOCK", lambda: clock[0])
    udfs.invalidate()

    def caller(row=2, col=1, book_cell=cell):
        return Wrapper(book_cell.sheet.range((row, col)), made)

    return caller, reads, clock, made, cell.sheet.book


def test_five_cells_read_the_workbook_once_though_every_wrapper_is_new(counted):
    caller, reads, _clock, made, _book = counted
    results = [FB_ARREARS("1-1-101", D(2026, 3, 1), caller=caller(r)) for r in range(2, 7)]
    assert results == [608.10] * 5  # hand-worked in test_arrears
    assert len(reads) == 1
    assert made.count("book") >= 5  # every call really got a new book wrapper
    # within one recalculation only the first cell looked at the sheets' sizes (one used_range per input sheet)
    from xlwings_addin.ledger import schema
    assert made.count("used_range") == len([s for s in _book.sheets if s.name in schema.INPUT_SHEETS]) + \
        len(list(_book.sheets))  # the fingerprint once, plus the one full read of every sheet


def test_a_new_payment_row_is_seen_at_once(counted):
    caller, reads, _clock, _made, book = counted
    # 1-1-102 owes 600.00 + 600 × 0.0003 × 35 = 606.30
    assert FB_ARREARS("1-1-102", D(2026, 3, 1), caller=caller()) == 606.30
    payments = book.sheets["收款"]
    for c, v in enumerate(["R2", dt.datetime(2026, 2, 24), "1-1-102", 600.0, "现金"], start=1):
        payments.cells[(3, c)] = v
    _clock[0] += udfs.CHECK_INTERVAL  # the recalculation the new row triggers, a moment later
    # paid 600.00 on 2026-02-24, 30 days after 2026-01-25: late fee 600 × 0.0003 × 30 = 5.40 left to pay
    assert FB_ARREARS("1-1-102", D(2026, 3, 1), caller=caller()) == 5.40
    assert len(reads) == 2


def test_a_value_edited_in_place_is_seen_after_the_ttl(counted):
    caller, reads, clock, _made, book = counted
    assert FB_ARREARS("1-1-101", D(2026, 3, 1), caller=caller()) == 608.10
    book.sheets["收款"].cells[(2, 4)] = 1200.0  # R1 was 600, now pays the whole 1,200 on 2026-02-04
    clock[0] += udfs.LEDGER_TTL + 0.1
    # paid in full 10 days late: only the fee 1,200 × 0.0003 × 10 = 3.60 remains
    assert FB_ARREARS("1-1-101", D(2026, 3, 1), caller=caller()) == 3.60
    assert len(reads) == 2


def test_two_workbooks_are_two_cache_entries(counted):
    caller, reads, _clock, _made, book = counted
    other = book_from_rows({name: [s.row_values(r) for r in range(1, 4)] for name, s in
                            ((s.name, s) for s in book.sheets)}, fullname="C:/其他中心/收费大表.xlsx")
    other.sheets["应收"].cells[(3, 5)] = 300.0  # B2 is 300 here: 300 + 300 × 0.0003 × 35 = 303.15
    assert FB_ARREARS("1-1-102", D(2026, 3, 1), caller=caller()) == 606.30
    assert FB_ARREARS("1-1-102", D(2026, 3, 1), caller=Wrapper(other.sheets["房屋"].range((2, 1)), [])) == 303.15
    assert FB_ARREARS("1-1-102", D(2026, 3, 1), caller=caller()) == 606.30
    assert len(reads) == 2


def test_error_reason_is_kept_per_cell_for_fb_error(counted):
    caller, _reads, _clock, _made, _book = counted
    bad = caller(5, 2)
    result = FB_ARREARS("3-2-5O2", D(2026, 3, 1), caller=bad)
    assert str(result) == NA
    # FB_ERROR(B5) in another cell (a fresh wrapper of B5) gives the reason
    assert udfs.FB_ERROR(caller(5, 2)) == "房号不存在：3-2-5O2"
    assert udfs.FB_ERROR(caller(6, 2)) == ""  # a cell that did not fail
    # the cell is fixed: its reason goes away
    assert FB_ARREARS("1-1-101", D(2026, 3, 1), caller=caller(5, 2)) == 608.10
    assert udfs.FB_ERROR(caller(5, 2)) == ""
    assert failed(udfs.FB_ERROR("B5")) == (VALUE, "请引用一个单元格，如 =FB_ERROR(B2)")


def test_an_unreadable_book_gives_an_error_value_not_a_traceback(cell, monkeypatch):
    from xlwings_addin.workbook import live

    def boom(book, *a, **k):
        raise RuntimeError("COM 调用失败")

    monkeypatch.setattr(live, "read_book", boom)
    udfs.invalidate()
    result = FB_ARREARS("1-1-101", D(2026, 3, 1), caller=cell)
    assert failed(result) == (VALUE, "无法计算（RuntimeError: COM 调用失败）")
    assert "Traceback" not in result.reason


def test_nearest_room_is_suggested(cell):
    result = FB_ARREARS("1-1-1O1", D(2026, 3, 1), caller=cell)
    assert failed(result) == (NA, "房号不存在：1-1-1O1（是否为 1-1-101？）")
