"""Front-desk receipts and reversals: numbers never reused, what a payment paid, refusals, the docx."""
from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
from docx import Document
from docxtpl import DocxTemplate
from ledger_builders import Q3, Q4, charge, day, ledger, pay, unit
from test_bank import make_workbook

from xlwings_addin.ledger import schema
from xlwings_addin.faces.cli import main
from xlwings_addin.jobs.ledger import load
from xlwings_addin.jobs.receipts import (
    next_receipt_no,
    payment_effect,
    receipt_context,
    receive,
    reverse,
)
from xlwings_addin.documents.receipt import render_receipt, template_path
from xlwings_addin.ledger.records import Payment
from xlwings_addin.workbook.writer import save_changes

D = Decimal
NOV22 = dt.date(2026, 11, 22)


def two_quarters(*payments):
    # Q3 1,200.00 due 2026-07-25 and Q4 1,200.00 due 2026-10-25, daily rate 0.0003
    return ledger(units=[unit("1-1-101", owner="张三")],
                  charges=[charge("1-1-101", Q3, "1200.00"), charge("1-1-101", Q4, "1200.00")], payments=payments)


def test_next_receipt_number():
    existing = ["SK2026000123", "SK2026000007", "SK2025000999", "TS2026Q4-01-0001", "手工001"]
    assert next_receipt_no(existing, "SK2026") == "SK2026000124"
    assert next_receipt_no(existing, "SK2027") == "SK2027000001"
    assert next_receipt_no(["SK20269"], "SK2026") == "SK202610"  # width grows, never wraps


def test_effect_oldest_first_principal_before_fee():
    book = two_quarters()
    changes, ctx = receive(book, "1-1-101", "1500", "现金", NOV22, operator="小张")
    assert changes.append[schema.PAYMENTS] == [{
        "收据号": "SK2026000001", "收款日期": NOV22, "房号": "1-1-101", "金额": D("1500.00"), "渠道": "现金",
        "指定期间": None, "经办人": "小张", "备注": None}]
    # Q3 paid in full (1,200.00), Q4 300.00, 900.00 left; principal first so no late fee paid.
    assert [(x["period"], x["amount"], x["open_after"]) for x in ctx["lines"]] == [
        ("2026Q3", "1,200.00", "0.00"), ("2026Q4", "300.00", "900.00")]
    assert ctx["fee_paid"] == "0.00" and ctx["to_prepaid"] == "0.00"
    # fee on 11-22: Q3 1200 × 0.0003 × 120 days (07-25 → 11-22) = 43.20;
    # Q4 (300 + 900) × 0.0003 × 28 days (10-25 → 11-22) = 10.08; owing 900.00 + 43.20 + 10.08 = 953.28
    assert ctx["owing_after"] == "953.28"
    assert ctx["amount_daxie"] == "壹仟伍佰元整"
    assert "  收款前应缴 2,453.28 元，收款后尚欠 953.28 元（含违约金），预存余额 0.00 元" in changes.summary


def test_effect_overpayment_pays_fee_then_prepaid():
    # 2,500.00: principal 2,400.00, then the late fee 43.20 + 10.08 = 53.28, then 46.72 to 预存
    effect = payment_effect(two_quarters(), Payment("R9", NOV22, "1-1-101", D("2500.00"), "微信"))
    assert (effect.fee_paid, effect.to_prepaid, effect.owing_after, effect.prepaid_after) == (
        D("53.28"), D("46.72"), D("0"), D("46.72"))


def test_designated_period_goes_first():
    changes, ctx = receive(two_quarters(), "1-1-101", "1500", "POS", NOV22, period=Q4)
    # Q4 first in full (1,200.00), the remaining 300.00 to Q3 (lines are listed oldest bill first)
    assert {x["period"]: x["amount"] for x in ctx["lines"]} == {"2026Q4": "1,200.00", "2026Q3": "300.00"}
    assert changes.append[schema.PAYMENTS][0]["指定期间"] == "2026Q4"


@pytest.mark.parametrize("amount, message", [
    ("100.005", "收款金额“100.005”超过两位小数（分）"),
    ("0", "收款金额应为正数，实为 0.00（更正已收款项请用 feebook reverse 冲销原收据）"),
    ("-50", "收款金额应为正数，实为 -50.00（更正已收款项请用 feebook reverse 冲销原收据）"),
    ("一百", "收款金额应为数字，实为“一百”"),
])
def test_bad_amounts_refused(amount, message):
    changes, ctx = receive(two_quarters(), "1-1-101", amount, "现金", NOV22)
    assert ctx is None and not changes.writes
    assert [p.message for p in changes.errors] == [message]


