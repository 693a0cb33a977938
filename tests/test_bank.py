"""Bank collection round trip (托收盘 → 回盘) for both shipped profiles, locks, and refusals.

The small estate used throughout (物业管理费 2.50 元/㎡·月, quarter = 3 months,
2026Q4 due 2026-10-25, 2026Q3 due 2026-07-25, daily late fee 0.0003):

| room    | 托收 | account                  | bills                        | paid             | debit   |
|---------|------|--------------------------|------------------------------|------------------|---------|
| 1-1-101 | 是   | 6222020200112233445 (19) | Q4 100㎡ → 750.00             | –                | 750.00  |
| 1-1-102 | 是   | "6222 0202 0011 2233"    | Q4 80㎡ → 600.00              | 200.00 on 10-05  | 400.00  |
| 1-1-201 | 是   | "12345" (invalid)        | Q4 120㎡ → 900.00             | –                | 问题     |
| 1-1-202 | 否   | –                        | Q4 90㎡ → 675.00              | –                | –       |
| 1-2-101 | 是   | 622202020011223344 (18)  | Q3 + Q4 60㎡ → 450.00 + 450.00 | –                | 900.00  |
| 1-2-102 | 是   | 6222020200112233999      | Q4 100㎡ → 750.00             | 750.00 on 10-08  | –       |

Batch 2026Q4-01 as of 2026-10-18: 3 rows, 750.00 + 400.00 + 900.00 = 2,050.00.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from xlwings_addin.jobs import bank
from xlwings_addin.ledger import schema
from xlwings_addin.jobs.bank import BankFileError
from xlwings_addin.faces.cli import main
from xlwings_addin.demo import template_path
from xlwings_addin.engine.allocation import allocate
from xlwings_addin.jobs.ledger import apply_to_file, load
from xlwings_addin.ledger.periods import Period
from xlwings_addin.jobs.receipts import receive
from xlwings_addin.workbook.writer import save_changes

D = Decimal
Q3, Q4 = Period.quarter(2026, 3), Period.quarter(2026, 4)
EXPORT_DAY = dt.date(2026, 10, 18)
DEBIT_DAY = dt.date(2026, 10, 24)
PROFILES = ("csv_gbk", "fixed_gbk")


def _unit(room, area, debit, account="", owner="张三", name=""):
    return {"房号": room, "楼栋": room.split("-")[0], "房屋类型": "住宅", "建筑面积": D(area), "业主姓名": owner,
            "托收": "是" if debit else "否", "开户银行": "工商银行" if debit else None,
            "银行账号": account or None, "账户名": name or owner}


def _charge(room, period, amount):
    return {"账单号": f"{period}-{room}-WYF", "期间": str(period), "房号": room, "项目编码": "WYF",
            "项目名称": "物业管理费", "金额": D(amount), "应缴日期": period.due_date(25), "来源": "计费"}


def make_workbook(folder: Path, params=()) -> Path:
    path = folder / "收费大表.xlsx"
    shutil.copyfile(template_path(), path)
    units = [
        _unit("1-1-101", "100", True, "6222020200112233445", "李四"),
        _unit("1-1-102", "80", True, "6222 0202 0011 2233", "王五"),
        _unit("1-1-201", "120", True, "12345", "赵六"),
        _unit("1-1-202", "90", False),
        _unit("1-2-101", "60", True, "622202020011223344", "欧阳娜娜"),
        _unit("1-2-102", "100", True, "6222020200112233999", "孙七"),
    ]
    charges = [_charge("1-1-101", Q4, "750.00"), _charge("1-1-102", Q4, "600.00"), _charge("1-1-201", Q4, "900.00"),
               _charge("1-1-202", Q4, "675.00"), _charge("1-2-101", Q3, "450.00"), _charge("1-2-101", Q4, "450.00"),
               _charge("1-2-102", Q4, "750.00")]
    payments = [
        {"收据号": "SK2026000007", "收款日期": dt.date(2026, 10, 5), "房号": "1-1-102", "金额": D("200.00"), "渠道": "现金"},
        {"收据号": "SK2026000008", "收款日期": dt.date(2026, 10, 8), "房号": "1-2-102", "金额": D("750.00"), "渠道": "微信"},
    ]
    items = [{"项目编码": "WYF", "项目名称": "物业管理费", "计费方式": "面积", "单价": D("2.50"), "计费单位": "元/㎡·月",
              "计违约金": "是"}]
    sheets = {schema.UNITS: units, schema.ITEMS: items, schema.CHARGES: charges, schema.PAYMENTS: payments}
    if params:
        sheets[schema.PARAMS] = [{"参数": k, "值": v} for k, v in params]
    save_changes(path, append=sheets, backups=0)
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export(path: Path, profile_id: str, as_of=EXPORT_DAY):
    book = load(path)
    data, changes = bank.export_batch(book.ledger, Q4, bank.load_profile(profile_id), as_of)
    apply_to_file(book, changes)
    return data, changes


@pytest.fixture
def workbook(tmp_path) -> Path:
    return make_workbook(tmp_path)


# ---------------------------------------------------------------- export


def test_export_csv_lines_by_hand(workbook):
    data, changes = export(workbook, "csv_gbk")
    text = data.decode("gbk")
    assert text.split("\r\n") == [
        "H,2026Q4-01,4403000123,20261018,3,2050.00",  # 750.00 + 400.00 + 900.00
        "序号,付款人账号,付款人户名,金额(元),用户编号,摘要",
        "1,6222020200112233445,李四,750.00,1-1-101,物业费2026Q4",
        "2,6222020200112233,王五,400.00,1-1-102,物业费2026Q4",  # spaces removed; 600.00 − 200.00
        "3,622202020011223344,欧阳娜娜,900.00,1-2-101,物业费2026Q4",  # Q3 450.00 + Q4 450.00
        "",
    ]
    # 1-1-201's account "12345" is a 问题 (5 digits), the rest still go
    bad = [p for p in changes.problems if p.level == "错误"]
    assert len(bad) == 1 and "1-1-201" in bad[0].message and "12–19位" in bad[0].message
    ledger = load(workbook).ledger
    assert [(b.batch_id, b.rows, b.total, b.status, b.period) for b in ledger.bank_batches] == [
        ("2026Q4-01", 3, D("2050.00"), "待回盘", Q4)]
    assert [(d.seq, d.room, d.amount, d.result, d.bill_nos) for d in ledger.bank_debits] == [
        (1, "1-1-101", D("750.00"), "待回盘", ("2026Q4-1-1-101-WYF",)),
        (2, "1-1-102", D("400.00"), "待回盘", ("2026Q4-1-1-102-WYF",)),
        (3, "1-2-101", D("900.00"), "待回盘", ("2026Q3-1-2-101-WYF", "2026Q4-1-2-101-WYF")),
    ]
    assert bank.locked_rooms(ledger) == {"1-1-101": "2026Q4-01", "1-1-102": "2026Q4-01", "1-2-101": "2026Q4-01"}


def test_export_fixed_width_bytes_by_hand(workbook):
    data, _ = export(workbook, "fixed_gbk")
    lines = data.split(b"\r\n")
    assert lines[0] == b"H" + b"2026Q4-01".ljust(16) + b"4403000123" + b"20261018"
    # D(1) 序号(6, zero) 账号(19) 户名(40 bytes GBK) 金额(12, 分, zero) 用户编号(20) 摘要(20) = 118 bytes
    name = "欧阳娜娜".encode("gbk")  # 8 bytes, padded with 32 spaces
    assert lines[3] == (b"D000003" + b"622202020011223344 " + name + b" " * 32 + b"000000090000"
                        + b"1-2-101".ljust(20) + "物业费2026Q4".encode("gbk") + b" " * 8)
    assert all(len(x) == 118 for x in lines[1:4])
    assert lines[4] == b"T" + b"2026Q4-01".ljust(16) + b"00000003" + b"000000000205000"  # 2,050.00 元 = 205000 分
    assert lines[5] == b""


def test_late_fee_only_when_parameter_says_so(tmp_path):
    path = make_workbook(tmp_path, params=[("托收含违约金", "是")])
    data, _ = export(path, "csv_gbk")
    # 1-2-101's Q3 450.00 due 07-25, 85 days to 10-18: 450 × 0.0003 × 85 = 11.475 → 11.48; Q4 not yet due
    assert "3,622202020011223344,欧阳娜娜,911.48,1-2-101,物业费2026Q4" in data.decode("gbk")
    assert data.decode("gbk").startswith("H,2026Q4-01,4403000123,20261018,3,2061.48")  # 2050.00 + 11.48


def test_second_batch_does_not_take_locked_bills(workbook):
    export(workbook, "csv_gbk")
    book = load(workbook)
    data, changes = bank.export_batch(book.ledger, Q4, bank.load_profile("csv_gbk"), dt.date(2026, 10, 19))
    # every unit owing is either locked in 2026Q4-01 or has a bad account: no second batch at all
    assert data == b""
    assert schema.BANK_BATCHES not in changes.replace and schema.BANK_DEBITS not in changes.replace
    locked = [p for p in changes.problems if "待回盘" in p.message]
    assert sorted(p.message.split(" ")[1] for p in locked) == ["1-1-101", "1-1-102", "1-2-101"]
    assert all("2026Q4-01" in p.message for p in locked)


# ---------------------------------------------------------------- round trip


@pytest.mark.parametrize("profile_id", PROFILES)
def test_round_trip(workbook, profile_id):
    profile = bank.load_profile(profile_id)
    data, _ = export(workbook, profile_id)
    returned = bank.simulate_return(profile, data, {2: "1001"}, DEBIT_DAY)  # 1-1-102: 余额不足
    book = load(workbook)
    changes = bank.import_return(book.ledger, returned, profile, dt.date(2026, 10, 25))
    assert not changes.errors
    apply_to_file(book, changes)

    ledger = load(workbook).ledger
    posted = [(p.receipt_no, p.paid_on, p.room, p.amount, p.channel, p.batch) for p in ledger.payments
              if p.channel == "托收"]
    assert posted == [("TS2026Q4-01-0001", DEBIT_DAY, "1-1-101", D("750.00"), "托收", "2026Q4-01"),
                      ("TS2026Q4-01-0003", DEBIT_DAY, "1-2-101", D("900.00"), "托收", "2026Q4-01")]
    assert [(d.seq, d.result, d.reason, d.returned_on, d.receipt_no) for d in ledger.bank_debits] == [
        (1, "成功", "", DEBIT_DAY, "TS2026Q4-01-0001"),
        (2, "失败", "余额不足", DEBIT_DAY, ""),
        (3, "成功", "", DEBIT_DAY, "TS2026Q4-01-0003"),
    ]
    (batch,) = ledger.bank_batches
    assert (batch.status, batch.returned_on, batch.file_digest) == ("已回盘", DEBIT_DAY,
                                                                   hashlib.sha256(returned).hexdigest())
    assert bank.locked_rooms(ledger) == {}
    assert [(d.room, d.reason) for d in bank.failed_debits(ledger, on=DEBIT_DAY)] == [("1-1-102", "余额不足")]

    accounts = allocate(ledger, dt.date(2026, 10, 31)).accounts
    # 1-1-102 still owes 400.00; late fee 400 × 0.0003 × 6 days (10-25 → 10-31) = 0.72
    assert (accounts["1-1-102"].open_principal, accounts["1-1-102"].fee_outstanding) == (D("400.00"), D("0.72"))
    # 1-1-101 paid 750.00 on 10-24, before its due date: nothing owed, no fee
    assert (accounts["1-1-101"].open_principal, accounts["1-1-101"].fee_outstanding) == (D("0"), D("0"))
    # 1-2-101: Q3 450.00 paid 91 days late (07-25 → 10-24): 450 × 0.0003 × 91 = 12.285 → 12.29
    assert (accounts["1-2-101"].open_principal, accounts["1-2-101"].fee_outstanding) == (D("0"), D("12.29"))

    # unlocked: the front desk may now take 1-1-102's money
    changes, context = receive(ledger, "1-1-102", "400", "现金", dt.date(2026, 10, 26))
    assert context is not None and changes.append[schema.PAYMENTS][0]["收据号"] == "SK2026000009"

    # the same file again: nothing posted, the workbook byte-identical
    before = sha(workbook)
    assert main(["bank", "import", str(workbook), str(_write(workbook.parent / "ret", returned)),
                 "--bank", profile_id, "--as-of", "2026-10-26"]) == 0
    assert sha(workbook) == before


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_resent_file_with_other_bytes_matches_by_batch_and_seq(workbook):
    profile = bank.load_profile("csv_gbk")
    data, _ = export(workbook, "csv_gbk")
    returned = bank.simulate_return(profile, data, {2: "1001"}, DEBIT_DAY)
    book = load(workbook)
    apply_to_file(book, bank.import_return(book.ledger, returned, profile, DEBIT_DAY))
    before = sha(workbook)
    resent = returned.replace(b"\r\n", b"\n")  # same content, other line endings → another digest
    changes = bank.import_return(load(workbook).ledger, resent, profile, DEBIT_DAY)
    assert not changes.writes and not changes.errors and "一致" in changes.summary[0]
    # a re-sent file that now says seq 2 succeeded is refused, naming the row
    changed = bank.simulate_return(profile, data, {}, DEBIT_DAY)
    changes = bank.import_return(load(workbook).ledger, changed, profile, DEBIT_DAY)
    assert not changes.writes and any("序号 2" in p.message and "余额不足" in p.message for p in changes.errors)
    assert sha(workbook) == before


# ---------------------------------------------------------------- refusals (workbook unchanged)


def _exported(workbook, profile_id):
    profile = bank.load_profile(profile_id)
    data, _ = export(workbook, profile_id)
    return profile, data


def _refused(workbook, profile, data) -> list[str]:
    before = sha(workbook)
    changes = bank.import_return(load(workbook).ledger, data, profile, DEBIT_DAY)
    assert not changes.writes and changes.errors
    ret = workbook.parent / "bad_return"
    ret.write_bytes(data)
    assert main(["bank", "import", str(workbook), str(ret), "--bank", str(_profile_path(profile)),
                 "--as-of", "2026-10-25"]) == 1
    assert sha(workbook) == before
    return [p.message for p in changes.errors]


def _profile_path(profile) -> Path:
    return next(d / f"{profile.id}.json" for d in bank.profile_dirs() if (d / f"{profile.id}.json").is_file())


def test_rows_that_do_not_match_the_batch_are_refused_whole(workbook):
    profile, data = _exported(workbook, "csv_gbk")
    good = bank.parse_file(profile, bank.simulate_return(profile, data, {}, DEBIT_DAY))
    # seq 3 debited 900.01 instead of 900.00, and an extra row for an account not in the batch
    lines = (good.lines[0], good.lines[1], replace(good.lines[2], amount=D("900.01")),
             bank.DebitLine(4, "6222999988887777666", D("10.00"), "钱八", "9-9-999", "物业费2026Q4", "0000"))
    bad = bank.render_file(profile, replace(good, lines=lines, count=4, total=D("2060.01"), success_count=4,
                                            success_total=D("2060.01")), returned=True)
    messages = _refused(workbook, profile, bad)
    assert "笔数：回盘 4，批次 3" in messages
    assert "总金额：回盘 2060.01，批次 2050.00" in messages
    assert any("序号 3" in m and "金额 900.01 与批次中的 900.00 不符" in m for m in messages)
    assert any("序号 4" in m and "…7666 不在批次 2026Q4-01 中" in m for m in messages)


def test_totals_that_do_not_add_up_are_refused(workbook):
    profile, data = _exported(workbook, "csv_gbk")
    returned = bank.simulate_return(profile, data, {}, DEBIT_DAY).decode("gbk")
    tampered = returned.replace(",3,2050.00,3,2050.00", ",3,2050.00,3,2000.00").encode("gbk")
    assert _refused(workbook, profile, tampered) == ["成功金额：汇总 2000.00，明细 2050.00"]


@pytest.mark.parametrize("profile_id", PROFILES)
def test_truncated_return_file_is_refused(workbook, profile_id):
    profile, data = _exported(workbook, profile_id)
    returned = bank.simulate_return(profile, data, {}, DEBIT_DAY)
    cut = returned[: len(returned) * 2 // 3]
    messages = _refused(workbook, profile, cut)
    assert any("不完整" in m or "截断" in m for m in messages)


def test_gbk_file_read_as_utf8_is_refused(workbook, tmp_path):
    profile, data = _exported(workbook, "csv_gbk")
    returned = bank.simulate_return(profile, data, {}, DEBIT_DAY)
    raw = json.loads(_profile_path(profile).read_text(encoding="utf-8"))
    utf8 = bank.profile_from_dict({**raw, "encoding": "utf-8"}, "csv_utf8")
    with pytest.raises(BankFileError) as exc:
        bank.parse_file(utf8, returned)
    assert "无法按 UTF-8 解码" in str(exc.value) and "GBK" in str(exc.value)
    # and the other way round: a GBK profile given a file re-saved as UTF-8
    messages = _refused(workbook, profile, returned.decode("gbk").encode("utf-8"))
    assert messages == ["文件是 UTF-8 编码，但银行方案“csv_gbk”要求 GBK；请使用银行原始文件，不要用其他软件另存"]


def test_unknown_result_code_and_unknown_batch_are_refused(workbook):
    profile, data = _exported(workbook, "fixed_gbk")
    returned = bank.simulate_return(profile, data, {1: "1001"}, DEBIT_DAY)
    messages = _refused(workbook, profile, returned.replace(b"1001", b"7777", 1))
    assert any("处理结果代码“7777”" in m for m in messages)
    other = returned.replace(b"2026Q4-01", b"2026Q4-09")
    assert _refused(workbook, profile, other) == ["回盘的批次号“2026Q4-09”不在“托收批次”表中"]


# ---------------------------------------------------------------- locks


def test_payment_refused_on_a_bill_locked_in_an_open_batch(workbook, capsys):
    export(workbook, "csv_gbk")
    before = sha(workbook)
    changes, context = receive(load(workbook).ledger, "1-2-101", "900", "现金", dt.date(2026, 10, 20))
    assert context is None and not changes.writes
    assert "托收批次 2026Q4-01" in changes.errors[0].message
    assert main(["receive", str(workbook), "--room", "1-2-101", "--amount", "900", "--channel", "现金",
                 "--date", "2026-10-20", "--out", str(workbook.parent / "收据")]) == 1
    assert "房号 1-2-101 的账单已在托收批次 2026Q4-01 中（待回盘）" in capsys.readouterr().out
    assert sha(workbook) == before
    # a unit outside the batch is not locked
    changes, context = receive(load(workbook).ledger, "1-1-202", "675", "微信", dt.date(2026, 10, 20))
    assert context is not None


def test_cli_export_writes_file_and_batch(workbook, capsys):
    out = workbook.parent / "托收"
    assert main(["bank", "export", str(workbook), "--period", "2026Q4", "--bank", "fixed_gbk", "--out", str(out),
                 "--as-of", "2026-10-18"]) == 1  # 1-1-201's bad account is an error in 问题; the batch still goes
    target = out / "托收盘_2026Q4-01_fixed_gbk.txt"
    assert target.read_bytes().count(b"\r\n") == 5  # H + 3 D + T
    assert [b.batch_id for b in load(workbook).ledger.bank_batches] == ["2026Q4-01"]
    assert main(["bank", "export", str(workbook), "--period", "2026Q4", "--bank", "nosuchbank", "--out",
                 str(out)]) == 2


def test_demo_step(demo_copy, tmp_path, capsys):
    from xlwings_addin.faces.commands.bank import demo_step

    demo_step(demo_copy, tmp_path, dt.date(2026, 11, 22))
    line = capsys.readouterr().out
    assert "失败 2 笔" in line
    ledger = load(demo_copy).ledger
    assert [b.status for b in ledger.bank_batches] == ["已回盘"]
    assert sorted(d.reason for d in bank.failed_debits(ledger)) == sorted(["账户冻结", "余额不足"])
    assert len(list((tmp_path / "bank").iterdir())) == 2


def test_account_name_a_spreadsheet_would_take_as_a_formula_is_refused_not_exported(tmp_path):
    path = tmp_path / "收费大表.xlsx"
    shutil.copyfile(template_path(), path)
    items = [{"项目编码": "WYF", "项目名称": "物业管理费", "计费方式": "面积", "单价": D("2.50"), "计费单位": "元/㎡·月",
              "计违约金": "是"}]
    save_changes(path, backups=0, append={
        schema.ITEMS: items,
        schema.UNITS: [_unit("1-1-101", "100", True, "6222020200112233445", "李四", name="=1+2"),
                       _unit("1-1-102", "80", True, "6222020200112233", "王五")],
        schema.CHARGES: [_charge("1-1-101", Q4, "750.00"), _charge("1-1-102", Q4, "600.00")],
    })
    data, changes = export(path, "csv_gbk")
    text = data.decode("gbk")
    assert "=1+2" not in text
    assert "1,6222020200112233,王五,600.00,1-1-102,物业费2026Q4" in text.split("\r\n")
    refused = [p for p in changes.problems if p.level == "错误"]
    assert len(refused) == 1 and "1-1-101" in refused[0].message and "公式" in refused[0].message
