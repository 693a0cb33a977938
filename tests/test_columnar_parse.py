"""The column-at-a-time parse (issue 19) gives exactly what the row-by-row parse gives.

应收, 收款 and 抄表 are converted a column at a time; a row whose cells all convert
cleanly becomes its record directly and every other row goes through its row
builder.  Parsed both ways, the demo estate and every workbook of the hostile corpus
must give equal ledgers: the same records in the same order and the same 问题.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import hostile_corpus as hc
from xlwings_addin.ledger import schema
from xlwings_addin.workbook import parse
from xlwings_addin.workbook.raw import RawSheet
from xlwings_addin.workbook.reader import WorkbookError, read_workbook


def _both_ways(path):
    raw = read_workbook(path, clean=False)
    return parse.parse_ledger(raw), parse.parse_ledger(raw, columnar=False)


def test_demo_estate_parses_the_same_by_columns_and_by_rows(demo_workbook):
    columnar, rows = _both_ways(demo_workbook)
    assert len(rows.charges) > 1000 and len(rows.payments) > 100 and len(rows.readings) > 100
    assert columnar == rows
    assert columnar.problems == rows.problems


@pytest.mark.parametrize("case", [c for c in hc.available_cases() if not c.refuses and not c.needs_soffice],
                         ids=lambda c: c.name)
def test_hostile_workbooks_parse_the_same_by_columns_and_by_rows(case, tmp_path):
    path = case.build(tmp_path)
    try:
        columnar, rows = _both_ways(path)
    except WorkbookError:
        pytest.skip("a file the reader refuses has nothing to parse")
    assert columnar == rows
    assert columnar.problems == rows.problems


def _sheet(name, headers, rows, **kw):
    return RawSheet(name=name, headers=headers, rows=[(i, list(r)) for i, r in enumerate(rows, start=2)], **kw)


PAYMENT_HEADERS = ["收据号", "收款日期", "房号", "金额", "渠道", "指定期间", "经办人", "托收批次", "冲销收据号", "备注"]


def test_every_kind_of_bad_收款_row_gets_the_row_builders_problem():
    """Rows each cell kind rejects, mixed with good ones, cell by cell the same 问题 and records."""
    rows = [
        ["R1", 46320.0, "1-1-101", 100.0, "现金", "", "", "", "", ""],            # good (serial date)
        ["R2", "2026/11/3", " 1-1-102 ", "１２０.５", "微信", "2026Q4", "", "", "", ""],  # good, folded
        ["R3", "", "1-1-101", 100.0, "现金", "", "", "", "", ""],                  # no date
        ["R4", 46320.0, "", 100.0, "现金", "", "", "", "", ""],                    # no room
        ["R5", 46320.0, "1-1-101", 0.0, "现金", "", "", "", "", ""],               # zero
        ["R6", 46320.0, "1-1-101", -50.0, "现金", "", "", "", "", ""],             # negative, no reversal
        ["R7", 46320.0, "1-1-101", -100.0, "现金", "", "", "", "R1", ""],          # reversal: good
        ["R8", 46320.0, "1-1-101", 20.0, "退款", "", "张三", "", "", "经理批"],     # refund: row path
        ["R9", 46320.0, "1-1-101", 10.005, "现金", "", "", "", "", ""],            # three decimals
        ["R10", 46320.0, "1-1-101", 10.0, "刷脸", "", "", "", "", ""],             # unknown channel
        ["R11", 46320.0, "1-1-101", 10.0, "现金", "2026Q9", "", "", "", ""],       # bad period
        ["R12", 800.0, "1-1-101", 10.0, "现金", "", "", "", "", ""],               # 1902: out of range
        ["R1", 46320.0, "1-1-101", 10.0, "现金", "", "", "", "", ""],              # repeated 收据号
        ["", 46320.0, "1-1-101", 10.0, "现金", "", "", "", "", ""],                # no 收据号
        ["R13", 46320.0, "1-1-101", 10.0, "现金", "", "", "", "", ""],             # uncached formula in 金额
    ]
    sheet = _sheet(schema.PAYMENTS, PAYMENT_HEADERS, rows, uncached_formulas={(16, 3)})
    by_columns = parse.parse_sheet(schema.PAYMENTS, {schema.PAYMENTS: sheet})
    by_rows = parse.parse_sheet(schema.PAYMENTS, {schema.PAYMENTS: sheet}, columnar=False)
    assert by_columns == by_rows
    records, problems = by_columns
    assert [p.receipt_no for p in records] == ["R1", "R2", "R7", "R8"]
    assert records[1].amount == Decimal("120.50") and records[1].room == "1-1-102"
    assert records[1].paid_on == dt.date(2026, 11, 3) and str(records[1].period) == "2026Q4"
    assert records[0].paid_on == dt.date(2026, 10, 25) and records[0].source.cell == "D2"
    assert records[3].channel == schema.REFUND and records[3].amount == Decimal("20.00")
    assert [p.cell for p in problems] == ["B4", "C5", "D6", "D7", "D10", "E11", "F12", "B13", "A14", "A15", "D16"]


def test_a_logical_value_sends_the_whole_sheet_down_the_row_path():
    """TRUE equals 1 in a memo table; such a sheet is not converted by columns at all."""
    sheet = _sheet(schema.PAYMENTS, PAYMENT_HEADERS, [["R1", 46320.0, "1-1-101", True, "现金", "", "", "", "", ""],
                                                      ["R2", 46320.0, "1-1-101", 1.0, "现金", "", "", "", "", ""]])
    plan = parse.COLUMNAR[schema.PAYMENTS]
    assert plan.convert(sheet, parse.header_columns(PAYMENT_HEADERS)) is None
    records, problems = parse.parse_sheet(schema.PAYMENTS, {schema.PAYMENTS: sheet})
    assert [p.receipt_no for p in records] == ["R2"] and records[0].amount == Decimal("1.00")
    assert [p.cell for p in problems] == ["D2"]
