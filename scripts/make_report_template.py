"""Generate letters/催收总结报告.docx: the quarterly 催收总结报告 template (docxtpl / Jinja tags).

Structure of seed 002 (物业费催收总结报告范文): 一、内容简述 (背景与目的, 范围与方法);
二、催收概述 (计算方式, 流程, 团队组成与职责 — each 服务助理 with buildings, 收缴率, 佣金);
三、催收情况分析 (进度: 已收/未收; 效果: 成功率, 逾期原因; 拖欠特点: 按时/逾期);
四、问题与挑战; 五、改进措施与建议; 六、总结与展望 (next quarter's targets).  Sentences whose
figure is zero or has nothing to compare with come from lists in the context and are left out.  Every "XX" of the seed is a tag filled from the workbook by
xlwings_addin/documents/report.py.  Staff may edit the wording in Word; keep the {{ }} tags.

    /work/venv/bin/python scripts/make_report_template.py [output.docx]
"""
from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "letters" / "催收总结报告.docx"


def _font(run, size=None, bold=False):
    run.font.name = "宋体"
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")
    if size:
        run.font.size = Pt(size)
    run.bold = bold


def _tr_flag(row, tag: str) -> None:
    trpr = row._tr.get_or_add_trPr()
    trpr.append(OxmlElement(tag))


