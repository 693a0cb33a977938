"""Issue 21 point 5: the empty template is ready for a new center."""
from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl

from xlwings_addin.demo import SAMPLE_COMPANY, fill_sample_company, template_path
from xlwings_addin.faces.cli import main
from xlwings_addin.jobs.ledger import company_problems, empty_ledger_hints, job_check, load
from xlwings_addin.ledger import schema
from xlwings_addin.workbook.template import GUIDE, build_template

ROOT = Path(__file__).resolve().parent.parent


def test_committed_template_is_what_the_builder_makes(tmp_path):
    """workbooks/收费大表.xlsx is regenerated from schema.py (scripts/make_template.py): same sheets, cells, notes."""
    built = openpyxl.load_workbook(build_template(tmp_path / "t.xlsx"))
    committed = openpyxl.load_workbook(ROOT / "workbooks" / "收费大表.xlsx")
    assert built.sheetnames == committed.sheetnames
    for name in built.sheetnames:
        a, b = built[name], committed[name]
        assert [[c.value for c in r] for r in a.iter_rows()] == [[c.value for c in r] for r in b.iter_rows()], name


def test_template_guide_first_and_company_fields_empty():
    wb = openpyxl.load_workbook(template_path())
    assert wb.sheetnames[0] == GUIDE and wb.active.title == GUIDE
    guide = "\n".join(str(c.value) for r in wb[GUIDE].iter_rows() for c in r if c.value)
    for words in ("粗体", "参数", "收费项目", "房屋", "每季度首月18日", "每季度首月25日", "feebook templates"):
        assert words in guide
    params = {r[0].value: r[1].value for r in wb[schema.PARAMS].iter_rows(min_row=2)}
    for key in schema.COMPANY_PARAMS:
        assert params[key] is None, key  # nothing of the sample company
    assert "招商银行示例支行" not in str(params) and "示例物业" not in str(params)


def test_every_input_header_has_a_note_with_its_format():
    wb = openpyxl.load_workbook(template_path())
    for spec in schema.INPUT_SHEETS.values():
        ws = wb[spec.name]
        notes = {}
        for dv in ws.data_validations.dataValidation:
            if dv.showInputMessage and dv.prompt:
                for rng in dv.sqref.ranges:
                    notes[rng.coord] = dv.prompt
        for i, header in enumerate(spec.headers):
            cell = ws.cell(row=1, column=i + 1)
            note = notes.get(cell.coordinate)
            assert note, f"{spec.name}!{cell.coordinate} {header} has no note"
            assert note.startswith("必填。" if header in spec.required else "可选。")
            assert bool(cell.font.b) == (header in spec.required)  # bold = required
    units = {next(iter(dv.sqref.ranges)).coord: dv.prompt for dv in wb[schema.UNITS].data_validations.dataValidation
             if dv.prompt}
    assert units["A1"] == "必填。文本，楼栋-单元-房号，如 1-1-101；各表的房号必须与“房屋”表一致"
    payments = {next(iter(dv.sqref.ranges)).coord: dv.prompt for dv in wb[schema.PAYMENTS].data_validations.dataValidation
                if dv.prompt}
    assert payments["B1"] == "必填。日期，如 2026-01-25"  # 收款日期
    assert payments["D1"] == "必填。金额（元），两位小数，如 1234.50"  # 金额
    assert payments["E1"].startswith("必填。从下拉列表选择：现金/托收/微信")


def test_check_on_the_empty_template_says_what_to_fill(tmp_path, capsys):
    path = tmp_path / "新中心_收费大表.xlsx"
    shutil.copyfile(template_path(), path)
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    # 参数 rows 2..5 hold 公司名称, 服务中心, 客服电话, 收款账户 (schema.PARAM_DEFAULTS order); values in column B
    for row, key in enumerate(schema.COMPANY_PARAMS, start=2):
        assert f"[错误] 参数!B{row} 参数“{key}”为空" in out
    assert "提示：工作簿还没有数据。请按顺序填写：1. “参数”表的公司名称" in out
    assert main(["run", str(path), "--as-of", "2026-11-23"]) == 0
    assert "提示：工作簿还没有数据" in capsys.readouterr().out
    # dunning and letters on the empty ledger say the same (they used to print "0 户：无" / "生成 0 份" only)
    assert main(["dunning", str(path), "--as-of", "2026-11-23"]) == 0
    assert "提示：工作簿还没有数据" in capsys.readouterr().out
    assert main(["letters", str(path), "--kind", "收费通知单", "--as-of", "2026-11-23",
                 "--out", str(tmp_path / "letters")]) == 0
    assert "提示：工作簿还没有数据" in capsys.readouterr().out


def test_sample_values_are_reported_and_real_ones_pass(tmp_path):
    path = tmp_path / "收费大表.xlsx"
    shutil.copyfile(template_path(), path)
    fill_sample_company(path)  # what the demo writes: sample values, flagged as placeholders
    problems = company_problems(load(path).ledger)
    assert [p.cell for p in problems] == ["B2", "B3", "B4", "B5"]
    assert all("示例或占位" in p.message for p in problems)
    wb = openpyxl.load_workbook(path)
    real = {"公司名称": "深圳市安居物业服务有限公司", "服务中心": "翠湖花园服务中心", "客服电话": "0755-26881234",
            "收款账户": "深圳市安居物业服务有限公司 中国工商银行深圳科技园支行 4000 0212 0910 0123 456"}
    for r in wb[schema.PARAMS].iter_rows(min_row=2):
        if r[0].value in real:
            r[1].value = real[r[0].value]
    wb.save(path)
    ledger = load(path).ledger
    assert company_problems(ledger) == []
    assert ledger.settings.company == "深圳市安居物业服务有限公司"
    assert not [p for p in job_check(ledger).errors if p.sheet == schema.PARAMS]


def test_demo_has_its_own_sample_company(tmp_path):
    assert main(["demo", "--out", str(tmp_path / "demo"), "--units", "30"]) == 0
    ledger = load(tmp_path / "demo" / "示例花园_收费大表.xlsx").ledger
    assert ledger.settings.company == SAMPLE_COMPANY["公司名称"]
    assert ledger.settings.account == SAMPLE_COMPANY["收款账户"]
    assert empty_ledger_hints(ledger) == []
