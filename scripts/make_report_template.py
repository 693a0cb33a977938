"""Generate letters/催收总结报告.docx: the quarterly 催收总结报告 template (docxtpl / Jinja tags).

Structure of seed 002 (物业费催收总结报告范文): 报告背景, 催收进度统计 (已收/未收),
催收效果评估 and 成功率, 逾期原因分析, 欠费特点 (by duration / amount / building),
问题与改进, 下期目标.  Every "XX" of the seed is a tag filled from the workbook by
xlwings_addin/documents/report.py.  Staff may edit the wording in Word; keep the {{ }} tags.

    /work/venv/bin/python scripts/make_report_template.py [output.docx]
"""
from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "letters" / "催收总结报告.docx"


def _font(run, size=None, bold=False):
    run.font.name = "宋体"
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")
    if size:
        run.font.size = Pt(size)
    run.bold = bold


def build(path: Path = OUT) -> Path:
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = "宋体"
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")
    normal.font.size = Pt(11)

    def para(text, size=None, bold=False, center=False):
        p = doc.add_paragraph()
        _font(p.add_run(text), size, bold)
        if center:
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        return p

    def heading(text, level=1):
        return para(text, 14 if level == 1 else 12, bold=True)

    def table(headers, loop, cells):
        """Header row, then docxtpl's {%tr for %} row, the data row, the {%tr endfor %} row."""
        t = doc.add_table(rows=4, cols=len(headers))
        t.style = "Table Grid"
        for i, h in enumerate(headers):
            t.rows[0].cells[i].text = h
        t.rows[1].cells[0].text = "{%tr for r in " + loop + " %}"
        for i, c in enumerate(cells):
            t.rows[2].cells[i].text = "{{ " + c + " }}"
        t.rows[3].cells[0].text = "{%tr endfor %}"
        return t

    para("{{ company }}", 12, center=True)
    para("{{ center }}{{ period_label }}物业费催收总结报告", 16, bold=True, center=True)
    para("统计截至 {{ as_of }}　　编制：{{ center }}　　（业主姓名已脱敏）", 10, center=True)

    heading("一、报告背景")
    heading("1.1 报告背景与目的", 2)
    para("物业费是保障{{ center }}正常运营、维持公共设施设备良好状态的核心经济来源。为全面掌握{{ period_label }}"
         "物业费收缴情况，总结催收工作成效，分析欠费原因，改进下期工作，特编制本报告。")
    heading("1.2 报告范围与方法", 2)
    para("本报告覆盖{{ center }}全部 {{ units_total }} 户（本期计费 {{ units_billed }} 户，{{ buildings_count }} 个楼栋/区域），"
         "数据取自收费大表的应收、收款、减免、催缴记录，截至 {{ as_of }}。口径：当期收缴率 =（实收+减免+预存冲抵）÷ 本期应收；"
         "清欠率 = 期初以来收回的往期欠费 ÷ 期初欠费；综合收缴率 =（当期收回+清欠金额）÷（应收+期初欠费）；"
         "账龄按应缴日期计算；催收成功率 = 本期被联系的业主中在联系后 30 天内缴款的比例（联系未满 30 天且尚未缴款的不计入）。")

    heading("二、催收进度统计")
    para("本期对欠费情况进行了全面排查，共计涉及欠费业主 {{ debtors_total }} 户（期初欠费或本期逾期）。经过催收，已有 "
         "{{ debtors_cleared_pct }} 的欠费业主完成了缴费，剩余 {{ debtors_open_pct }} 的欠费业主处于不同的催收阶段：")
    para("初步沟通阶段：通过短信、电话、对讲等方式提醒，共计完成 {{ stage1_contacts }} 次沟通，覆盖业主 {{ stage1_units }} 户。")
    para("跟进催收阶段：对仍未缴费的业主采取上门拜访、发放催费通知单等措施，共 {{ stage2_units }} 户，"
         "其中 {{ stage2_paid_pct }} 的业主在此阶段完成缴费。")
    para("强制催收阶段：对多次催收无效的业主进入挂牌、律师函或诉讼程序，目前已有 {{ stage3_units }} 户业主进入此阶段，"
         "占总欠费业主的 {{ stage3_pct }}。")
    heading("2.1 已收款情况", 2)
    para("截至 {{ as_of }}，本期物业费应收 {{ receivable }} 元，已收回 {{ collected }} 元，已收取 {{ rate }} 的物业费"
         "（不含减免及预存冲抵为 {{ rate_cash }}）；清欠率 {{ arrears_rate }}，综合收缴率 {{ overall_rate }}。"
         "本期通过电话沟通、短信提醒、上门拜访等多种方式，共向 {{ contacted_units }} 户业主发送了催款通知，"
         "成功收回了 {{ recovered_wan }} 万元。成功催收了 {{ succeeded_units }} 户业主的物业费，"
         "并且有 {{ on_time_pct }} 的业主按时（应缴日期前）支付了费用。")
    table(["收缴率", "应收（元）", "已收（元）", "收缴率", "不含减免及预存冲抵"], "window_rates",
          ["r.label", "r.receivable", "r.collected", "r.rate", "r.rate_cash"])
    para("")
    para("{{ chart_trend }}", center=True)
    para("图1　当期收缴率趋势（近8期，各期同一天对比）", 9, center=True)
    table(["期间", "截至（同日）", "当期收缴率", "清欠率", "综合收缴率"], "trend",
          ["r.period", "r.as_of", "r.rate", "r.arrears_rate", "r.overall_rate"])
    heading("2.2 未收款情况", 2)
    para("仍有 {{ overdue_units }} 户业主未按期缴纳本期物业费。统计数据显示，本期未收款项总额达到 {{ unpaid_wan }} 万元"
         "（{{ unpaid }} 元），涉及 {{ unpaid_units }} 户业主，这一金额占应缴总费用的 {{ unpaid_share }}。"
         "连同往期，全部欠费本金 {{ arrears_total }} 元，涉及 {{ arrears_units }} 户，另有违约金 {{ late_fee_total }} 元。"
         "欠费金额较大的业主如下（姓名已脱敏）：")
    table(["房号", "业主", "欠费期数", "欠费本金（元）", "账龄", "欠费原因"], "top_debtors",
          ["r.room", "r.owner", "r.periods", "r.principal", "r.bucket", "r.reason"])

    heading("三、催收效果评估")
    heading("3.1 催收成功率", 2)
    para("本期共联系欠费业主 {{ contacted_units }} 户（催缴记录 {{ contact_rows }} 条），其中 {{ succeeded_units }} 户在联系后 30 天内缴款，"
         "{{ pending_units }} 户联系未满 30 天暂不计入，催收成功率为 {{ success_rate }}。"
         "本季度的催收成功率较上一季度（{{ prev_success_rate }}）{{ success_change }}，"
         "而同日逾期未缴物业费的比例由上期的 {{ prev_unpaid_share }} 变为 {{ same_day_unpaid_share }}，{{ unpaid_change }}。")
    table(["指标", "本期", "说明"], "kpi_rows", ["r.name", "r.value", "r.note"])
    para("")
    table(["范围", "应收（元）", "当期收缴率", "清欠率", "综合收缴率", "户收费率"], "scope_rows",
          ["r.scope", "r.receivable", "r.rate", "r.arrears_rate", "r.overall_rate", "r.household_rate"])
    heading("3.2 逾期未收款原因分析", 2)
    para("根据催缴记录中登记的欠费原因，部分业主未能及时缴费的主要原因是{{ top_reason }}。各原因分布如下：")
    table(["欠费原因", "户数", "欠费本金（元）", "占欠费户数"], "reasons", ["r.label", "r.units", "r.amount", "r.share"])
    para("")
    para("{{ chart_reasons }}", center=True)
    para("图2　欠费原因分布（按欠费户数）", 9, center=True)

    heading("四、物业费拖欠特点分析")
    heading("4.1 按时缴费业主情况", 2)
    para("本期在应缴日期前缴清的业主 {{ on_time_units }} 户，占计费户数 {{ units_billed }} 户的 {{ on_time_pct }}；"
         "平均缴费天数（自应缴日期起，按金额加权，提前缴费记为负数）为 {{ average_days }} 天；"
         "线上缴费（微信、支付宝、转账、POS）占本期收款的 {{ online_share }}。")
    para("{{ chart_channels }}", center=True)
    para("图3　本期收款渠道", 9, center=True)
    heading("4.2 逾期缴费业主情况", 2)
    para("按欠费时长（账龄，自应缴日期起算）：")
    table(["账龄", "欠费本金（元）", "占比"], "aging", ["r.label", "r.amount", "r.share"])
    para("{{ chart_aging }}", center=True)
    para("图4　欠费账龄分布", 9, center=True)
    para("按欠费金额：")
    table(["欠费金额", "户数", "欠费本金（元）"], "amounts", ["r.label", "r.units", "r.amount"])
    para("按楼栋：")
    table(["楼栋", "欠费户数", "欠费本金（元）"], "buildings", ["r.label", "r.units", "r.amount"])
    para("{{ chart_buildings }}", center=True)
    para("图5　各楼栋欠费本金", 9, center=True)

    heading("五、问题与改进")
    heading("5.1 催收过程中遇到的问题", 2)
    para("{%p for item in issues %}")
    para("{{ loop.index }}. {{ item }}")
    para("{%p endfor %}")
    heading("5.2 改进措施与建议", 2)
    para("{%p for item in measures %}")
    para("{{ loop.index }}. {{ item }}")
    para("{%p endfor %}")

    heading("六、下期工作计划与目标")
    para("{%p for item in targets %}")
    para("{{ loop.index }}. {{ item }}")
    para("{%p endfor %}")
    para("")
    para("{{ center }}　　{{ report_date }}", center=False)

    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(path)
    return path


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT))
