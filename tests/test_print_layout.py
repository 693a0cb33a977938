"""Paper a finance office would file (issue 13): the demo's outputs printed through LibreOffice.

Each module-scoped fixture renders once (one soffice call each): the workbook (欠费明细, 收缴率,
佣金, 催收任务, 看板), the letters (收费通知单 ×3 + merged, 催缴函), a four-period receipt and
the 催收总结报告.  Page counts come from ``pdfinfo``; per sheet, from the footer every output
sheet prints ("第 x 页 / 共 n 页" and the sheet name, &A).
"""
from __future__ import annotations

import math
import re
import shutil
import subprocess
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import DEMO_AS_OF
from xlwings_addin.ledger import schema

pytestmark = pytest.mark.libreoffice

FOOTER = re.compile(r"第 \d+ 页 / 共 \d+ 页\s+(\S+)\s*$", re.M)
# a figure as printed: 1,152.61 / 78.62% / 14.27 / 2026Q4 / 302天 / 0755-12345678
NUMBER = re.compile(r"\d{4}-\d{2}-\d{2}|\d{4}Q\d|\d{1,3}(?:,\d{3})+(?:\.\d+)?%?|\d+\.\d+%?|\d+天|\d{3,4}-\d{7,8}")


def to_pdf(soffice: str, sources: list[Path], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    profile = Path("/tmp") / f"feebook-lo-{uuid.uuid4().hex}"
    try:
        subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
                        "--convert-to", "pdf", "--outdir", str(out_dir), *map(str, sources)],
                       capture_output=True, timeout=300)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    pdfs = [out_dir / (p.stem + ".pdf") for p in sources]
    missing = [p.name for p in pdfs if not p.exists()]
    assert not missing, missing
    return pdfs


def pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def page_size(pdf: Path) -> tuple[float, float]:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    m = re.search(r"^Page size:\s+([\d.]+) x ([\d.]+)", info, re.M)
    return float(m.group(1)), float(m.group(2))


