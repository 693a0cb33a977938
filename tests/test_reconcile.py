"""Channel statements against 收款 (issue 17): a WeChat bill with one row of each 类型, a second import,
refusals, an Alipay zip, a bank statement by profile, the scheduler step."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile
from decimal import Decimal

import pytest
from test_bank import make_workbook

from xlwings_addin.exchange.statements import StatementError, load_profile, parse_statement, room_named
from xlwings_addin.faces.cli import main
from xlwings_addin.jobs.ledger import job_run, load
from xlwings_addin.ledger import schema
from xlwings_addin.workbook.reader import read_workbook
from xlwings_addin.workbook.writer import save_changes

D = Decimal
NOV21, NOV22 = dt.date(2026, 11, 21), dt.date(2026, 11, 22)

WECHAT_TITLES = ("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,"
                 "应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,"
                 "手续费,费率,订单金额,申请退款金额,费率备注")


def wechat_row(time, trade_no, out_no, status, amount, refund_no, refund, goods, attach, fee):
    order = amount if status == "SUCCESS" else "0.00"
    fields = [time, "wx8888888888888888", "1900000109", "0", "", trade_no, out_no, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
              "JSAPI", status, "OTHERS", "CNY", amount, "0.00", refund_no or "0", ("R" + out_no) if refund_no else "0",
              refund, "0.00", "ORIGINAL" if refund_no else "", "SUCCESS" if refund_no else "", goods, attach, fee,
              "0.60%", order, refund, ""]
    return ",".join("`" + f for f in fields)


# The bill of 2026-11-21 (fees 0.60%): 750.00 → 4.50, 90.00 → 0.54, 450.00 → 2.70; the refund of 100.00 returns 0.60.
WECHAT_LINES = [
    WECHAT_TITLES,
    wechat_row("2026-11-21 09:15:02", "4200000001", "WX101", "SUCCESS", "750.00", "", "0.00", "物业费", "1-1-101",
               "4.50000"),
    wechat_row("2026-11-21 10:02:45", "4200000002", "WX201", "SUCCESS", "90.00", "", "0.00", "物业费 1-1-201", "",
               "0.54000"),
    wechat_row("2026-11-21 11:30:00", "4200000003", "WX301", "SUCCESS", "450.00", "", "0.00", "物业费 1-2-101",
               "", "2.70000"),
    wechat_row("2026-11-21 15:20:10", "4200000004", "WX401", "REFUND", "0.00", "50300000001", "100.00", "物业费",
               "1-2-102", "-0.60000"),
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额",
    # 4 rows; 750.00 + 90.00 + 450.00 + 0.00 = 1290.00; refunds 100.00; fees 4.5 + 0.54 + 2.7 − 0.6 = 7.14
    "`4,`1290.00,`100.00,`0.00,`7.14000,`1290.00,`100.00",
]


def wechat_bill(lines=WECHAT_LINES) -> bytes:
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


def add_payments(path, rows):
    save_changes(path, append={schema.PAYMENTS: rows}, backups=0)


@pytest.fixture
def book(tmp_path):
    path = make_workbook(tmp_path)
    add_payments(path, [
        # 微信 with 交易单号: 1-1-101 matches the bill (已对平), 1-1-201 was typed as 900.00 (金额不符)
        {"收据号": "SK2026000010", "收款日期": NOV21, "房号": "1-1-101", "金额": D("750.00"), "渠道": "微信",
         "交易单号": "4200000001"},
        {"收据号": "SK2026000011", "收款日期": NOV21, "房号": "1-1-201", "金额": D("900.00"), "渠道": "微信",
         "交易单号": "4200000002"},
        # 微信 on the bill's day that WeChat never settled (台账有渠道无)
        {"收据号": "SK2026000012", "收款日期": NOV21, "房号": "1-1-202", "金额": D("675.00"), "渠道": "微信"},
        # the day before: refunded 100.00 on the 21st
        {"收据号": "SK2026000009", "收款日期": dt.date(2026, 11, 20), "房号": "1-2-102", "金额": D("750.00"),
         "渠道": "微信", "交易单号": "4200000004"},
    ])
    return path


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rows_of(path, sheet):
    raw = read_workbook(path, sheets=[sheet])[sheet]
    return [dict(zip(raw.headers, values)) for _n, values in raw.rows]


def test_wechat_bill_one_row_of_each_type_then_second_import_posts_nothing(book, tmp_path, capsys):
    bill = tmp_path / "微信账单_2026-11-21.csv"
    bill.write_bytes(wechat_bill())
    assert main(["reconcile", str(book), str(bill), "--source", "wechat", "--post", "--as-of", "2026-11-22"]) == 0
    out = capsys.readouterr().out
    assert "手续费合计 7.14 元" in out
    recon = rows_of(book, schema.RECONCILIATION)
    got = [(r["类型"], r["交易单号"], r["房号"], r["收据号"], r["金额"]) for r in recon]
    assert got == [
        ("已对平", "4200000001", "1-1-101", "SK2026000010", 750),
        ("金额不符", "4200000002", "1-1-201", "SK2026000011", 90),
        # posted: the next number after SK2026000012
        ("渠道有台账无", "4200000003", "1-2-101", "SK2026000013", 450),
        ("退款", "4200000004", "1-2-102", "SK2026000009", -100),
        ("台账有渠道无", None, "1-1-202", "SK2026000012", 675),
    ]
    notes = [r["说明"] for r in recon]
    assert notes[1] == "台账 900.00 元，渠道 90.00 元，差额 -810.00 元"
    assert notes[2] == "已入账：收据 SK2026000013"
    # 750.00 − 100.00 = 650.00 still paid: reverse and re-issue, proposed only
    assert notes[3].startswith("建议冲销收据 SK2026000009") and "重新开收据" in notes[3] and "650.00" in notes[3]
    assert [r["手续费"] for r in recon[:4]] == [4.5, 0.54, 2.7, -0.6]
    assert {r["来源"] for r in recon} == {"微信"} and recon[0]["对账日期"] == NOV22

    ledger = load(book).ledger
    posted = [p for p in ledger.payments if p.receipt_no == "SK2026000013"]
    assert len(posted) == 1
    p = posted[0]
    assert (p.paid_on, p.room, p.amount, p.channel, p.operator, p.trade_no) == (
        NOV21, "1-2-101", D("450.00"), "微信", "对账", "4200000003")
    # nothing reversed: the refund is only proposed
    assert not [x for x in ledger.payments if x.reverses]

    # the same bill again: nothing posted, no 对账 row added, workbook untouched
    before = sha(book)
    assert main(["reconcile", str(book), str(bill), "--source", "wechat", "--post", "--as-of", "2026-11-23"]) == 0
    out = capsys.readouterr().out
    assert "此对账单已导入过" in out and "已在“对账”表中的 5 笔未重复写入" in out
    assert sha(book) == before


def test_without_post_nothing_is_posted_and_unknown_room_is_said(book, tmp_path):
    lines = list(WECHAT_LINES)
    lines[3] = lines[3].replace("物业费 1-2-101", "物业费")  # the room is no longer named
    bill = tmp_path / "bill.csv"
    bill.write_bytes(wechat_bill(lines))
    assert main(["reconcile", str(book), str(bill), "--source", "wechat", "--as-of", "2026-11-22"]) == 0
    recon = rows_of(book, schema.RECONCILIATION)
    row = next(r for r in recon if r["类型"] == "渠道有台账无")
    assert row["房号"] is None and row["收据号"] is None and "未能从商品名称" in row["说明"]
    assert [p.receipt_no for p in load(book).ledger.payments if p.receipt_no == "SK2026000013"] == []


@pytest.mark.parametrize("cut, message", [
    # cut after the third data row: no summary at all
    (4, "文件在第 4 行结束，缺少汇总行“总交易单数……”：文件不完整，可能被截断"),
    # the summary titles but not their values
    (6, "第 7 行汇总数值不完整：文件不完整，可能被截断"),
])
def test_truncated_bill_refused_whole(book, tmp_path, capsys, cut, message):
    bill = tmp_path / "bill.csv"
    bill.write_bytes(wechat_bill(WECHAT_LINES[:cut]))
    before = sha(book)
    assert main(["reconcile", str(book), str(bill), "--source", "wechat", "--post"]) == 1
    out = capsys.readouterr().out
    assert message in out and "未导入，工作簿未改动" in out
    assert sha(book) == before


def test_altered_amount_refused_naming_the_summary_line(book):
    lines = list(WECHAT_LINES)
    lines[1] = lines[1].replace("`750.00", "`700.00", 1)  # 应结订单金额 changed by hand
    with pytest.raises(StatementError) as err:
        parse_statement(load_profile("wechat"), wechat_bill(lines))
    # 700.00 + 90.00 + 450.00 = 1240.00 against the stated 1290.00
    assert err.value.messages == ["第 7 行汇总“应结订单总金额”为 1290.00，明细合计为 1240.00，不符（文件不完整或被改动）"]


def test_wrong_encoding_and_unknown_layout_refused():
    wechat = load_profile("wechat")
    gbk = ("\r\n".join(WECHAT_LINES) + "\r\n").encode("gbk")
    with pytest.raises(StatementError) as err:
        parse_statement(wechat, gbk)
    assert err.value.messages[0].startswith("文件第 1 行无法按 UTF-8-SIG 解码，文件看来是 GBK 编码")
    with pytest.raises(StatementError):
        parse_statement(wechat, alipay_zip())  # a zip is no WeChat bill
    with pytest.raises(StatementError) as err:
        parse_statement(wechat, "支付宝交易号,商户订单号\r\n1,2\r\n".encode("utf-8"))
    assert "没有找到表头" in err.value.messages[0] and "未知格式" in err.value.messages[0]
    with pytest.raises(StatementError) as err:
        parse_statement(load_profile("alipay"), wechat_bill())
    assert "不是完整的 zip 压缩包" in err.value.messages[0]
    with pytest.raises(StatementError) as err:  # a download cut short
        parse_statement(load_profile("alipay"), alipay_zip()[:-40])
    assert "不是完整的 zip 压缩包（可能下载不完整）" in err.value.messages[0]


def test_room_named_whole_tokens_only():
    rooms = ["1-1-101", "1-1-10", "11-1-1012"]
    assert room_named("物业费 1-1-101", rooms) == ("1-1-101", ["1-1-101"])
    assert room_named("物业费１－１－１０１", rooms)[0] == "1-1-101"  # full-width folded
    assert room_named("21-1-1012", rooms) == ("", [])
    assert room_named("1-1-101 和 11-1-1012", rooms) == ("", ["11-1-1012", "1-1-101"])


# --------------------------------------------------------------------------- Alipay

ALIPAY_TITLES = ("支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,"
                 "商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,"
                 "卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注")


def alipay_row(trade_no, out_no, kind, goods, time, amount, refund_no, fee, memo=""):
    fields = [trade_no, out_no, kind, goods, time, time, "", "", "", "", "ab***@163.com", amount, amount, "0.00",
              "0.00", "0.00", "0.00", "0.00", "", "0.00", "0.00", refund_no, fee, "0.00", memo]
    return ",".join(f + "\t" for f in fields)


def alipay_zip(summary_trade="#交易合计：2笔，商家实收共1,150.00元，商家优惠共0.00元") -> bytes:
    lines = [
        "#支付宝业务明细查询",
        "#账号：[20881234567890120156]",
        "#起始日期：[2026年11月21日 00:00:00]   终止日期：[2026年11月22日 00:00:00]",
        "#-----------------------------------------业务明细列表----------------------------------------",
        ALIPAY_TITLES,
        alipay_row("2026112122001400001", "ZFB-0001", "交易", "物业费", "2026-11-21 08:30:00", "750.00", "", "4.50",
                   ""),
        alipay_row("2026112122001400002", "ZFB-0002", "交易", "物业费1-1-102", "2026-11-21 12:00:00", "400.00", "",
                   "2.40"),
        alipay_row("2026112122001400002", "ZFB-0002", "退款", "物业费1-1-102", "2026-11-21 18:00:00", "-50.00",
                   "ZFB-0002-R1", "-0.30"),
        "#-----------------------------------------业务明细列表结束------------------------------------",
        summary_trade,
        "#退款合计：1笔，商家实收退款共-50.00元，商家优惠退款共0.00元",
        "#导出时间：[2026年11月22日 05:12:33]",
    ]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("20881234567890120156_20261121_业务明细.csv", ("\r\n".join(lines) + "\r\n").encode("gbk"))
        z.writestr("20881234567890120156_20261121_业务明细(汇总).csv", "#汇总\r\n".encode("gbk"))
    return buf.getvalue()


def test_alipay_zip(book, tmp_path, capsys):
    # the clerk typed 1-2-102's Alipay payment with the merchant order number
    add_payments(book, [{"收据号": "SK2026000014", "收款日期": NOV21, "房号": "1-2-102", "金额": D("750.00"),
                         "渠道": "支付宝", "交易单号": "ZFB-0001"}])
    statement = parse_statement(load_profile("alipay"), alipay_zip())
    assert statement.member == "20881234567890120156_20261121_业务明细.csv"
    assert [(r.kind, r.amount) for r in statement.rows] == [("payment", D("750.00")), ("payment", D("400.00")),
                                                           ("refund", D("50.00"))]
    assert statement.fee_total == D("6.60")  # 4.50 + 2.40 − 0.30
    path = tmp_path / "20881234567890120156_20261121.csv.zip"
    path.write_bytes(alipay_zip())
    assert main(["reconcile", str(book), str(path), "--source", "alipay", "--post", "--as-of", "2026-11-22"]) == 0
    recon = rows_of(book, schema.RECONCILIATION)
    assert [(r["类型"], r["房号"], r["收据号"], r["金额"]) for r in recon] == [
        ("已对平", "1-2-102", "SK2026000014", 750),
        ("渠道有台账无", "1-1-102", "SK2026000015", 400),
        # the refund's original was posted in this same run: its reversal is proposed
        ("退款", "1-1-102", "SK2026000015", -50),
    ]
    # 400.00 − 50.00 = 350.00 kept
    assert recon[2]["说明"].startswith("建议冲销收据 SK2026000015") and "按实收 350.00 元重新开收据" in recon[2]["说明"]
    assert "手续费合计 6.60 元" in capsys.readouterr().out
    p = next(x for x in load(book).ledger.payments if x.receipt_no == "SK2026000015")
    assert (p.channel, p.trade_no, p.amount) == ("支付宝", "2026112122001400002", D("400.00"))


def test_alipay_summary_not_adding_up_refused(book):
    with pytest.raises(StatementError) as err:
        parse_statement(load_profile("alipay"), alipay_zip("#交易合计：2笔，商家实收共1,200.00元，商家优惠共0.00元"))
    assert err.value.messages == ["第 10 行汇总“交易合计商家实收”为 1200.00，明细合计为 1150.00，不符（文件不完整或被改动）"]


def test_bank_statement_by_profile(book, tmp_path):
    lines = ["#账号：755900000000001", "#起止日期：20261121-20261121",
             "交易日期,交易时间,收入金额,支出金额,余额,对方户名,对方账号,用途,流水号",
             "20261121,093000,600.00,,10600.00,王五,6222020200112233,1-1-102物业费,B001",
             "20261121,140000,,300.00,10300.00,某保洁公司,6222000000000001,保洁费,B002",
             "#收入合计：1笔，600.00元", "#支出合计：1笔，300.00元"]
    path = tmp_path / "交易明细.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    assert main(["reconcile", str(book), str(path), "--source", "bank:bank_csv", "--post", "--as-of",
                 "2026-11-22"]) == 0
    recon = rows_of(book, schema.RECONCILIATION)
    # the 支出 line is not reconciled; the 收入 line names 1-1-102 and is posted as 转账
    assert [(r["来源"], r["类型"], r["房号"], r["金额"], r["交易时间"]) for r in recon] == [
        ("银行", "渠道有台账无", "1-1-102", 600, "2026-11-21 09:30:00")]
    p = next(x for x in load(book).ledger.payments if x.trade_no == "B001")
    assert (p.channel, p.amount, p.paid_on) == ("转账", D("600.00"), NOV21)


def test_unknown_source_is_usage_error(book, tmp_path, capsys):
    bill = tmp_path / "bill.csv"
    bill.write_bytes(wechat_bill())
    assert main(["reconcile", str(book), str(bill), "--source", "paypal"]) == 2
    assert main(["reconcile", str(book), str(bill), "--source", "bank:不存在"]) == 2


def test_scheduler_step_reconciles_yesterdays_wechat_bill(book, tmp_path):
    from xlwings_addin.faces import scheduler as sch

    # 2026-11-22 is a Sunday: no dunning jobs, but the WeChat bill of the 21st is there from 09:00
    assert sch.jobs_due(NOV22) == [] and sch.jobs_due(NOV22, wechat=True) == ["微信对账"]
    assert sch.JOB_TIMES["微信对账"] == "09:30"
    save_changes(book, append={schema.PARAMS: [{"参数": "微信账单文件夹", "值": "微信账单"}]}, backups=0)
    out = tmp_path / "out"
    # no bill yet: skipped, nothing written
    before = sha(book)
    assert [(o.job, o.status) for o in sch.run_day(book, NOV22, out)] == [("微信对账", "跳过")]
    assert sha(book) == before
    folder = tmp_path / "微信账单"
    folder.mkdir()
    (folder / "微信支付账单_20261121.csv").write_bytes(wechat_bill())
    outcome = sch.run_day(book, NOV22, out)
    assert [(o.job, o.status) for o in outcome] == [("微信对账", "完成")]
    recon = rows_of(book, schema.RECONCILIATION)
    assert len(recon) == 5 and {r["对账日期"] for r in recon} == {NOV22}
    # without 微信对账自动入账 = 是 nothing is posted
    assert not [p for p in load(book).ledger.payments if p.operator == "对账"]
    # the next day finds no bill of the 22nd
    assert [(o.job, o.status) for o in sch.run_day(book, dt.date(2026, 11, 23), out)
            if o.job == "微信对账"] == [("微信对账", "跳过")]


def test_alipay_detail_saved_as_utf8_is_refused():
    good = zipfile.ZipFile(io.BytesIO(alipay_zip()))
    text = good.read("20881234567890120156_20261121_业务明细.csv").decode("gbk")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:  # opened in an editor and saved again as UTF-8
        z.writestr("20881234567890120156_20261121_业务明细.csv", text.encode("utf-8"))
    with pytest.raises(StatementError) as err:
        parse_statement(load_profile("alipay"), buf.getvalue())
    assert err.value.messages == ["文件是 UTF-8 编码，但支付宝业务明细应为 GBK 编码；请使用下载的原始文件，不要用其他软件另存"]


def test_post_refreshes_arrears_and_rates_in_the_same_write(book, tmp_path, capsys):
    # 1-2-101 owes 2026Q3 450.00 and 2026Q4 450.00 (fixture of test_bank); the bill's 450.00 of 2026-11-21 is
    # posted and settles the older 2026Q3 → 欠费明细 must show 900.00 − 450.00 = 450.00 owed, 1 period, at once
    # (not after a separate feebook run), exactly as a fresh run as of the same day would write it.
    bill = tmp_path / "微信账单_2026-11-21.csv"
    bill.write_bytes(wechat_bill())
    assert main(["reconcile", str(book), str(bill), "--source", "wechat", "--post", "--as-of", "2026-11-22"]) == 0
    assert "已同时刷新“欠费明细”“收缴率”" in capsys.readouterr().out
    written = {r["房号"]: r for r in rows_of(book, schema.ARREARS)}
    assert (written["1-2-101"]["欠费本金"], written["1-2-101"]["欠费期数"]) == (450, 1)
    fresh = job_run(load(book).ledger, NOV22)
    arrears = fresh.replace[schema.ARREARS]
    col = arrears.headers.index("欠费本金")
    want = {row[0]: row[col] for row in arrears.rows if len(row) > col and isinstance(row[col], D)}
    assert want and {room: D(str(written[room]["欠费本金"])) for room in want} == want
    rates = fresh.replace[schema.RATES]
    want_rates = {(r[0], r[1]): r[rates.headers.index("实收")] for r in rates.rows if len(r) > 3 and r[1]}
    got_rates = {(r["期间"], r["范围"]): D(str(r["实收"])) for r in rows_of(book, schema.RATES) if r.get("范围")}
    assert got_rates == want_rates
