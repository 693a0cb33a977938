"""数电票 batch invoicing (issue 17): amounts and taxes add up per invoice, a second export skips, reversals red-flush."""
from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from decimal import Decimal

import openpyxl

from xlwings_addin.demo import template_path
from xlwings_addin.exchange.invoice import fit_note, note_units, split_tax
from xlwings_addin.faces.cli import main
from xlwings_addin.jobs.invoice import export_invoices
from xlwings_addin.jobs.ledger import load
from xlwings_addin.ledger import schema
from xlwings_addin.workbook.reader import read_workbook
from xlwings_addin.workbook.writer import save_changes

D = Decimal
WYF_CODE = "3040802010000000000"  # 19 digits
CWZ_CODE = "3040502020200000000"


def make_book(folder, cwz_code=CWZ_CODE, params=()):
    path = folder / "收费大表.xlsx"
    shutil.copyfile(template_path(), path)
    items = [
        {"项目编码": "WYF", "项目名称": "物业管理费", "计费方式": "面积", "单价": D("2.50"), "计违约金": "是",
         "税收分类编码": WYF_CODE, "税率": "6%"},
        {"项目编码": "CWZ", "项目名称": "车位租金", "计费方式": "固定", "单价": D("100.00"), "计违约金": "否",
         "税收分类编码": cwz_code, "税率": D("0.09")},
    ]
    units = [{"房号": "1-1-101", "房屋类型": "住宅", "建筑面积": D("100"), "业主姓名": "张三"},
             {"房号": "1-1-102", "房屋类型": "住宅", "建筑面积": D("80"), "业主姓名": "李四"}]
    due = dt.date(2026, 10, 25)
    charges = [
        {"账单号": "B1", "期间": "2026Q4", "房号": "1-1-101", "项目编码": "WYF", "金额": D("750.00"), "应缴日期": due},
        {"账单号": "B2", "期间": "2026Q4", "房号": "1-1-101", "项目编码": "CWZ", "金额": D("300.00"), "应缴日期": due},
        {"账单号": "B3", "期间": "2026Q4", "房号": "1-1-102", "项目编码": "WYF", "金额": D("600.00"), "应缴日期": due},
    ]
    payments = [
        {"收据号": "SK2026000001", "收款日期": dt.date(2026, 11, 5), "房号": "1-1-101", "金额": D("1050.00"),
         "渠道": "微信"},
        {"收据号": "SK2026000002", "收款日期": dt.date(2026, 11, 10), "房号": "1-1-102", "金额": D("700.00"),
         "渠道": "现金"},
        {"收据号": "SK2026000003", "收款日期": dt.date(2026, 11, 12), "房号": "1-1-101", "金额": D("100.00"),
         "渠道": "微信"},
        {"收据号": "SK2026000004", "收款日期": dt.date(2026, 11, 13), "房号": "1-1-101", "金额": D("-100.00"),
         "渠道": "微信", "冲销收据号": "SK2026000003"},
        {"收据号": "SK2026000005", "收款日期": dt.date(2026, 12, 2), "房号": "1-1-102", "金额": D("10.00"),
         "渠道": "现金"},
    ]
    sheets = {schema.ITEMS: items, schema.UNITS: units, schema.CHARGES: charges, schema.PAYMENTS: payments}
    if params:
        sheets[schema.PARAMS] = [{"参数": k, "值": v} for k, v in params]
    save_changes(path, append=sheets, backups=0)
    return path


def sheet_rows(path, name):
    wb = openpyxl.load_workbook(path)
    ws = wb[name]
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export(book, out, *extra):
    return main(["invoice", str(book), "--from", "2026-11-01", "--to", "2026-11-30", "--out", str(out), *extra])


