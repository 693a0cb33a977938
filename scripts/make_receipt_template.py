"""Generate ``letters/收据.docx``, the front-desk receipt (收款收据) used by ``feebook receive``.

    python scripts/make_receipt_template.py [--out letters]

An ordinary Word file staff may edit: docxtpl (Jinja) tags in plain runs, one
tag per run, the paid lines as a ``{%tr for … %}`` table row.  A5 landscape,
宋体 with East-Asian and Latin font names set (LibreOffice falls back to Noto
CJK).  Every variable here is produced by
:func:`xlwings_addin.jobs.receipts.receipt_context` (tests/test_receipts.py checks
that with ``get_undeclared_template_variables``).  Re-running gives the same
file (fixed core properties).
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_letter_templates import set_font  # noqa: E402  (one definition of the CJK font setting)

SONG = "宋体"
FIXED_TIME = dt.datetime(2026, 1, 1, 0, 0, 0)




def para(doc_or_cell, parts, align=None, size=11, bold=False):
    """A paragraph of runs; ``parts`` is a list of text segments, each its own run (a tag stays whole)."""
    p = doc_or_cell.add_paragraph()
    if align is not None:
        p.alignment = align
    for text in parts:
        run = p.add_run(text)
        set_font(run, SONG, size, bold)
    return p


def cell_text(cell, parts, size=10.5, bold=False, align=None):
    cell.paragraphs[0].text = ""
    p = cell.paragraphs[0]
    if align is not None:
        p.alignment = align
    for text in parts:
        set_font(p.add_run(text), SONG, size, bold)


def fixed_widths(table, widths) -> None:
    """Fixed column widths (w:gridCol + each cell), so LibreOffice and Word lay the table out alike."""
    table.autofit = False
    for column, width in zip(table.columns, widths):
        column.width = Cm(width)
        for cell in column.cells:
            cell.width = Cm(width)
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    table._tbl.tblPr.append(layout)


def build() -> Document:
    doc = Document()
    props = doc.core_properties
    props.author = props.last_modified_by = "feebook"
    props.created = props.modified = FIXED_TIME
    props.revision = 1
    props.title = "收款收据"
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(21.0), Cm(14.8)
    section.top_margin = section.bottom_margin = Cm(0.9)
    section.left_margin = section.right_margin = Cm(1.4)
    section.header_distance = section.footer_distance = Cm(0.5)
    set_font(doc.styles["Normal"], SONG, 10)
    doc.styles["Normal"].paragraph_format.space_after = Pt(1)
    doc.styles["Normal"].paragraph_format.space_before = Pt(0)
    doc.styles["Normal"].paragraph_format.line_spacing = 1.0

    para(doc, ["{{ company }}"], WD_ALIGN_PARAGRAPH.CENTER, 13, True)
    para(doc, ["收 款 收 据"], WD_ALIGN_PARAGRAPH.CENTER, 15, True)
    para(doc, ["收据号：", "{{ receipt_no }}", "        收款日期：", "{{ date }}"], WD_ALIGN_PARAGRAPH.RIGHT, 10)

    head = doc.add_table(rows=3, cols=4)
    fixed_widths(head, [3.2, 5.4, 3.2, 6.4])
    head.style = "Table Grid"
    head.alignment = WD_TABLE_ALIGNMENT.CENTER
    cells = [
        (["房号"], ["{{ room }}"], ["交款人"], ["{{ owner }}"]),
        (["收款方式"], ["{{ channel }}"], ["指定期间"], ["{{ period }}"]),
        (["金额（小写）"], ["¥", "{{ amount }}"], ["金额（大写）"], ["{{ amount_daxie }}"]),
    ]
    for r, row in enumerate(cells):
        for c, parts in enumerate(row):
            cell_text(head.cell(r, c), parts, bold=c % 2 == 0)

    para(doc, ["本次冲抵明细"], None, 10.5, True)
    table = doc.add_table(rows=4, cols=5)
    fixed_widths(table, [1.9, 5.4, 4.5, 3.2, 3.2])  # 账单号 wide enough for 2026Q1-3-2-502-GTDF on one line
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for c, title in enumerate(("期间", "收费项目", "账单号", "本次冲抵（元）", "该项余欠（元）")):
        cell_text(table.cell(0, c), [title], bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    cell_text(table.cell(1, 0), ["{%tr for line in lines %}"])
    for c, tag in enumerate(("{{ line.period }}", "{{ line.item }}", "{{ line.bill_no }}", "{{ line.amount }}",
                             "{{ line.open_after }}")):
        cell_text(table.cell(2, c), [tag], size=9.5, align=WD_ALIGN_PARAGRAPH.RIGHT if c >= 3 else None)
    cell_text(table.cell(3, 0), ["{%tr endfor %}"])
    for row in table.rows:
        trpr = row._tr.get_or_add_trPr()
        trpr.append(OxmlElement("w:cantSplit"))

    para(doc, ["冲抵违约金：", "{{ fee_paid }}", " 元；转入预存：", "{{ to_prepaid }}", " 元；收款后尚欠（含违约金）：",
               "{{ owing_after }}", " 元；预存余额：", "{{ prepaid_after }}", " 元。"], None, 10)
    para(doc, ["备注：", "{{ note }}"], None, 10)
    para(doc, ["收款单位：", "{{ center }}", "（盖章）      经办人：", "{{ operator }}", "      交款人签字：________"],
         None, 10.5)
    para(doc, ["本收据为物业服务费收款凭证，如需发票请凭本收据到服务中心前台换开。客服电话：", "{{ hotline }}"], None, 9)
    return doc


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "letters"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "收据.docx"
    build().save(str(path))
    print(f"已生成：{path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