def build(path: Path = OUT) -> Path:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(2.2), Cm(2.0)
    section.left_margin, section.right_margin = Cm(2.4), Cm(2.2)
    normal = doc.styles["Normal"]
    normal.font.name = "宋体"
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")
    normal.font.size = Pt(11)
    normal.paragraph_format.space_after = Pt(3)
    normal.paragraph_format.widow_control = True
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(footer.add_run("{{ center }}{{ period_label }}物业费催收总结报告"), 9)

    def para(text, size=None, bold=False, center=False, keep=False, indent=False):
        p = doc.add_paragraph()
        _font(p.add_run(text), size, bold)
        if center:
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        if keep:
            p.paragraph_format.keep_with_next = True
        if indent:
            p.paragraph_format.first_line_indent = Pt(22)
        return p

    def heading(text, level=1):
        p = para(text, 14 if level == 1 else (12 if level == 2 else 11), bold=True, keep=True)
        p.paragraph_format.space_before = Pt(8 if level == 1 else 4)
        return p

    def lines(name):
        """One paragraph per sentence of a list in the context (an empty list prints nothing)."""
        para("{%p for line in " + name + " %}")
        para("{{ line }}", indent=True)
        para("{%p endfor %}")

    def table(headers, loop, cells, widths, numeric=()):
        """Header row repeated on each page, rows never split, numbers right-aligned in columns wide
        enough that they never wrap; docxtpl's {%tr for %} row, the data row, the {%tr endfor %} row."""
        para("", 4, keep=True)
        t = doc.add_table(rows=4, cols=len(headers))
        t.style = "Table Grid"
        t.alignment = WD_TABLE_ALIGNMENT.CENTER
        t.autofit = False
        layout = OxmlElement("w:tblLayout")
        layout.set(qn("w:type"), "fixed")
        t._tbl.tblPr.append(layout)
        for column, w in zip(t.columns, widths):
            column.width = Cm(w)
        for row in t.rows:
            for cell, w in zip(row.cells, widths):
                cell.width = Cm(w)
        for i, h in enumerate(headers):
            cell = t.rows[0].cells[i]
            _font(cell.paragraphs[0].add_run(h), 9.5, True)
            cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
            cell.paragraphs[0].paragraph_format.keep_with_next = True
        _font(t.rows[1].cells[0].paragraphs[0].add_run("{%tr for r in " + loop + " %}"), 9.5)
        for i, c in enumerate(cells):
            p = t.rows[2].cells[i].paragraphs[0]
            _font(p.add_run("{{ " + c + " }}"), 9.5)
            if i in numeric:
                p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        _font(t.rows[3].cells[0].paragraphs[0].add_run("{%tr endfor %}"), 9.5)
        _tr_flag(t.rows[0], "w:tblHeader")
        for row in t.rows:
            _tr_flag(row, "w:cantSplit")
            for cell in row.cells:
                cell.paragraphs[0].paragraph_format.space_after = Pt(0)
        para("", 4)
        return t

    def figure(tag, caption):
        p = para("{{ " + tag + " }}", center=True, keep=True)
        para(caption, 9, center=True)
        return p

    para("{{ company }}", 12, center=True)
    para("{{ center }}{{ period_label }}物业费催收总结报告", 16, bold=True, center=True)
    para("统计截至 {{ as_of }}　　编制：{{ center }}　　（业主姓名已脱敏）", 10, center=True)

    heading("一、内容简述")
    heading("1.1 报告背景与目的", 2)
    para("物业费是保障{{ center }}正常运营、维持公共设施设备良好状态的核心经济来源。为全面掌握{{ period_label }}"
         "物业费收缴情况，总结催收工作成效，分析欠费原因，改进下期工作，特编制本报告。", indent=True)
    heading("1.2 报告范围与方法", 2)
    para("本报告覆盖{{ center }}全部 {{ units_total }} 户（本期计费 {{ units_billed }} 户，{{ buildings_count }} 个楼栋/区域），"
         "数据取自收费大表的应收、收款、减免、催缴记录和催收任务，截至 {{ as_of }}；报告中的每一个数字与收费大表"
         "“收缴率”“欠费明细”“佣金”“催收任务”各表一致。", indent=True)

    heading("二、物业费催收概述")
    heading("2.1 物业费定义及计算方式", 2)
    para("物业费按{{ cycle }}计收，每期首月 {{ due_day }} 日为缴费截止日；逾期未缴的，自应缴日期次日起按欠费本金每日"
         "{{ rate_text_report }}计收违约金。各收费项目的计费方式如下：", indent=True, keep=True)
    table(["收费项目", "计费方式", "收费标准"], "fee_rows", ["r.name", "r.method", "r.price"], [4.6, 5.6, 6.0])
    para("口径：当期收缴率 =（实收+减免+预存冲抵）÷ 本期应收；清欠率 = 期初以来收回的往期欠费 ÷ 期初欠费；"
         "综合收缴率 =（当期收回+清欠金额）÷（应收+期初欠费）；账龄按应缴日期计算；催收成功率 = 本期被联系的业主中"
         "在联系后 30 天内缴款的比例（联系未满 30 天且尚未缴款的不计入）。", indent=True)
    heading("2.2 催收流程简介", 2)
    para("催收按阶段逐级推进：应缴日期前后为“提醒”（短信、收费通知单）；逾期 {{ remind_days }} 天以上为“沟通”"
         "（电话、对讲）；逾期 {{ talk_days }} 天以上为“跟进”（上门、催费通知单、催缴函）；欠费达 {{ hang_periods }} 期"
         "经负责人审批后“挂牌”公示（仅房号和脱敏姓名）；逾期 {{ lawyer_days }} 天以上且已有多次催缴记录的起草“律师函”；"
         "欠费达 {{ litigation_amount }} 元且无正当理由的可列入“诉讼”。短信法定节假日不发，{{ contact_days_text }}；"
         "任何情况下不得以停水、停电等方式催交。", indent=True)
    heading("2.3 催收团队组成与职责分工", 2)
    para("各服务助理负责所辖楼栋的提醒、沟通与跟进，佣金按本季度物业管理费累计收缴率的档位计发（“佣金”表）：",
         indent=True, keep=True)
    table(["服务助理", "负责楼栋", "户数", "累计收缴率", "档位", "佣金（元）"], "team_rows",
          ["r.name", "r.buildings", "r.units", "r.rate", "r.tier", "r.commission"],
          [2.2, 3.6, 1.4, 2.6, 4.0, 2.6], numeric=(2, 3, 5))

    heading("三、催收情况分析")
    heading("3.1 催收进度统计", 2)
    lines("progress_lines")
    heading("3.1.1 已收款情况", 3)
    lines("collected_lines")
    table(["收缴率", "应收（元）", "已收（元）", "收缴率", "不含减免及预存冲抵"], "window_rates",
          ["r.label", "r.receivable", "r.collected", "r.rate", "r.rate_cash"], [4.4, 3.2, 3.2, 2.4, 3.2],
          numeric=(1, 2, 3, 4))
    figure("chart_trend", "图1　当期收缴率趋势（近8期，各期同一天对比）")
    table(["期间", "截至（同日）", "当期收缴率", "清欠率", "综合收缴率"], "trend",
          ["r.period", "r.as_of", "r.rate", "r.arrears_rate", "r.overall_rate"], [3.6, 3.2, 3.2, 3.2, 3.2],
          numeric=(2, 3, 4))
    heading("3.1.2 未收款情况", 3)
    lines("unpaid_lines")
    table(["房号", "业主", "欠费期数", "欠费本金（元）", "账龄", "欠费原因"], "top_debtors",
          ["r.room", "r.owner", "r.periods", "r.principal", "r.bucket", "r.reason"], [2.4, 1.6, 1.8, 3.0, 2.6, 5.0],
          numeric=(2, 3))
    heading("3.2 催收效果评估", 2)
    heading("3.2.1 催收成功率", 3)
    lines("success_lines")
    table(["指标", "本期", "说明"], "kpi_rows", ["r.name", "r.value", "r.note"], [5.0, 2.6, 8.8], numeric=(1,))
    table(["范围", "应收（元）", "当期收缴率", "清欠率", "综合收缴率", "户收费率"], "scope_rows",
          ["r.scope", "r.receivable", "r.rate", "r.arrears_rate", "r.overall_rate", "r.household_rate"],
          [3.6, 3.0, 2.5, 2.4, 2.5, 2.4], numeric=(1, 2, 3, 4, 5))
    heading("3.2.2 逾期未收款原因分析", 3)
    para("根据催缴记录中登记的欠费原因，部分业主未能及时缴费的主要原因是{{ top_reason }}。各原因分布如下：", indent=True,
         keep=True)
    table(["欠费原因", "户数", "欠费本金（元）", "占欠费户数"], "reasons", ["r.label", "r.units", "r.amount", "r.share"],
          [5.6, 2.4, 4.0, 3.0], numeric=(1, 2, 3))
    figure("chart_reasons", "图2　欠费原因分布（按欠费户数）")
    heading("3.3 物业费拖欠特点分析", 2)
    heading("3.3.1 按时缴费业主情况", 3)
    para("本期在应缴日期前缴清的业主 {{ on_time_units }} 户，占计费户数 {{ units_billed }} 户的 {{ on_time_pct }}；"
         "平均缴费天数（自应缴日期起，按金额加权，提前缴费记为负数）为 {{ average_days }} 天；"
         "线上缴费（微信、支付宝、转账、POS）占本期收款的 {{ online_share }}。", indent=True)
    figure("chart_channels", "图3　本期收款渠道")
    heading("3.3.2 逾期缴费业主情况", 3)
    para("按欠费时长（账龄，自应缴日期起算）：", keep=True)
    table(["账龄", "欠费本金（元）", "占比"], "aging", ["r.label", "r.amount", "r.share"], [5.0, 4.0, 3.0],
          numeric=(1, 2))
    figure("chart_aging", "图4　欠费账龄分布")
    para("按欠费金额：", keep=True)
    table(["欠费金额", "户数", "欠费本金（元）"], "amounts", ["r.label", "r.units", "r.amount"], [5.0, 3.0, 4.0],
          numeric=(1, 2))
    para("按楼栋：", keep=True)
    table(["楼栋", "欠费户数", "欠费本金（元）"], "buildings", ["r.label", "r.units", "r.amount"], [5.0, 3.0, 4.0],
          numeric=(1, 2))
    figure("chart_buildings", "图5　各楼栋欠费本金")

    heading("四、问题与挑战")
    heading("4.1 催收过程中遇到的问题", 2)
    para("{%p for item in issues %}")
    para("{{ loop.index }}. {{ item }}", indent=True)
    para("{%p endfor %}")

    heading("五、改进措施与建议")
    para("{%p for item in measures %}")
    para("{{ loop.index }}. {{ item }}", indent=True)
    para("{%p endfor %}")

    heading("六、总结与展望")
    heading("6.1 本期物业费催收工作总结", 2)
    lines("summary_lines")
    heading("6.2 下期工作计划与目标", 2)
    para("{{ next_period_label }}工作目标：", keep=True)
    para("{%p for item in targets %}")
    para("{{ loop.index }}. {{ item }}", indent=True)
    para("{%p endfor %}")
    heading("6.3 对未来工作的展望与建议", 2)
    lines("outlook_lines")
    para("")
    para("{{ center }}　　{{ report_date }}", center=False)

    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(path)
    return path


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT))
