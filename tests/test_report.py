"""催收总结报告, 看板 and the commission/dashboard/report commands on the demo estate."""
from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import zipfile
from decimal import Decimal

import pytest
from docxtpl import DocxTemplate

from xlwings_addin.ledger import schema
from xlwings_addin.faces.cli import main
from xlwings_addin.engine.allocation import allocate
from xlwings_addin.engine.rates import collection_rates
from xlwings_addin.jobs.ledger import load
from xlwings_addin.ledger.periods import Period
from xlwings_addin.documents.report import mask_name, render_report, report_context, template_path
from xlwings_addin.workbook.reader import read_workbook

AS_OF = dt.date(2026, 11, 22)
Q4 = Period.quarter(2026, 4)


def test_mask_name():
    assert (mask_name("张三"), mask_name("欧阳娜娜"), mask_name(" "), mask_name("")) == ("张*", "欧*", "", "")


def test_template_asks_for_nothing_the_context_lacks(demo_workbook):
    ledger = load(demo_workbook).ledger
    ctx, _k = report_context(ledger, Q4, AS_OF)
    charts = {"chart_trend", "chart_reasons", "chart_channels", "chart_aging", "chart_buildings"}
    wanted = DocxTemplate(str(template_path())).get_undeclared_template_variables()
    assert wanted - set(ctx) == charts


def test_report_process_and_progress_agree_with_the_dunning_sheet(demo_workbook):
    """QA on the demo: 2.2 said 电话、对讲、上门仅在工作日 while 催收任务 (参数 周末联系 default 是) schedules them
    on ordinary weekends too; 3.1 gave "“催收任务”共 120 户" and then "占“催收任务”118 户" (118 = 120 − 2 暂停)."""
    import dataclasses

    from xlwings_addin.documents.report import contact_days_text

    ledger = load(demo_workbook).ledger
    assert "及普通周末" in contact_days_text(ledger)
    weekdays_only = dataclasses.replace(ledger, settings=dataclasses.replace(
        ledger.settings, extra=tuple(ledger.settings.extra) + (("周末联系", "否"),)))
    assert contact_days_text(weekdays_only) == "电话、对讲、上门仅在工作日（含调休上班日）"
    ctx, _k = report_context(ledger, Q4, AS_OF)
    assert ctx["contact_days_text"] == "电话、对讲、上门在工作日（含调休上班日）及普通周末，法定节假日不联系"
    progress = "".join(ctx["progress_lines"])
    # the test estate (conftest demo_workbook): 120 tasks, 2 on hold; 挂牌 20 + 律师函 7 = 27 of the
    # 120 − 2 = 118 not on hold: 27 / 118 = 0.22881 → 22.88%
    assert "“催收任务”共 120 户" in progress and "挂牌 20 户，律师函 7 户，暂停催缴 2 户" in progress
    assert "共 27 户，占“催收任务”中未暂停催缴的 118 户的 22.88%" in progress


def test_report_docx_figures_and_masking(demo_workbook, tmp_path):
    ledger = load(demo_workbook).ledger
    result = render_report(ledger, Q4, AS_OF, tmp_path)
    from docx import Document

    doc = Document(str(result.docx))
    text = "\n".join(p.text for p in doc.paragraphs)
    text += "\n".join(c.text for t in doc.tables for row in t.rows for c in row.cells)
    assert "XX" not in text and "{{" not in text and "{%" not in text
    # the real 当期收缴率, computed independently of the report code
    center = [r for r in collection_rates(ledger, allocate(ledger, AS_OF), periods=[Q4]) if r.scope == "全部"][0]
    assert f"{center.current_rate * 100:.2f}%" in text
    # no full owner name of an owing unit appears; masked form does
    owners = {u.owner for u in ledger.units if len(u.owner) >= 2}
    assert not [o for o in owners if o in text]
    assert re.search(r"[\u4e00-\u9fff]\*", text)
    # five charts embedded as images
    with zipfile.ZipFile(result.docx) as z:
        assert len([n for n in z.namelist() if n.startswith("word/media/")]) == 5
    # seed 002's structure (issue 13: 问题与挑战 and 改进措施与建议 are two chapters, 总结与展望 closes)
    for section in ("内容简述", "报告背景与目的", "报告范围与方法", "催收概述", "计算方式", "催收流程",
                    "团队组成与职责", "催收进度统计", "已收款情况", "未收款情况", "催收效果评估", "催收成功率",
                    "原因分析", "拖欠特点", "问题与挑战", "改进措施与建议", "总结与展望", "下期工作计划与目标"):
        assert section in text, section
    assert "0.00 万元" not in text and "无可比数据" not in text