def test_tax_split_and_note_units():
    # 750.00 at 6%: 750 / 1.06 = 707.547… → 707.55, tax 42.45; 2.88 at 6%: 2.716… → 2.72, tax 0.16
    assert split_tax(D("750.00"), D("0.06")) == (D("707.55"), D("42.45"))
    assert split_tax(D("2.88"), D("0.06")) == (D("2.72"), D("0.16"))
    assert split_tax(D("100.00"), D("0")) == (D("100.00"), D("0.00"))
    assert note_units("房号1-1-101") == 3 * 2 + 7
    cut = fit_note("房" * 70)  # 210 units: 65 characters (195) + “…” (3) = 198
    assert cut == "房" * 65 + "…" and note_units(cut) == 198
    assert fit_note("a" * 200) == "a" * 200


def test_export_adds_up_per_invoice_then_second_export_skips(tmp_path, capsys):
    book = make_book(tmp_path)
    out = tmp_path / "开票"
    assert export(book, out, "--as-of", "2026-12-01") == 0
    files = list(out.glob("*.xlsx"))
    assert [f.name for f in files] == ["数电票批量开票_20261101-20261130_KP2026000001.xlsx"]
    basic = sheet_rows(files[0], "发票基本信息")
    detail = sheet_rows(files[0], "发票明细信息")
    # SK2026000003 was reversed (not invoiced); SK2026000005 is in December
    assert [(b["发票流水号"], b["购方名称"], b["价税合计"]) for b in basic] == [
        ("KP2026000001", "张三", 1050), ("KP2026000002", "李四", 700)]
    assert basic[0]["备注"] == "房号1-1-101；收据SK2026000001；收款日期2026-11-05"
    lines = [(d["发票流水号"], d["项目名称"], d["税收分类编码"], d["金额"], d["税率"], d["税额"]) for d in detail]
    assert lines == [
        # SK2026000001 1,050.00 pays B2 车位租金 300.00 and B1 物业管理费 750.00 (same 应缴日期: by 项目编码,
        # CWZ before WYF; principal first, no fee paid):
        #   300 / 1.09 = 275.229… → 275.23, 税额 24.77;  750 / 1.06 = 707.547… → 707.55, 税额 42.45
        ("KP2026000001", "车位租金", CWZ_CODE, 275.23, 0.09, 24.77),
        ("KP2026000001", "物业管理费", WYF_CODE, 707.55, 0.06, 42.45),
        # SK2026000002 700.00 on 11-10: B3 600.00, then the late fee 600 × 0.0003 × 16 days = 2.88, then 97.12 预收:
        #   600 / 1.06 = 566.037… → 566.04 (33.96); 2.88 → 2.72 (0.16); 97.12 / 1.06 = 91.622… → 91.62 (5.50)
        ("KP2026000002", "物业管理费", WYF_CODE, 566.04, 0.06, 33.96),
        ("KP2026000002", "违约金", WYF_CODE, 2.72, 0.06, 0.16),
        ("KP2026000002", "预收物业管理费", WYF_CODE, 91.62, 0.06, 5.5),
    ]
    for b in basic:  # 价税合计 = Σ 金额 + Σ 税额, per invoice, to the cent
        mine = [d for d in detail if d["发票流水号"] == b["发票流水号"]]
        net = sum(D(str(d["金额"])) for d in mine)
        tax = sum(D(str(d["税额"])) for d in mine)
        assert (net, tax) == (D(str(b["合计金额"])), D(str(b["合计税额"])))
        assert net + tax == D(str(b["价税合计"]))
    # 982.78 + 67.22 = 1,050.00;  660.38 + 39.62 = 700.00
    assert [(b["合计金额"], b["合计税额"]) for b in basic] == [(982.78, 67.22), (660.38, 39.62)]

    marks = read_workbook(book, sheets=[schema.INVOICING])[schema.INVOICING]
    got = [dict(zip(marks.headers, v)) for _n, v in marks.rows]
    assert [(m["收据号"], m["发票流水号"], m["状态"], m["价税合计"], m["税额"]) for m in got] == [
        ("SK2026000001", "KP2026000001", "待开", 1050, 67.22), ("SK2026000002", "KP2026000002", "待开", 700, 39.62)]

    # the same range again: nothing exported, the workbook untouched
    capsys.readouterr()
    before = sha(book)
    assert export(book, out, "--as-of", "2026-12-02") == 0
    assert "已开票（跳过，不重复导出）：2 张收据" in capsys.readouterr().out
    assert sha(book) == before and len(list(out.glob("*.xlsx"))) == 1