def test_other_refusals():
    book = two_quarters(pay("SK2026000005", "1-1-101", "2026-11-01", "100"))
    changes, ctx = receive(book, "9-9-909", "100", "现金", NOV22)
    assert ctx is None and changes.errors[0].message == "房号“9-9-909”不在“房屋”表中"
    changes, ctx = receive(book, "1-1-101", "100", "托收", NOV22)
    assert ctx is None and "前台收款渠道" in changes.errors[0].message
    changes, ctx = receive(book, "1-1-101", "100", "现金", NOV22, receipt_no="SK2026000005")
    assert ctx is None and changes.errors[0].message == "收据号“SK2026000005”已存在于“收款”表，不能重复使用"
    # a spaced, full-width room is the same room
    changes, ctx = receive(book, " 1-1-１０１ ", "100", "现金", NOV22)
    assert ctx is not None and changes.append[schema.PAYMENTS][0]["收据号"] == "SK2026000006"


def test_reverse_rules():
    book = two_quarters(pay("SK2026000005", "1-1-101", "2026-11-01", "100"),
                        pay("SK2026000006", "1-1-101", "2026-11-02", "-100", reverses="SK2026000005"),
                        pay("SK2026000007", "1-1-101", "2026-11-03", "300"))
    changes = reverse(book, "SK2026000007", NOV22, reason="金额录错")
    assert changes.append[schema.PAYMENTS] == [{
        "收据号": "SK2026000008", "收款日期": NOV22, "房号": "1-1-101", "金额": D("-300.00"), "渠道": "微信",
        "指定期间": None, "经办人": None, "托收批次": None, "冲销收据号": "SK2026000007", "备注": "冲销：金额录错"}]
    assert reverse(book, "SK2026000005", NOV22).errors[0].message == (
        "收据“SK2026000005”已于 2026-11-02 被冲销（冲销收据号 SK2026000006），不能重复冲销")
    assert "本身是冲销行" in reverse(book, "SK2026000006", NOV22).errors[0].message
    assert reverse(book, "SK2026009999", NOV22).errors[0].message == "收据“SK2026009999”不在“收款”表中"
    assert "早于原收据日期" in reverse(book, "SK2026000007", day("2026-11-01")).errors[0].message


def test_workbook_numbers_never_reused(tmp_path, capsys):
    path = make_workbook(tmp_path)  # holds SK2026000007 and SK2026000008
    # a row the parser cannot read (bad date) still holds its number
    save_changes(path, append={schema.PAYMENTS: [{"收据号": "SK2026000050", "收款日期": "上周", "房号": "1-1-101",
                                                  "金额": D("10.00"), "渠道": "现金"}]}, backups=0)
    out = tmp_path / "收据"
    args = ["receive", str(path), "--room", "1-1-202", "--amount", "675", "--channel", "微信",
            "--date", "2026-10-20", "--operator", "小张", "--out", str(out)]
    assert main(args) == 0
    assert "“收款”“应收”表有 1 处无法读取" in capsys.readouterr().out  # a warning; the receipt still goes
    assert main(["reverse", str(path), "--receipt", "SK2026000051", "--date", "2026-10-21",
                 "--reason", "交款人要求退款"]) == 0
    assert main(args) == 0
    numbers = [p.receipt_no for p in load(path).ledger.payments]
    assert numbers[-3:] == ["SK2026000051", "SK2026000052", "SK2026000053"]
    assert (out / "收据_SK2026000051_1-1-202.docx").exists() and (out / "收据_SK2026000053_1-1-202.docx").exists()
    # reversing twice is refused and leaves the file as it was
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    assert main(["reverse", str(path), "--receipt", "SK2026000051", "--date", "2026-10-22"]) == 1
    assert "不能重复冲销" in capsys.readouterr().out
    for bad in (["--amount", "1.001"], ["--amount", "0"], ["--room", "9-9-909"], ["--receipt-no", "SK2026000007"]):
        base = ["receive", str(path), "--room", "1-1-202", "--amount", "10", "--channel", "现金", "--out", str(out)]
        assert main(_with(base, *bad)) == 1
    assert main(["receive", str(path), "--room", "1-1-202", "--amount", "10", "--channel", "支票"]) == 2
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def _with(argv, key, value):
    argv = list(argv)
    if key in argv:
        argv[argv.index(key) + 1] = value
    else:
        argv += [key, value]
    return argv


def test_template_asks_for_nothing_the_context_lacks(tmp_path):
    book = two_quarters()
    payment = Payment("SK2026000001", NOV22, "1-1-101", D("1500.00"), "现金", operator="小张")
    ctx = receipt_context(book, payment, payment_effect(book, payment))
    assert DocxTemplate(str(template_path())).get_undeclared_template_variables() <= set(ctx)
    path = render_receipt(ctx, tmp_path)
    doc = Document(str(path))
    text = "\n".join(p.text for p in doc.paragraphs) + "\n".join(
        c.text for t in doc.tables for r in t.rows for c in r.cells)
    assert "壹仟伍佰元整" in text and "SK2026000001" in text and "1,200.00" in text and "2026年11月22日" in text
    assert "{{" not in text and "{%" not in text