def test_report_pdf_contains_real_rate(demo_workbook, tmp_path, soffice):
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext 未安装")
    ledger = load(demo_workbook).ledger
    result = render_report(ledger, Q4, AS_OF, tmp_path, pdf=True)
    assert result.pdf is not None, result.pdf_problem
    text = subprocess.run(["pdftotext", str(result.pdf), "-"], capture_output=True, text=True, check=True).stdout
    center = [r for r in collection_rates(ledger, allocate(ledger, AS_OF), periods=[Q4]) if r.scope == "全部"][0]
    assert f"{center.current_rate * 100:.2f}%" in text
    assert "当期收缴率" in text and "XX" not in text


def test_commission_command_writes_sheet(demo_copy):
    assert main(["commission", str(demo_copy), "--quarter", "2026Q4", "--as-of", "2026-11-22"]) == 0
    _check_commission_rows(demo_copy)


def _check_commission_rows(path):
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True)
    ws = wb[schema.COMMISSION]
    values = list(ws.iter_rows(values_only=True))
    header = list(values[0])
    data = [dict(zip(header, r)) for r in values[1:] if r and r[0] in ("小王", "小李", "小陈")
            and dict(zip(header, r)).get("档位") != "季度合计"]  # the quarter-total rows (issue 20) aside
    # 3 assistants × months 1 and 2 (month 3 = December not started on 2026-11-22)
    assert len(data) == 6
    for row in data:
        rate, month, amount = Decimal(str(row["累计收缴率"])), row["月份"], Decimal(str(row["佣金"]))
        from xlwings_addin.engine.commission import commission_for
        from xlwings_addin.workbook.parse import default_commission_rules

        # the amount written is the rule table's, on the written rate (within float noise of the cell)
        assert abs(amount - commission_for(default_commission_rules(), month, rate)) <= Decimal("0.01")
    problems = [r for r in wb[schema.PROBLEMS].iter_rows(values_only=True)]
    assert any("降为 -300.00 元" in (r[3] or "") and r[0] == "警告" for r in problems)


def test_dashboard_charts_survive_libreoffice(demo_copy, tmp_path, soffice):
    assert main(["dashboard", str(demo_copy), "--as-of", "2026-11-22"]) == 0
    assert main(["dashboard", str(demo_copy), "--as-of", "2026-11-22"]) == 0  # re-run replaces, never duplicates
    from xlwings_addin.jobs.dashboard import chart_titles

    assert chart_titles(demo_copy) == ["当期收缴率趋势（各期同日）", "欠费账龄分布（按应缴日期）", "各楼栋欠费本金",
                                       "本期收款渠道"]
    read_workbook(demo_copy)  # still readable by our own reader (raises WorkbookError otherwise)
    # 收缴率 keeps job_run's rows and gains the trend block
    import openpyxl

    ws = openpyxl.load_workbook(demo_copy, read_only=True)[schema.RATES]
    first_col = [r[0] for r in ws.iter_rows(values_only=True)]
    assert any(isinstance(v, str) and v.startswith("收缴率趋势") for v in first_col)
    # LibreOffice round trip keeps 4 charts that still point at 看板 cells
    out = tmp_path / "rt"
    subprocess.run([soffice, "--headless", "--norestore", f"-env:UserInstallation=file://{tmp_path}/profile",
                    "--convert-to", "xlsx", "--outdir", str(out), str(demo_copy)], check=True, capture_output=True,
                   timeout=180)
    with zipfile.ZipFile(out / demo_copy.name) as z:
        charts = [n for n in z.namelist() if re.match(r"xl/charts/chart\d+\.xml$", n)]
        assert len(charts) == 4
        refs = "".join(z.read(n).decode("utf-8") for n in charts)
    assert "看板!$E$2" in refs and "看板!$I$2" in refs  # trend and aging values (KPI block now in A:B)
