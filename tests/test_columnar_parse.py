"""The column-at-a-time parse (issue 19) gives exactly what the row-by-row parse gives.

应收, 收款 and 抄表 are converted a column at a time; a row whose cells all convert
cleanly becomes its record directly and every other row goes through its row
builder.  Parsed both ways, the demo estate and every workbook of the hostile corpus
must give equal ledgers: the same records in the same order and the same 问题.

The same holds when those sheets are read by fastexcel into Arrow columns (``read_workbook(…,
columnar=…)``, as ``load_ledger`` reads them): a plainly written sheet is read so, any other
(a column of two types, a header fastexcel would rename, a date where text is read) by calamine.
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

COLUMNAR_DATES = {name: plan.dates for name, plan in parse.COLUMNAR.items()}


def _both_ways(path):
    raw = read_workbook(path, clean=False)
    return parse.parse_ledger(raw), parse.parse_ledger(raw, columnar=False)


def _arrow_way(path):
    """The ledger as load_ledger reads it: 应收, 收款 and 抄表 as Arrow columns where plainly written."""
    raw = read_workbook(path, clean=False, columnar=COLUMNAR_DATES)
    return raw, parse.parse_ledger(raw)


def test_demo_estate_parses_the_same_by_columns_and_by_rows(demo_workbook):
    columnar, rows = _both_ways(demo_workbook)
    assert len(rows.charges) > 1000 and len(rows.payments) > 100 and len(rows.readings) > 100
    assert columnar == rows
    assert columnar.problems == rows.problems
    raw, arrow = _arrow_way(demo_workbook)
    assert all(raw[name].columns is not None for name in parse.COLUMNAR)  # read by fastexcel
    assert arrow == rows
    assert arrow.problems == rows.problems


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
    _raw, arrow = _arrow_way(path)
    assert arrow == rows
    assert arrow.problems == rows.problems


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


# ------------------------------------------------------------------ fastexcel's columns, and when calamine reads instead


def _payments_book(tmp_path, rows, headers=PAYMENT_HEADERS, extra=None):
    """A workbook with one 收款 sheet (openpyxl writes it plainly, as Excel does)."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = schema.PAYMENTS
    ws.append(headers)
    for row in rows:
        ws.append(row)
    for ref, value in (extra or {}).items():
        ws[ref] = value
    path = tmp_path / "book.xlsx"
    wb.save(path)
    return path


def _read_both(path):
    """(the 收款 RawSheet as load_ledger reads it, its parse, the calamine sheet's row-by-row parse)."""
    arrow = read_workbook(path, [schema.PAYMENTS], clean=False, columnar=COLUMNAR_DATES)
    rows = read_workbook(path, [schema.PAYMENTS], clean=False)
    return (arrow[schema.PAYMENTS], parse.parse_sheet(schema.PAYMENTS, arrow),
            parse.parse_sheet(schema.PAYMENTS, rows, columnar=False))


def test_arrow_columns_with_blank_rows_dates_and_rows_for_the_row_builder(tmp_path):
    """Read by fastexcel: a blank row keeps the Excel row numbers after it, a date and a date with a
    time are both 收款日期, and the rows the row builder decides (a negative amount without 冲销收据号,
    a repeated 收据号, a refund) get its 问题 at their own cells."""
    day, noon = dt.datetime(2026, 10, 25), dt.datetime(2026, 10, 26, 12, 30)
    rows = [
        ["R1", day, "1-1-101", 100, "现金", None, None, None, None, None],
        [None] * 10,  # blank row 3
        ["R2", noon, "1-1-102", 120.5, "微信", "2026Q4", "张三", None, None, "备注"],
        ["R3", day, "1-1-101", -50, "现金", None, None, None, None, None],  # D5: negative, no reversal
        ["R1", day, "1-1-101", 10, "现金", None, None, None, None, None],  # A6: R1 again
        ["R4", day, "1-1-101", 20, "退款", None, None, None, None, "经理批"],  # refund (row builder)
        ["R5", day, "1-1-101", -100, "现金", None, None, None, "R1", None],  # a reversal of R1
    ]
    sheet, (records, problems), by_rows = _read_both(_payments_book(tmp_path, rows))
    assert sheet.columns is not None  # read by fastexcel
    assert sheet.columns.row_numbers == [2, 4, 5, 6, 7, 8]
    assert (records, problems) == by_rows
    assert [p.receipt_no for p in records] == ["R1", "R2", "R4", "R5"]
    assert records[1].paid_on == dt.date(2026, 10, 26) and records[1].amount == Decimal("120.50")
    assert records[1].source.cell == "D4" and records[1].note == "备注"
    assert records[2].channel == schema.REFUND and records[3].reverses == "R1"
    assert [p.cell for p in problems] == ["D5", "A6"]


@pytest.mark.parametrize("why", ["text after row 1000", "header with a space", "date in text", "repeated header",
                                 "value right of headers", "blank header"])
def test_sheets_fastexcel_cannot_read_plainly_are_read_by_calamine(tmp_path, why):
    """Each of these would read differently as Arrow columns (a text among numbers beyond fastexcel's
    sample would be a blank; a renamed header; a datetime where calamine gives a date): calamine
    reads them, and the 问题 are those of the row-by-row parse."""
    rows = [[f"R{i}", 46320.0, "1-1-101", 10.0, "现金", None, None, None, None, None] for i in range(1, 1501)]
    headers = list(PAYMENT_HEADERS)
    extra = {}
    if why == "text after row 1000":
        extra = {"D1400": "十元"}
    elif why == "header with a space":
        headers[0] = "收据号 "
    elif why == "date in text":
        extra = {"J3": dt.date(2026, 1, 5)}
    elif why == "repeated header":
        headers[9] = "金额"
    elif why == "value right of headers":
        extra = {"L7": "多余"}
    else:
        headers[6] = None  # 经办人 blank: its column is no column
    sheet, parsed, by_rows = _read_both(_payments_book(tmp_path, rows, headers, extra))
    assert sheet.columns is None and len(sheet.rows) == 1500  # calamine read it
    assert parsed == by_rows
    records, problems = parsed
    if why == "text after row 1000":
        assert [p.cell for p in problems] == ["D1400"] and len(records) == 1499
    if why == "date in text":
        assert records[1].note == "2026-01-05"  # as calamine gives the date cell
    if why == "repeated header":
        assert any("重复" in p.message and p.cell == "J1" for p in problems)


def test_a_sheet_fastexcel_fails_on_is_read_by_calamine(tmp_path, monkeypatch):
    """Whatever fastexcel raises for a sheet — its own errors, even a Rust panic, which pyo3 raises as a
    BaseException — that sheet is read by calamine and the run goes on."""
    import fastexcel

    class Panic(BaseException):  # as pyo3_runtime.PanicException
        pass

    class Reader:
        def load_sheet(self, *args, **kwargs):
            raise Panic("called `Option::unwrap()` on a `None` value")

    monkeypatch.setattr(fastexcel, "read_excel", lambda data: Reader())
    rows = [["R1", dt.datetime(2026, 10, 25), "1-1-101", 100, "现金", None, None, None, None, None]]
    sheet, parsed, by_rows = _read_both(_payments_book(tmp_path, rows))
    assert sheet.columns is None and sheet.rows and parsed == by_rows
    assert [p.receipt_no for p in parsed[0]] == ["R1"]
