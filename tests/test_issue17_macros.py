"""The two new macros (渠道对账, 数电票开票) run through a fake Excel book like the ribbon ones (issue 17).

Their ribbon buttons are btnReconcile and btnInvoice (macros.BUTTONS; customUI14.xml).
"""
from __future__ import annotations

import datetime as dt

from fake_xlwings import book_from_file
from test_invoice import make_book
from test_reconcile import book as reconcile_book  # noqa: F401 (fixture)
from test_reconcile import wechat_bill

from xlwings_addin.faces import macros
from xlwings_addin.ledger import schema
from xlwings_addin.workbook.live import read_book

AS_OF = dt.date(2026, 11, 22)


def rows_of(book, sheet):
    raw = read_book(book, sheets=[sheet]).get(sheet)
    return [] if raw is None else [dict(zip(raw.headers, v)) for _n, v in raw.rows]


def test_reconcile_macro_posts_when_asked(reconcile_book, tmp_path, monkeypatch):  # noqa: F811
    fake = book_from_file(reconcile_book)
    bill = tmp_path / "微信账单.csv"
    bill.write_bytes(wechat_bill())
    monkeypatch.setattr(macros, "ask_open_filename", lambda *_a, **_k: str(bill))
    monkeypatch.setattr(macros, "ask_text", lambda _b, prompt, default: "是" if "记入收款表" in prompt else default)
    result = macros.reconcile_statement(fake, as_of=AS_OF)
    assert result.ok, result.lines
    assert [r["类型"] for r in rows_of(fake, schema.RECONCILIATION)] == [
        "已对平", "金额不符", "渠道有台账无", "退款", "台账有渠道无"]
    posted = [p for p in rows_of(fake, schema.PAYMENTS) if p.get("经办人") == "对账"]
    assert [(p["收据号"], p["房号"], p["金额"], p["交易单号"]) for p in posted] == [
        ("SK2026000013", "1-2-101", 450.0, "4200000003")]
    # again: nothing more
    again = macros.reconcile_statement(fake, as_of=AS_OF)
    assert len(rows_of(fake, schema.RECONCILIATION)) == 5 and "此对账单已导入过，本次未写入任何内容" in again.lines
    assert len([p for p in rows_of(fake, schema.PAYMENTS) if p.get("经办人") == "对账"]) == 1


def test_invoice_macro_writes_the_import_file(tmp_path, monkeypatch):
    fake = book_from_file(make_book(tmp_path))
    answers = {"收款日期起": "2026-11-01", "收款日期止": "2026-11-30"}
    monkeypatch.setattr(macros, "ask_text", lambda _b, prompt, default: answers.get(prompt.split("（")[0], default))
    result = macros.invoice_export(fake, as_of=dt.date(2026, 12, 1))
    assert result.ok, result.lines
    assert [f.name for f in result.files] == ["数电票批量开票_20261101-20261130_KP2026000001.xlsx"]
    assert [(m["收据号"], m["状态"]) for m in rows_of(fake, schema.INVOICING)] == [
        ("SK2026000001", "待开"), ("SK2026000002", "待开")]
    # the second click exports nothing
    again = macros.invoice_export(fake, as_of=dt.date(2026, 12, 1))
    assert not again.files and len(rows_of(fake, schema.INVOICING)) == 2