def pdf_text(pdf: Path, layout: bool = False) -> str:
    args = ["pdftotext"] + (["-layout"] if layout else []) + [str(pdf), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def docx_text(path: Path) -> str:
    """Body paragraphs, table cells (a merged cell once), header and footer."""
    from docx import Document

    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            seen = []
            for cell in row.cells:
                if not any(cell._tc is s for s in seen):
                    seen.append(cell._tc)
                    parts.append(cell.text)
    for section in doc.sections:
        parts.extend(p.text for p in section.footer.paragraphs)
    return "\n".join(parts)


def broken_numbers(docx: Path, pdf: Path) -> list[str]:
    """Figures of the Word text printed fewer times whole on one line than they occur (wrapped mid-figure).

    Counted, not just found: "6,873.60" in a table total that wraps as "6,873.6 / 0" is caught even when
    the same figure prints whole in a sentence.  Spaces are ignored (pdftotext puts one between 302 and 天);
    line breaks are not.  A footer figure prints once per page, so it counts at least once.
    """
    printed = pdf_text(pdf).replace(" ", "")
    written = docx_text(docx).replace(" ", "")

    def count(n: str, text: str) -> int:  # whole figures only: 3.1 is not counted inside 3.1.1
        return len(re.findall(rf"(?<![\d,.]){re.escape(n)}(?![\d,.])", text))

    return sorted(n for n in set(NUMBER.findall(written)) if count(n, printed) < count(n, written))


@pytest.fixture(scope="module")
def tools():
    if not (shutil.which("pdfinfo") and shutil.which("pdftotext")):
        pytest.skip("poppler-utils (pdfinfo/pdftotext) 未安装")


# ----------------------------------------------------------------------------- the workbook


@pytest.fixture(scope="module")
def printed_workbook(soffice, tools, demo_workbook, tmp_path_factory):
    """The demo with 佣金, 催收任务 and 看板 written, printed to one PDF: (xlsx, pages per sheet)."""
    from xlwings_addin.faces.commands.reports import job_commission, rates_with_trend, trend_sheet
    from xlwings_addin.engine.allocation import allocate
    from xlwings_addin.engine.kpi import kpis
    from xlwings_addin.jobs.dashboard import save_with_dashboard
    from xlwings_addin.jobs.dunning import dunning_changes
    from xlwings_addin.jobs.ledger import apply_to_file, load
    from xlwings_addin.ledger.periods import Period

    folder = tmp_path_factory.mktemp("print")
    path = folder / demo_workbook.name
    shutil.copyfile(demo_workbook, path)
    book = load(path)
    apply_to_file(book, job_commission(book.ledger, Period.quarter(2026, 4), DEMO_AS_OF))
    book = load(path)
    apply_to_file(book, dunning_changes(book.ledger, DEMO_AS_OF)[0])
    book = load(path)
    allocation = allocate(book.ledger, DEMO_AS_OF)
    save_with_dashboard(path, kpis(book.ledger, allocation),
                        replace={schema.RATES: rates_with_trend(book.ledger, allocation, DEMO_AS_OF),
                                 "收缴率趋势": trend_sheet(book.ledger, allocation, DEMO_AS_OF)},
                        expect_digest=load(path).digest)
    pdf = to_pdf(soffice, [path], folder / "pdf")[0]
    per_sheet: dict[str, int] = {}
    for page in pdf_text(pdf, layout=True).split("\f"):
        m = FOOTER.search(page)
        if m:
            per_sheet[m.group(1)] = per_sheet.get(m.group(1), 0) + 1
    return path, per_sheet


def data_rows(path: Path, sheet: str) -> int:
    import openpyxl

    ws = openpyxl.load_workbook(path, read_only=True)[sheet]
    return sum(1 for row in ws.iter_rows(min_row=2, values_only=True) if any(v not in (None, "") for v in row))


@pytest.mark.parametrize("sheet", [schema.ARREARS, schema.RATES, schema.COMMISSION, schema.TASKS])
def test_output_sheet_prints_within_rows_over_20_plus_one_pages(printed_workbook, sheet):
    path, per_sheet = printed_workbook
    rows = data_rows(path, sheet)
    assert rows > 5
    # e.g. 欠费明细: 120 owing units + 合计 rows + the footnote ≈ 125 rows → at most ⌈125/20⌉+1 = 8 pages
    assert 1 <= per_sheet.get(sheet, 0) <= math.ceil(rows / 20) + 1, (sheet, rows, per_sheet)


def test_every_output_page_has_footer_and_header_row(printed_workbook):
    """Each printed page of an output sheet carries the footer (so the header row / print setup is on)."""
    path, per_sheet = printed_workbook
    for sheet in (schema.ARREARS, schema.RATES, schema.COMMISSION, schema.TASKS, schema.PROBLEMS, "看板"):
        assert per_sheet.get(sheet), (sheet, per_sheet)
    import zipfile

    with zipfile.ZipFile(path) as z:
        wb = z.read("xl/workbook.xml").decode("utf-8")
    assert wb.count("_xlnm.Print_Titles") >= 6
    # 看板: the KPI page plus the charts, two to a page — never a chart cut in half across pages
    assert per_sheet["看板"] <= 3


def test_footnote_never_widens_a_data_column(printed_workbook):
    import openpyxl

    path, _ = printed_workbook
    wb = openpyxl.load_workbook(path)
    for sheet in (schema.ARREARS, schema.RATES, schema.COMMISSION, schema.TASKS):
        ws = wb[sheet]
        assert ws.column_dimensions["A"].width < 20, sheet  # 房号 / 期间 / 服务助理, not a 60-wide note
        assert ws.print_title_rows in ("1:1", "$1:$1") and ws.freeze_panes == "A2" and ws.auto_filter.ref
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
        assert ws.merged_cells.ranges, sheet  # the note sits in one merged cell across the columns


# ----------------------------------------------------------------------------- letters and receipt


@pytest.fixture(scope="module")
def printed_letters(soffice, tools, demo_workbook, tmp_path_factory):
    from xlwings_addin.documents import letters as L
    from xlwings_addin.documents.contexts import DEMAND, NOTICE, plan_letters
    from xlwings_addin.engine.aging import arrears_list
    from xlwings_addin.engine.allocation import allocate
    from xlwings_addin.jobs.ledger import load

    ledger = load(demo_workbook).ledger
    allocation = allocate(ledger, DEMO_AS_OF)
    owing = arrears_list(ledger.units, allocation)
    # the unit with the most owed periods that is not on hold (a held unit's notice lists no arrears — issue 20),
    # plus two ordinary ones
    ranked = sorted(owing, key=lambda a: (a.period_count, a.principal), reverse=True)
    worst = next(a.unit.room for a in ranked
                 if plan_letters(ledger, NOTICE, DEMO_AS_OF, rooms=[a.unit.room], allocation=allocation).letters[0][1]
                 ["arrears_lines"])
    rooms = [worst, "1-1-101", "1-1-102"]
    folder = tmp_path_factory.mktemp("letters")
    notices = plan_letters(ledger, NOTICE, DEMO_AS_OF, rooms=rooms, allocation=allocation)
    notice_result = L.render_letters(NOTICE, notices.letters, "2026Q4", folder / "notice")
    demand = plan_letters(ledger, DEMAND, DEMO_AS_OF, rooms=[worst], allocation=allocation, force=True)
    demand_result = L.render_letters(DEMAND, demand.letters, "2026Q4", folder / "demand", merge=False)
    sources = [p for _, p in notice_result.files] + [notice_result.merged] + [p for _, p in demand_result.files]
    pdfs = to_pdf(soffice, sources, folder / "pdf")
    return dict(zip(sources, pdfs)), notices, notice_result, demand_result


def test_each_fee_notice_is_one_page_and_merged_file_one_page_per_letter(printed_letters):
    pdfs, notices, result, _ = printed_letters
    assert len(result.files) == 3
    for _room, docx in result.files:
        assert pages(pdfs[docx]) == 1, docx.name
    assert pages(pdfs[result.merged]) == len(result.files)


def test_fee_notice_figures_are_whole_and_late_fees_add_up(printed_letters):
    pdfs, notices, result, _ = printed_letters
    for (room, ctx), (_r, docx) in zip(notices.letters, result.files):
        assert broken_numbers(docx, pdfs[docx]) == [], room
        # the listed late fees add up to the 违约金 line; no 往期欠费 row with 0.00 principal
        listed = sum((Decimal(x["late_fee"].replace(",", "")) for x in ctx["fee_lines"]), Decimal(0))
        assert listed == Decimal(ctx["late_fee_total"].replace(",", "")), room
        assert all(x["principal"] != "0.00" for x in ctx["arrears_lines"]), room
        # issued 2026-11-22, after the 2026-10-25 due date: N days from receipt, not a date in the past
        assert "收到本通知之日起7日内" in ctx["pay_by_text"]
        text = pdf_text(pdfs[docx])
        assert "2026年10月25日前" not in text.replace(" ", "")


def test_demand_letter_numbers_never_wrap(printed_letters):
    pdfs, _, _, demand = printed_letters
    (_room, docx), = demand.files
    assert broken_numbers(docx, pdfs[docx]) == []
    text = pdf_text(pdfs[docx])
    # 送达回执 on one page: its title and its last row are on the same page
    page = next(p for p in text.split("\f") if re.search(r"送\s*达\s*回\s*执", p))
    assert re.search(r"送\s*达\s*人", page) and re.search(r"签\s*收\s*日\s*期", page)
    # the file name says the periods covered (first–last owed period)
    assert re.search(r"_催缴函_\d{4}Q\d(-\d{4}Q\d)?\.docx$", docx.name)


def test_four_period_receipt_fits_one_a5_sheet(soffice, tools, demo_workbook, tmp_path):
    from xlwings_addin.documents.receipt import render_receipt
    from xlwings_addin.engine.allocation import allocate
    from xlwings_addin.jobs.ledger import load
    from xlwings_addin.jobs.receipts import receive

    ledger = load(demo_workbook).ledger
    allocation = allocate(ledger, DEMO_AS_OF)
    room, acc = next((room, acc) for room, acc in sorted(allocation.accounts.items())
                     if len({c.charge.period for c in acc.charges if c.open > 0}) >= 4
                     and sum(1 for c in acc.charges if c.open > 0) > 6)
    oldest4 = sorted({c.charge.period for c in acc.charges if c.open > 0})[:4]
    amount = sum((c.open for c in acc.charges if c.open > 0 and c.charge.period in oldest4), Decimal(0))
    changes, ctx = receive(ledger, room, amount, "现金", DEMO_AS_OF, operator="小王")
    assert ctx is not None and {x["period"] for x in ctx["lines"]} == {str(p) for p in oldest4}
    docx = render_receipt(ctx, tmp_path)
    pdf = to_pdf(soffice, [docx], tmp_path / "pdf")[0]
    assert pages(pdf) == 1
    w, h = page_size(pdf)
    assert abs(w - 595.3) < 2 and abs(h - 419.5) < 2  # A5 landscape, 210 × 148 mm
    assert broken_numbers(docx, pdf) == []


# ----------------------------------------------------------------------------- the report


def test_report_numbers_never_wrap_and_say_nothing_empty(soffice, tools, demo_workbook, tmp_path):
    from xlwings_addin.documents.report import render_report
    from xlwings_addin.jobs.ledger import load
    from xlwings_addin.ledger.periods import Period

    result = render_report(load(demo_workbook).ledger, Period.quarter(2026, 4), DEMO_AS_OF, tmp_path, pdf=True)
    assert result.pdf is not None, result.pdf_problem
    assert broken_numbers(result.docx, result.pdf) == []
    text = pdf_text(result.pdf)
    assert "0.00 万元" not in text and "无可比数据" not in text
