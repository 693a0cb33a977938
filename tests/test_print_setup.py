"""Print setup of output sheets, 催收日报 on a non-working day, 收缴率 without repeated rows, 看板 KPIs
as numbers (issue 13; the LibreOffice renders are in test_print_layout.py)."""
from __future__ import annotations

import datetime as dt
import re
import shutil
import zipfile
from decimal import Decimal

from ledger_builders import Q4, charge, ledger, pay, unit
from xlwings_addin.jobs.dunning import job_daily_report
from xlwings_addin.workbook.sheet_xml import Note, SheetOutput, column_widths, sheet_xml
from xlwings_addin.workbook.styles import _Styles
from xlwings_addin.workbook.writer import save_changes, write_new_workbook

NOTE = "说明：" + "这是一条很长的脚注，解释各列的口径，" * 6


def sample_sheet() -> SheetOutput:
    rows = [["1-1-101", Decimal("1234.50"), dt.date(2026, 10, 25)], ["1-1-102", Decimal("0.00"), dt.date(2026, 10, 25)],
            [], [Note(NOTE)]]
    return SheetOutput("欠费明细", ["房号", "欠费本金", "最早应缴日期"], rows,
                       {"欠费本金": "money", "最早应缴日期": "date"}, as_of=dt.date(2026, 11, 22))


def test_footnote_is_merged_and_never_widens_column_a():
    out = sample_sheet()
    widths = column_widths(out)
    # 房号 "1-1-101" is 7 wide; the note (≈ 110 wide) does not count
    assert widths[0] == 10  # ⌈7 × 1.1⌉ + 2
    xml, _ = sheet_xml(out, _Styles(None))
    assert '<mergeCell ref="A5:C5"/>' in xml
    assert '<autoFilter ref="A1:C3"/>' in xml  # header + two data rows, not the note
    assert 'orientation="landscape"' in xml and 'fitToWidth="1"' in xml and 'fitToHeight="0"' in xml
    assert 'paperSize="9"' in xml and '<pageSetUpPr fitToPage="1"/>' in xml
    assert "截至 2026-11-22" in xml and "第 &amp;P 页 / 共 &amp;N 页" in xml
    assert 'state="frozen"' in xml


def test_print_titles_defined_for_each_written_sheet(tmp_path):
    from xlwings_addin.demo import template_path

    path = tmp_path / "book.xlsx"
    shutil.copyfile(template_path(), path)
    save_changes(path, replace={"欠费明细": sample_sheet()}, backups=0)
    save_changes(path, replace={"欠费明细": sample_sheet()}, backups=0)  # again: replaced, never duplicated
    with zipfile.ZipFile(path) as z:
        wb = z.read("xl/workbook.xml").decode("utf-8")
    names = re.findall(r'<definedName name="_xlnm.Print_Titles" localSheetId="(\d+)">([^<]*)</definedName>', wb)
    titles = [ref for _i, ref in names if "欠费明细" in ref]
    assert titles == ["'欠费明细'!$1:$1"]
    # a later save with other rows leaves workbook.xml and styles.xml byte for byte (the parse cache's
    # keys include them: a change would make every sheet be parsed again)
    with zipfile.ZipFile(path) as z:
        before = (z.read("xl/workbook.xml"), z.read("xl/styles.xml"))
    more = sample_sheet()
    more.rows.insert(0, ["1-1-103", Decimal("99.00"), dt.date(2026, 10, 25)])
    save_changes(path, replace={"欠费明细": more}, backups=0)
    with zipfile.ZipFile(path) as z:
        assert (z.read("xl/workbook.xml"), z.read("xl/styles.xml")) == before
    import openpyxl

    ws = openpyxl.load_workbook(path)["欠费明细"]
    assert ws.print_title_rows in ("1:1", "$1:$1") and ws.auto_filter.ref == "A1:C4"
    assert ws["B2"].number_format == "#,##0.00" and ws["C2"].number_format == "yyyy-mm-dd"


