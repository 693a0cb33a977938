"""Issue 21 point 6: the command line speaks Chinese — argparse's own words, nearest suggestions,
a refused receive names its cell."""
from __future__ import annotations

import argparse
import shutil
import datetime as dt
from decimal import Decimal


from xlwings_addin.demo import template_path
from xlwings_addin.faces.cli import build_parser, main
from xlwings_addin.ledger import schema
from xlwings_addin.ledger.records import nearest_rooms, room_hint
from xlwings_addin.workbook.writer import save_changes


def test_help_is_chinese(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("用法：feebook")
    assert "位置参数" in out and "选项" in out and "显示本帮助并退出" in out
    for english in ("usage:", "options:", "positional arguments", "show this help"):
        assert english not in out


def test_usage_errors_are_chinese(capsys):
    assert main(["bill"]) == 2
    err = capsys.readouterr().err
    assert "feebook bill：错误：缺少必填参数：workbook, --period" in err and "用法：" in err
    assert main(["chek", "x.xlsx"]) == 2
    err = capsys.readouterr().err
    assert "无效的选择：'chek'" in err and "是否为 check？" in err
    assert "invalid choice" not in err
    assert main(["check", "--bogus", "x.xlsx"]) == 2
    assert "无法识别的参数：--bogus" in capsys.readouterr().err


def test_argparse_is_english_again_outside_our_parser():
    """The translation is switched on only around our parser; other argparse users are left alone."""
    build_parser().format_help()
    assert "usage: " in argparse.ArgumentParser(prog="other").format_usage()


def test_nearest_rooms():
    rooms = [f"{b}-{u}-{f}{r:02d}" for b in (1, 2, 3) for u in (1, 2) for f in range(1, 19) for r in (1, 2)]
    assert nearest_rooms("3-2-5O2", rooms) == ["3-2-502"]  # letter O for zero
    assert nearest_rooms("３－２－５０２", rooms) == ["3-2-502"]  # full-width
    assert nearest_rooms("3-2-l502", rooms) == ["3-2-1502"]  # letter l for one
    assert nearest_rooms("9-9-999", rooms) == []
    assert room_hint("3-2-5O2", rooms) == "（是否为 3-2-502？）"
    assert room_hint("9-9-999", rooms) == ""


def test_refused_receive_names_its_cell_and_the_nearest_room(tmp_path, capsys):
    path = tmp_path / "收费大表.xlsx"
    shutil.copyfile(template_path(), path)
    save_changes(path, backups=0, append={
        schema.UNITS: [{"房号": "3-2-502", "楼栋": "3", "房屋类型": "住宅", "建筑面积": Decimal("80"), "业主姓名": "张三"}],
        schema.PAYMENTS: [{"收据号": "SK001", "收款日期": dt.date(2026, 2, 4), "房号": "3-2-502",
                           "金额": Decimal("10.00"), "渠道": "现金"}],
    })
    before = path.read_bytes()
    assert main(["receive", str(path), "--room", "3-2-5O2", "--amount", "100", "--channel", "现金",
                 "--date", "2026-11-23"]) == 1
    out = capsys.readouterr().out
    # 收款: headers in row 1 of the template, one receipt in row 2 → the new one would go to row 3;
    # 房号 is the third column (收据号, 收款日期, 房号) → C3
    assert "[错误] 收款!C3 房号“3-2-5O2”不在“房屋”表中（是否为 3-2-502？）" in out
    assert main(["receive", str(path), "--room", "3-2-502", "--amount", "-5", "--channel", "现金",
                 "--date", "2026-11-23"]) == 1
    assert "收款!D3 收款金额应为正数" in capsys.readouterr().out  # 金额 is column D
    assert path.read_bytes() == before


def test_problems_sheet_is_named_only_when_it_was_written(tmp_path, capsys):
    """A refused receive and `check` leave the workbook untouched, so they must not send the clerk to the
    问题 sheet (it still holds an older run's rows); `run` writes it and says so."""
    path = tmp_path / "收费大表.xlsx"
    shutil.copyfile(template_path(), path)
    save_changes(path, backups=0, append={
        schema.UNITS: [{"房号": "3-2-502", "楼栋": "3", "房屋类型": "住宅", "建筑面积": Decimal("80"), "业主姓名": "张三"}],
    })
    before = path.read_bytes()
    assert main(["receive", str(path), "--room", "3-2-5O2", "--amount", "100", "--channel", "现金",
                 "--date", "2026-11-23"]) == 1
    out = capsys.readouterr().out
    assert "问题：1 个错误，0 个警告\n" in out and "详见“问题”工作表" not in out
    assert main(["check", str(path), "--as-of", "2026-11-23"]) == 1  # blank company details are errors
    assert "详见“问题”工作表" not in capsys.readouterr().out
    assert path.read_bytes() == before
    save_changes(path, backups=0, append={schema.PAYMENTS: [
        {"收据号": "SK001", "收款日期": dt.date(2026, 2, 4), "房号": "9-9-999", "金额": Decimal("10.00"), "渠道": "现金"}]})
    assert main(["run", str(path), "--as-of", "2026-11-23"]) == 1  # the unknown 房号 is written to 问题
    assert "问题：1 个错误，0 个警告（详见“问题”工作表）" in capsys.readouterr().out


def test_a_mistyped_two_character_choice_suggests_the_nearest(capsys):
    """现今 shares one of its two characters with 现金 (difflib ratio 0.5): still suggested."""
    assert main(["receive", "x.xlsx", "--room", "1-1-101", "--amount", "1", "--channel", "现今"]) == 2
    err = capsys.readouterr().err
    assert "无效的选择：'现今'" in err and "是否为 现金？" in err