def test_reversed_receipt_becomes_red_request_once(tmp_path, capsys):
    book = make_book(tmp_path)
    out = tmp_path / "开票"
    assert export(book, out, "--as-of", "2026-12-01") == 0
    assert main(["reverse", str(book), "--receipt", "SK2026000001", "--date", "2026-12-03", "--reason", "退款"]) == 0
    assert export(book, out, "--as-of", "2026-12-04") == 0
    red_file = out / "数电票批量开票_20261101-20261130_KP2026000003.xlsx"
    assert sheet_rows(red_file, "发票基本信息") == []
    reds = sheet_rows(red_file, "红冲申请")
    assert [(r["原发票流水号"], r["收据号"], r["冲销收据号"], r["红冲金额"], r["红冲税额"], r["红冲价税合计"])
            for r in reds] == [("KP2026000001", "SK2026000001", "SK2026000006", -982.78, -67.22, -1050)]
    ledger_marks = read_workbook(book, sheets=[schema.INVOICING])[schema.INVOICING]
    statuses = [(v[0], v[1], v[3]) for _n, v in ledger_marks.rows]
    assert statuses[-1] == ("SK2026000001", "KP2026000003", "已红冲")
    before = sha(book)
    assert export(book, out, "--as-of", "2026-12-05") == 0  # requested once
    assert sha(book) == before


def test_item_without_tax_code_is_a_problem_naming_the_cell(tmp_path):
    book = make_book(tmp_path, cwz_code="30405")
    ledger = load(book).ledger
    raw = read_workbook(book, sheets=[schema.ITEMS, schema.INVOICING])
    result, changes = export_invoices(ledger, dt.date(2026, 11, 1), dt.date(2026, 11, 30), dt.date(2026, 12, 1), raw)
    errors = [(p.sheet, p.cell, p.message) for p in changes.errors]
    # 收费项目 row 3 (CWZ), column H = 税收分类编码 (after 项目编码…适用房屋类型)
    assert errors[0] == ("收费项目", "H3", "项目“CWZ”的税收分类编码“30405”应为 19 位数字")
    assert errors[1][:2] == ("收费项目", "H3") and "收据 SK2026000001（1-1-101）含项目“CWZ”" in errors[1][2]
    # the other receipt still goes
    assert [i.receipts for i in result.invoices] == [("SK2026000002",)]


def test_per_unit_and_month(tmp_path):
    book = make_book(tmp_path, params=[("开票方式", "按房屋按月")])
    save_changes(book, append={schema.PAYMENTS: [
        {"收据号": "SK2026000007", "收款日期": dt.date(2026, 11, 20), "房号": "1-1-102", "金额": D("50.00"),
         "渠道": "现金"}]}, backups=0)
    ledger = load(book).ledger
    raw = read_workbook(book, sheets=[schema.ITEMS, schema.INVOICING])
    result, changes = export_invoices(ledger, dt.date(2026, 11, 1), dt.date(2026, 11, 30), dt.date(2026, 12, 1), raw)
    assert [(i.room, i.receipts, i.gross_total) for i in result.invoices] == [
        ("1-1-101", ("SK2026000001",), D("1050.00")),
        # 700.00 + 50.00 (all 预收: the bill was settled on 11-10) in one invoice; 预收 lines merged:
        # 97.12 + 50.00 = 147.12 → 147.12 / 1.06 = 138.792… → 138.79, 税额 8.33
        ("1-1-102", ("SK2026000002", "SK2026000007"), D("750.00")),
    ]
    prepaid = [x for x in result.invoices[1].lines if x.name == "预收物业管理费"]
    assert [(x.gross, x.net, x.tax) for x in prepaid] == [(D("147.12"), D("138.79"), D("8.33"))]
    marks = changes.append[schema.INVOICING]
    assert [(m["收据号"], m["发票流水号"]) for m in marks] == [
        ("SK2026000001", "KP2026000001"), ("SK2026000002", "KP2026000002"), ("SK2026000007", "KP2026000002")]
