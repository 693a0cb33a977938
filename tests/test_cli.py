"""The feebook command line on real workbook files: bill, run, check — exit codes, idempotency, totals."""
from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path


from xlwings_addin.ledger import schema
from xlwings_addin.faces.cli import main
from xlwings_addin.demo import template_path
from xlwings_addin.workbook.reader import read_workbook, sheet_parts
from xlwings_addin.workbook.writer import save_changes

D = Decimal


def small_workbook(tmp_path: Path) -> Path:
    """Two flats and one shop, 物业管理费 at 2.50/㎡·月, one payment and one bad row."""
    path = tmp_path / "收费大表.xlsx"
    shutil.copyfile(template_path(), path)
    save_changes(path, backups=0, append={
        schema.ITEMS: [{"项目编码": "WYF", "项目名称": "物业管理费", "计费方式": "面积", "单价": D("2.50"),
                        "计费单位": "元/㎡·月", "计违约金": "是"}],
        schema.UNITS: [
            {"房号": "1-1-101", "楼栋": "1", "房屋类型": "住宅", "建筑面积": D("80.00"), "业主姓名": "张三"},
            {"房号": " 1-1-102 ", "楼栋": "1", "房屋类型": "住宅", "建筑面积": "１２０", "业主姓名": "李四"},
            {"房号": "S-01", "楼栋": "商业", "房屋类型": "商铺", "建筑面积": D("50"), "业主姓名": "王五"},
        ],
        schema.PAYMENTS: [
            # 1-1-101 owes 80 × 2.50 × 3 = 600.00 for 2026Q1, pays 600.00 on 2026-02-04 (10 days late)
            {"收据号": "SK001", "收款日期": dt.date(2026, 2, 4), "房号": "1-1-101", "金额": D("600.00"),
             "渠道": "微信"},
            {"收据号": "SK002", "收款日期": "2026年2月30日", "房号": "1-1-102", "金额": D("10.00"), "渠道": "现金"},
        ],
    })
    return path


def data_parts(path: Path) -> dict[str, bytes]:
    """The XML of every input sheet, by sheet name (what must not change when nothing new is added)."""
    with zipfile.ZipFile(path) as z:
        return {p["name"]: z.read(p["part"]) for p in sheet_parts(z) if p["name"] in schema.INPUT_SHEETS}


def test_bill_run_check_on_a_small_workbook(tmp_path, capsys):
    path = small_workbook(tmp_path)
    # the bad date in 收款!B3 makes 问题 carry an error → exit 1, but the rest is billed
    assert main(["bill", str(path), "--period", "2026Q1"]) == 1
    out = capsys.readouterr().out
    # WYF applies to every house type: 80 × 2.50 × 3 = 600.00, 120 × 2.50 × 3 = 900.00, 50 × 2.50 × 3 = 375.00
    assert "新增应收 3 行，合计 1,875.00 元" in out
    raw = read_workbook(path)
    charges = raw[schema.CHARGES]
    amounts = {row[charges.headers.index("房号")]: row[charges.headers.index("金额")] for _, row in charges.rows}
    assert amounts == {"1-1-101": 600, "1-1-102": 900, "S-01": 375}
    problems = raw[schema.PROBLEMS]
    assert [r[:3] for _, r in problems.rows] == [["错误", "收款", "B3"]]
    assert "2026年2月30日" in problems.rows[0][1][3]

    # billing again adds nothing and leaves every input sheet byte-identical
    before = data_parts(path)
    assert main(["bill", str(path), "--period", "2026年第1季度"]) == 1
    assert "已计费（跳过，不重复）：3 行" in capsys.readouterr().out
    after = data_parts(path)
    assert {k: v for k, v in after.items() if k != schema.AUDIT} == {k: v for k, v in before.items() if k != schema.AUDIT}

    assert main(["run", str(path), "--as-of", "2026-03-01"]) == 1
    raw = read_workbook(path)
    arrears = raw[schema.ARREARS]
    h = arrears.headers
    lines = {r[h.index("房号")]: r for _, r in arrears.rows if r and r[h.index("房号")] in ("1-1-101", "1-1-102", "S-01")}
    # 1-1-101 paid on 02-04: 600 × 0.0003 × 10 = 1.80 late fee, no principal
    assert lines["1-1-101"][h.index("违约金")] == 1.8
    assert lines["1-1-101"][h.index("欠费本金")] == 0
    # 1-1-102: 900 unpaid 35 days → 900 × 0.0003 × 35 = 9.45
    assert lines["1-1-102"][h.index("违约金")] == 9.45
    assert lines["1-1-102"][h.index("逾期天数")] == 35
    assert lines["1-1-102"][h.index("账龄")] == "31-90天"

    # check writes nothing
    digest = path.read_bytes()
    assert main(["check", str(path)]) == 1
    assert path.read_bytes() == digest