def test_exported_workbook_is_print_ready(tmp_path):
    import openpyxl

    path = tmp_path / "export.xlsx"
    write_new_workbook(path, [sample_sheet()])
    ws = openpyxl.load_workbook(path)["欠费明细"]
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    assert ws.print_title_rows in ("1:1", "$1:$1") and ws.freeze_panes == "A2"
    assert ws.column_dimensions["A"].width == 10 and "A5:C5" in {str(r) for r in ws.merged_cells.ranges}
    assert "截至 2026-11-22" in ws.oddFooter.left.text and "&P" in ws.oddFooter.center.text


def test_footer_fits_in_the_bottom_margin_of_exports_and_template_sheets(tmp_path):
    """The footer sits 0.3 in from the edge inside a 0.6 in bottom margin (as sheet_xml writes it).

    openpyxl's default footer distance 0.5 in a 0.6 in margin leaves a 0.1 in band: LibreOffice printed
    操作日志's and the exported 催收日报's "第 x 页 / 共 n 页" cut in half (QA on the demo)."""
    import openpyxl
    from xlwings_addin.demo import template_path

    path = tmp_path / "export.xlsx"
    write_new_workbook(path, [sample_sheet()])
    sheets = [openpyxl.load_workbook(path)["欠费明细"]]
    template = openpyxl.load_workbook(template_path())
    sheets += [template[name] for name in ("操作日志", "催收日报", "问题", "欠费明细")]
    for ws in sheets:
        m = ws.page_margins
        assert (m.bottom, m.footer, m.top, m.header) == (0.6, 0.3, 0.5, 0.3), ws.title


def test_template_audit_time_column_shows_date_and_time():
    import openpyxl
    from xlwings_addin.demo import template_path

    ws = openpyxl.load_workbook(template_path())["操作日志"]
    # "2026-11-22 09:30:00" is 19 characters: a 10-wide column printed ###
    assert ws.column_dimensions["A"].width >= 20


def test_daily_report_on_a_sunday_reports_friday_and_says_so():
    # 2026-11-22 is a Sunday (no 调休); the last working day is Friday 2026-11-20.
    led = ledger(units=[unit("1-1-101")], charges=[charge("1-1-101", Q4, "750.00")],
                 payments=[pay("R1", "1-1-101", "2026-11-20", "300.00"), pay("R2", "1-1-101", "2026-11-22", "50.00")])
    changes = job_daily_report(led, dt.date(2026, 11, 22))
    sheet = changes.replace["催收日报"]
    data = [r for r in sheet.rows if r and not isinstance(r[0], Note)]
    assert {r[0] for r in data} == {dt.date(2026, 11, 20)}
    head = {r[1]: r[2] for r in data}
    assert head["今日收款合计"] == Decimal("300.00")  # R1 only (R2 is on the Sunday itself)
    note = sheet.rows[-1][0]
    assert isinstance(note, Note) and "2026-11-22" in note and "不是工作日" in note and "2026-11-20" in note
    assert any("不是工作日" in line for line in changes.summary)
    # a working day reports itself, with no note
    monday = job_daily_report(led, dt.date(2026, 11, 23)).replace["催收日报"]
    assert all(not isinstance(r[0], Note) for r in monday.rows if r) and monday.rows[0][0] == dt.date(2026, 11, 23)


def test_rates_sheet_never_repeats_a_row_and_trend_has_its_own_sheet(demo_workbook):
    from conftest import DEMO_AS_OF
    from xlwings_addin.engine.allocation import allocate
    from xlwings_addin.faces.commands.reports import rates_with_trend, trend_sheet
    from xlwings_addin.jobs.ledger import load

    led = load(demo_workbook).ledger
    allocation = allocate(led, DEMO_AS_OF)
    rates = rates_with_trend(led, allocation, DEMO_AS_OF)
    keys = [(r[0], r[1]) for r in rates.rows if len(r) > 1 and r[1]]
    assert len(keys) == len(set(keys)) and ("2026Q4", "全部") in keys  # a SUMIFS over 期间/范围 counts it once
    assert rates.headers == trend_sheet(led, allocation, DEMO_AS_OF).headers  # 收缴率 headers unchanged
    trend = trend_sheet(led, allocation, DEMO_AS_OF)
    assert trend.name == "收缴率趋势" and ("2026Q4", "全部") in [(r[0], r[1]) for r in trend.rows if len(r) > 1]


