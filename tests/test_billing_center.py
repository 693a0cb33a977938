"""Issue 15: billing as a center really bills (overlaps, 公摊 ranges, missing data, styles.xml)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
import zipfile
from decimal import Decimal as D

import openpyxl
import pytest
from ledger_builders import Q1, charge, item, ledger, unit

from xlwings_addin.engine.billing import bill_period
from xlwings_addin.ledger.periods import Period
from xlwings_addin.ledger.records import ERROR, WARNING, MeterReading, Settings, SharedCost, Source

JAN, FEB, MAR = (Period.month(2026, m) for m in (1, 2, 3))
MONTHLY = Settings(cycle="月")


def _units():
    return [unit("1-1-101", "100"), unit("1-1-102", "80")]


# ---------------------------------------------------------------- overlapping periods


def test_a_quarterly_center_refuses_to_bill_a_month():
    result = bill_period(ledger(units=_units()), JAN)
    assert result.charges == ()
    assert result.refused and "计费周期" in result.refused and "2026Q1" in result.refused
    assert [p.level for p in result.problems] == [ERROR]


def test_a_monthly_center_refuses_to_bill_a_quarter():
    book = ledger(units=_units(), settings=MONTHLY)
    result = bill_period(book, Q1)
    assert result.charges == () and "“月”" in result.refused and "2026-01" in result.refused
    # and a month bills: 100 ㎡ × 2.50 × 1 = 250.00, 80 × 2.50 = 200.00
    jan = bill_period(book, JAN)
    assert sorted(c.amount for c in jan.charges) == [D("200.00"), D("250.00")]


def test_a_hand_typed_month_line_keeps_its_unit_item_out_of_the_quarter():
    # 1-1-101 has a hand-typed 2026-02 line (来源 手工): the quarter 2026Q1 covers February, so that
    # unit-item is skipped; 1-1-102 is billed 80 × 2.50 × 3 = 600.00
    typed = charge("1-1-101", FEB, "250.00")
    typed = dataclasses.replace(typed, origin="手工", source=Source("应收", "E5"))
    result = bill_period(ledger(units=_units(), charges=[typed]), Q1)
    assert [(c.room, c.amount) for c in result.charges] == [("1-1-102", D("600.00"))]
    assert result.overlapping == 1 and result.already_billed == 0
    (warning,) = [p for p in result.problems if "重叠" in p.message]
    assert warning.level == WARNING and warning.cell == "E5" and "2026-02-1-1-101-WYF" in warning.message


def test_a_billed_quarter_keeps_every_month_of_it_out_in_a_monthly_center():
    # billed 2026Q1 (e.g. before the center switched to monthly): 2026-01 adds nothing for either unit
    q1 = [charge("1-1-101", Q1, "750.00"), charge("1-1-102", Q1, "600.00")]
    result = bill_period(ledger(units=_units(), charges=q1, settings=MONTHLY), JAN)
    assert result.charges == () and result.overlapping == 2
    # and April is a new month: billed
    april = bill_period(ledger(units=_units(), charges=q1, settings=MONTHLY), Period.month(2026, 4))
    assert len(april.charges) == 2 and april.overlapping == 0


def test_the_same_period_again_is_already_billed_not_an_overlap():
    first = bill_period(ledger(units=_units()), Q1)
    again = bill_period(ledger(units=_units(), charges=first.charges), Q1)
    assert again.charges == () and again.already_billed == 2 and again.overlapping == 0


# ---------------------------------------------------------------- 公摊 范围


def _shared_book(scope_text: str):
    from xlwings_addin.ledger.records import parse_building_scope

    units = [unit("1-1-101", "100", building="1"), unit("2-1-101", "90", building="2"),
             unit("2-1-102", "80", building="2"), unit("2-2-101", "70", building="2号楼")]
    items = [item("GT", "公摊电费", "公摊", None, late_fee=False)]
    cost = SharedCost(Q1, "GT", D("90.00"), "户数", parse_building_scope(scope_text), Source("公摊", "C2"),
                      Source("公摊", "E2"))
    return ledger(units=units, items=items, shared_costs=(cost,))


@pytest.mark.parametrize("scope", ["2", "楼栋:2", "楼栋：2", "2号楼", "2栋", "２栋"])
def test_shared_cost_by_households_over_building_2(scope):
    # 90.00 by 户数 over building 2 (2-1-101, 2-1-102 and 2-2-101, whose 楼栋 is typed "2号楼") = 30.00 × 3
    result = bill_period(_shared_book(scope), Q1)
    assert {c.room: c.amount for c in result.charges} == {"2-1-101": D("30.00"), "2-1-102": D("30.00"),
                                                          "2-2-101": D("30.00")}
    assert sum(c.amount for c in result.charges) == D("90.00")
    assert not [p for p in result.problems if p.level == ERROR]


def test_shared_cost_over_a_comma_list_of_buildings():
    # 90.00 over buildings 1 and 2: four units, 22.50 each
    result = bill_period(_shared_book("1,2栋"), Q1)
    assert sorted(c.amount for c in result.charges) == [D("22.50")] * 4


def test_an_unknown_building_is_an_error_at_the_scope_cell():
    result = bill_period(_shared_book("9号楼"), Q1)
    assert result.charges == ()
    (problem,) = [p for p in result.problems if p.level == ERROR]
    assert (problem.sheet, problem.cell) == ("公摊", "E2") and "未能理解" in problem.message


def test_a_scope_that_is_not_a_building_is_an_error_at_the_scope_cell_when_read(tmp_path):
    from xlwings_addin.workbook.parse import SheetParser, _shared
    from xlwings_addin.workbook.raw import RawSheet

    raw = RawSheet("公摊", ["期间", "项目编码", "总金额", "分摊方式", "范围"],
                   [(2, ["2026Q1", "GT", 90, "户数", "服务助理:小王"]), (3, ["2026Q1", "GT", 90, "户数", "楼栋:2"])])
    problems = []
    records = SheetParser({"公摊": raw}, problems).parse("公摊", _shared)
    assert [r.scope for r in records] == ["2"]
    (problem,) = problems
    assert problem.cell == "E2" and "无法理解的范围" in problem.message


# ---------------------------------------------------------------- nothing left out silently


def test_items_without_data_for_the_period_are_warnings():
    items = [item("WYF"), item("SF", "水费", "用量", "4.10", late_fee=False, unit_label="元/吨"),
             item("GT", "公摊电费", "公摊", None, late_fee=False)]
    result = bill_period(ledger(units=_units(), items=items), Q1)
    assert len(result.charges) == 2  # only 物业管理费
    assert len(result.missing) == 2
    assert any("水表读数" in m and "SF" in m for m in result.missing)
    assert any("公摊数据" in m and "GT" in m for m in result.missing)
    assert all(p.level == WARNING for p in result.problems)


def test_abnormal_usage_is_flagged():
    items = [item("SF", "水费", "用量", "4.10", late_fee=False, unit_label="元/吨")]
    past = [MeterReading(Period.quarter(2025, q), "1-1-101", "水", D(0), D(u)) for q, u in ((2, 10), (3, 12), (4, 11))]
    now = [MeterReading(Q1, "1-1-101", "水", D(100), D(140)),  # 40 > 3 × median 11 = 33 → warning
           MeterReading(Q1, "1-1-102", "水", D(100), D(90))]  # negative → error, not billed
    result = bill_period(ledger(units=_units(), items=items, readings=tuple(past + now)), Q1)
    assert [(c.room, c.amount) for c in result.charges] == [("1-1-101", D("164.00"))]  # 40 × 4.10
    levels = {(p.level, "3倍" in p.message, "为负" in p.message) for p in result.problems}
    assert levels == {(ERROR, False, True), (WARNING, True, False)} and len(result.problems) == 2


def test_job_bill_says_what_was_not_billed():
    from xlwings_addin.jobs.ledger import job_bill

    items = [item("WYF"), item("GT", "公摊电费", "公摊", None, late_fee=False)]
    changes = job_bill(ledger(units=_units(), items=items), Q1)
    assert any("公摊数据" in line for line in changes.summary)
    refused = job_bill(ledger(units=_units()), JAN)
    assert refused.errors and not refused.writes and "未计费" in refused.summary[0]


# ---------------------------------------------------------------- styles.xml written by openpyxl


def _openpyxl_workbook(path):
    from xlwings_addin.ledger import schema

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    ws = wb.create_sheet("参数")
    ws.append(["参数", "值"])
    ws = wb.create_sheet("收费项目")
    ws.append(list(schema.INPUT_SHEETS["收费项目"].required))
    ws.append(["WYF", "物业管理费", "面积", 2.5, "是"])
    ws = wb.create_sheet("房屋")
    ws.append(list(schema.INPUT_SHEETS["房屋"].required))
    ws.append(["1-1-101", "住宅", 100, "张三"])
    ws = wb.create_sheet("收款")
    ws.append(list(schema.INPUT_SHEETS["收款"].required))
    ws.append(["R1", "2026-02-01", "1-1-101", 300, "微信"])  # text date: no custom number format at all
    ws = wb.create_sheet("应收")  # required since issue 14: an empty 应收 is a sheet with its headers
    ws.append(list(schema.INPUT_SHEETS["应收"].required))
    wb.save(path)


def test_a_workbook_written_by_openpyxl_keeps_one_numfmts_after_bill_and_run(tmp_path):
    from xlwings_addin.jobs.ledger import apply_to_file, job_bill, job_run, load

    path = tmp_path / "openpyxl.xlsx"
    _openpyxl_workbook(path)
    with zipfile.ZipFile(path) as z:
        assert re.search(r"<numFmts count=\"0\"\s*/>", z.read("xl/styles.xml").decode())  # the case at hand
    book = load(path)
    apply_to_file(book, job_bill(book.ledger, Q1))
    book = load(path)
    apply_to_file(book, job_run(book.ledger, dt.date(2026, 3, 1)))
    with zipfile.ZipFile(path) as z:
        styles = z.read("xl/styles.xml").decode()
    assert len(re.findall(r"<numFmts\b", styles)) == 1
    wb = openpyxl.load_workbook(path)  # raised on 操作日志's formats before
    ws = wb["应收"]
    col = [c.value for c in ws[1]].index("应缴日期")
    assert ws.cell(2, col + 1).value == dt.datetime(2026, 1, 25)  # a date, not a bare number
    assert [c.value for c in wb["应收"][2]][[c.value for c in ws[1]].index("金额")] == 750  # 100 × 2.50 × 3


def test_feebook_bill_refuses_a_month_after_the_quarter(tmp_path, capsys):
    from xlwings_addin.faces.cli import main
    from xlwings_addin.jobs.ledger import load

    path = tmp_path / "quarterly.xlsx"
    _openpyxl_workbook(path)
    assert main(["bill", str(path), "--period", "2026年第1季度"]) == 0
    assert main(["bill", str(path), "--period", "2026-01"]) != 0
    out = capsys.readouterr().out
    assert "计费周期" in out and "未计费" in out
    # one line: 2026Q1 1-1-101 物业管理费 100 × 2.50 × 3 = 750.00; January was not billed again
    assert [(str(c.period), c.amount) for c in load(path).ledger.charges] == [("2026Q1", D("750.00"))]


def test_feebook_bill_refreshes_arrears_and_rates_as_of_the_day_of_entry(tmp_path, monkeypatch):
    from xlwings_addin.faces import cli
    from xlwings_addin.jobs.ledger import job_run, load
    from xlwings_addin.ledger import schema
    from xlwings_addin.workbook.reader import read_workbook

    path = tmp_path / "quarterly.xlsx"
    _openpyxl_workbook(path)
    monkeypatch.setattr(cli, "today", lambda: dt.date(2026, 3, 1))
    # 2026Q1 billed late, on 2026-03-01: 100 × 2.50 × 3 = 750.00 due 2026-01-25, R1 paid 300.00 on 2026-02-01
    # → 欠费明细 at once: 750.00 − 300.00 = 450.00 owed; 收缴率 2026Q1 全部: 应收 750.00, 实收 300.00
    assert cli.main(["bill", str(path), "--period", "2026Q1"]) == 0
    raw = read_workbook(path, sheets=[schema.ARREARS, schema.RATES])

    def rows(name):
        return [dict(zip(raw[name].headers, values)) for _n, values in raw[name].rows]

    (owed,) = [r for r in rows(schema.ARREARS) if r["房号"] == "1-1-101"]
    assert owed["欠费本金"] == 450
    (q1,) = [r for r in rows(schema.RATES) if r["期间"] == "2026Q1" and r["范围"] == "全部"]
    assert (q1["应收"], q1["实收"]) == (750, 300)
    # the same as a fresh run as of that day
    fresh = job_run(load(path).ledger, dt.date(2026, 3, 1)).replace[schema.ARREARS]
    (want,) = [r for r in fresh.rows if r and r[0] == "1-1-101"]
    assert D(str(owed["违约金"])) == want[fresh.headers.index("违约金")]