def test_run_twice_changes_no_data_sheet(tmp_path):
    path = small_workbook(tmp_path)
    main(["bill", str(path), "--period", "2026Q1"])
    main(["run", str(path), "--as-of", "2026-03-31"])
    first = data_parts(path)
    with zipfile.ZipFile(path) as z:
        outputs_first = {n: z.read(n) for n in z.namelist()}
    main(["run", str(path), "--as-of", "2026-03-31"])
    second = data_parts(path)
    assert {k: v for k, v in first.items() if k != schema.AUDIT} == {k: v for k, v in second.items() if k != schema.AUDIT}
    with zipfile.ZipFile(path) as z:
        outputs_second = {n: z.read(n) for n in z.namelist()}
    # the same as_of gives the same output sheets, byte for byte (only 操作日志 grows)
    changed = {n for n in outputs_first if outputs_first[n] != outputs_second.get(n)}
    with zipfile.ZipFile(path) as z:
        audit_part = next(p["part"] for p in sheet_parts(z) if p["name"] == schema.AUDIT)
    assert changed <= {audit_part}


def test_usage_errors_exit_2(tmp_path, capsys):
    assert main(["bill", str(tmp_path / "x.xlsx"), "--period", "2026第五季"]) == 2
    assert main(["frobnicate"]) == 2
    missing = tmp_path / "不存在.xlsx"
    assert main(["run", str(missing), "--as-of", "2026-01-01"]) == 2
    assert "不存在" in capsys.readouterr().err


def test_locked_workbook_is_refused_and_untouched(tmp_path, capsys):
    path = small_workbook(tmp_path)
    before = path.read_bytes()
    lock = tmp_path / f"~${path.name}"
    lock.write_bytes(b"owner")
    assert main(["bill", str(path), "--period", "2026Q1"]) in (1, 2)
    err = capsys.readouterr().err
    assert "Excel" in err and lock.name in err
    assert path.read_bytes() == before


def test_console_script_runs(tmp_path):
    path = small_workbook(tmp_path)
    result = subprocess.run([sys.executable, "-m", "xlwings_addin.faces.cli", "check", str(path)], capture_output=True,
                            text=True, encoding="utf-8", timeout=120)
    assert result.returncode == 1, result.stderr
    assert "收款!B3" in result.stdout and "Traceback" not in result.stderr


def test_an_unexpected_error_is_a_short_chinese_message_not_a_traceback(tmp_path, capsys, monkeypatch):
    path = small_workbook(tmp_path)

    def broken(*_args, **_kw):
        raise ZeroDivisionError("bug")

    monkeypatch.setattr("xlwings_addin.faces.cli.job_run", broken)
    assert main(["run", str(path), "--as-of", "2026-03-01"]) == 1
    err = capsys.readouterr().err
    assert "程序内部错误" in err and "Traceback" not in err
    log = Path(err.split("日志 ")[1].split(" 发给")[0])
    assert "ZeroDivisionError" in log.read_text(encoding="utf-8")