def test_dashboard_kpis_are_numbers_top_left(demo_workbook):
    from conftest import DEMO_AS_OF
    from xlwings_addin.engine.allocation import allocate
    from xlwings_addin.engine.kpi import kpis
    from xlwings_addin.jobs.dashboard import dashboard_data
    from xlwings_addin.jobs.ledger import load

    led = load(demo_workbook).ledger
    k = kpis(led, allocate(led, DEMO_AS_OF))
    out, sizes = dashboard_data(k)
    assert out.headers[:2] == ["指标", "数值"]
    kpi = {r[0]: (i, r[1]) for i, r in enumerate(out.rows) if r and isinstance(r[0], str) and r[0]
           and not isinstance(r[0], Note)}
    i, rate = kpi["当期收缴率"]
    assert isinstance(rate, Decimal) and out.cell_formats[(i, 1)] == "rate"
    assert rate == k.center.current_rate
    i, units = kpi["欠费户数(户，欠费本金>0)"]
    assert isinstance(units, int) and out.cell_formats[(i, 1)] == "int"
    i, date = kpi["截至日期"]
    assert date == DEMO_AS_OF and out.cell_formats[(i, 1)] == "date"
    # each chart row starts a printed page: breaks before the first and the second pair of charts
    assert out.row_breaks == [sizes["anchor"] - 1, sizes["anchor"] - 1 + 17]


def test_parking_space_is_called_a_parking_space_and_square_metres_stay():
    from xlwings_addin.documents.contexts import _unit_label, periods_covered, premises_text
    from ledger_builders import Q3, item

    assert premises_text(unit("P-037", "12.50", "车库", house_type="车位")) == "P-037 车位"
    assert premises_text(unit("3-2-1501", "89.50", "3")) == "3-2-1501 房屋（建筑面积 89.50㎡）"
    assert premises_text(unit("S-011", "120.00", "商业街", house_type="商铺")) == "S-011 商铺（建筑面积 120.00㎡）"
    from xlwings_addin.documents.contexts import DEMAND, plan_letters

    led = ledger(units=[unit("P-037", "12.50", "车库", house_type="车位", owner="吕洋敏")],
                 charges=[charge("P-037", Q3, "240.00")])
    (_room, ctx), = plan_letters(led, DEMAND, dt.date(2026, 11, 22), rooms=["P-037"]).letters
    assert ctx["premises_short"] == "P-037 车位" and "房屋" not in ctx["premises"]
    # a label read back NFKC-normalised (㎡ → m2) prints as ㎡ again
    assert _unit_label(item(unit_label="元/m2·月")) == "元/㎡·月"
    assert periods_covered([Q4, Q3, Q4]) == "2026Q3-2026Q4" and periods_covered([Q4]) == "2026Q4"


def test_live_sheet_gets_widths_and_page_setup():
    """Written into a workbook open in Excel (xlwings): widths from content and Excel's PageSetup."""
    from fake_xlwings import book_from_rows
    from xlwings_addin.workbook.live import write_sheet

    class PageSetup:
        pass

    book = book_from_rows({"欠费明细": [["房号"]]})
    sheet = book.sheet("欠费明细")
    sheet.api = type("Api", (), {"PageSetup": PageSetup()})()
    widths = {}
    real_range = sheet.range

    def spy(first, last=None):
        rng = real_range(first, last)
        original = type(rng)

        class Spy(original):
            @property
            def column_width(self):
                return widths.get(first[1])

            @column_width.setter
            def column_width(self, value):
                widths[first[1]] = value
        rng.__class__ = Spy
        return rng

    sheet.range = spy
    write_sheet(book, sample_sheet())
    assert widths[1] == 10  # 房号 "1-1-101": ⌈7 × 1.1⌉ + 2, the note not counted
    setup = sheet.api.PageSetup
    assert (setup.PaperSize, setup.Orientation, setup.FitToPagesWide, setup.FitToPagesTall) == (9, 2, 1, False)
    assert setup.PrintTitleRows == "$1:$1" and setup.LeftFooter == "截至 2026-11-22"
    assert setup.CenterFooter == "第 &P 页 / 共 &N 页"
