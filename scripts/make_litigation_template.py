"""Generate ``letters/要素式起诉状.docx``: the element-style complaint for 物业服务合同纠纷, with annexes.

    python scripts/make_litigation_template.py [--out letters]

An ordinary .docx a clerk or lawyer may open and edit in Word (docxtpl tags,
each in one run; table rows repeat with ``{%tr for … %}``), built with the same
helpers as ``scripts/make_letter_templates.py``.  Layout follows the court's
示范文本 (民事起诉状·物业服务合同纠纷): 当事人信息, 诉讼请求和依据, 约定管辖和
诉讼保全, 事实与理由 as element/answer tables; then 附件一 计算表 and 附件二
证据目录.  The defendant's 性别/出生日期/民族/证件号码 are blank lines for the
lawyer — the workbook never stores ID numbers.

Every variable used here must come from
:func:`xlwings_addin.documents.litigation.complaint_context`
(tests/test_litigation.py checks it).  Re-running gives the same bytes.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from docx.enum.section import WD_ORIENT, WD_SECTION  # noqa: E402
from docx.oxml import OxmlElement  # noqa: E402
from docx.oxml.ns import qn  # noqa: E402
from docx.shared import Cm  # noqa: E402
from make_letter_templates import CENTER, FANG, HEI, LEFT, Letter  # noqa: E402


class Complaint(Letter):
    def new_section(self, landscape: bool) -> None:
        """A new page in a new section (the 计算表 annex is landscape, the rest portrait A4)."""
        section = self.doc.add_section(WD_SECTION.NEW_PAGE)
        section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
        long, short = Cm(29.7), Cm(21.0)
        section.page_width, section.page_height = (long, short) if landscape else (short, long)

    def table(self, *args, **kw):
        """A table whose header row repeats on every page it runs over."""
        table = super().table(*args, **kw)
        trpr = table.rows[0]._tr.get_or_add_trPr()
        header = OxmlElement("w:tblHeader")
        header.set(qn("w:val"), "true")
        trpr.append(header)
        return table

NAME = "要素式起诉状"
BLANK = "____________"


def complaint() -> Complaint:
    t = Complaint(FANG, 11)
    t.p(("民事起诉状", True), align=CENTER, size=20, indent=False, before=4, after=0, font=HEI)
    t.p("（物业服务合同纠纷）", align=CENTER, size=12, indent=False, after=6)
    t.p(("说明：", True), "本起诉状依据收费大表于", "{{ date_cn }}", "生成，金额与附件一计算表一致。"
        "标注“（请填写…）”及下划线处须由代理律师据原件核实填写；被告身份证件信息工作簿不保存，请律师补充。",
        size=9, indent=False, after=6)

    t.heading("当事人信息")
    t.grid([["原告（法人）", "{{ company }}"],
            ["住所地", "{{ company_address }}"],
            ["法定代表人", "{{ legal_rep }}"],
            ["统一社会信用代码", "{{ credit_code }}"],
            ["联系电话", "{{ hotline }}"],
            ["委托诉讼代理人", "{{ lawyer }}（{{ law_firm }}）"]], [4.0, 12.3], size=10.5)
    t.grid([["被告（自然人）", "{{ owner }}"],
            ["性别 / 出生日期 / 民族", f"{BLANK} / {BLANK} / {BLANK}"],
            ["证件类型及号码", f"居民身份证  {BLANK}{BLANK}"],
            ["住所地（户籍所在地）", BLANK + BLANK],
            ["经常居住地", "{{ room }}（建筑面积 {{ area }}㎡，{{ house_type }}）"],
            ["联系电话", BLANK]], [4.0, 12.3], size=10.5)

    t.heading("诉讼请求和依据")
    t.grid([["1. 物业费", "判令被告支付{{ periods_text }}共{{ period_count }}期物业服务费等费用 "
                          "{{ principal_total }} 元（人民币{{ principal_daxie }}）"],
            ["2. 违约金", "判令被告支付违约金 {{ claimed_fee }} 元（以各期欠费本金为基数，{{ claim_basis_text }}，"
                          "自各期应缴日期次日起暂计至{{ date_cn }}，此后计至实际清偿之日止）"],
            ["3. 诉讼费用", "本案诉讼费用由被告负担"],
            ["4. 标的总额", "{{ claim_total }} 元（人民币{{ claim_total_daxie }}）"],
            ["5. 请求依据", "{{ contract }}；《中华人民共和国民法典》第九百三十七条、第九百四十四条、第五百七十七条、"
                            "第五百八十五条"],
            ["违约金口径说明", "{{ claim_note }}"]], [3.4, 12.9], size=10.5)

    t.heading("约定管辖和诉讼保全")
    t.grid([["1. 有无仲裁、法院管辖约定", "□ 有  □ 无（请律师据合同填写）"],
            ["2. 是否申请财产保全", "□ 是  □ 否"]], [5.0, 11.3], size=10.5)

    t.heading("事实与理由")
    t.grid([["1. 物业服务合同签订情况", "{{ contract }}（签订时间、地点请律师据合同原件填写）"],
            ["2. 签订主体", "物业服务人：{{ company }}；业主：{{ owner }}"],
            ["3. 物业项目情况", "{{ center }}，被告房屋 {{ room }}，建筑面积 {{ area }}㎡"],
            ["4. 约定的物业费标准", "{{ fee_standard }}；逾期缴纳的，按欠费本金每日{{ rate_text }}计收违约金"],
            ["5. 物业服务情况", "{{ service_text }}"],
            ["6. 逾期支付物业费情况", "被告自{{ oldest_due }}起未按期缴纳{{ periods_text }}费用，"
                                      "截至{{ date_cn }}欠费本金 {{ principal_total }} 元（明细见附件一）"],
            ["7. 催缴情况", "原告有送达凭证的催告共 {{ demand_count }} 次（见下表及附件二）；律师函于{{ lawyer_date }}送达"
                            "（送达凭证 {{ lawyer_proof }}），付款期限{{ lawyer_deadline }}届满，被告仍未支付。"
                            "{{ undelivered_text }}"],
            ["8. 诉讼时效", "{{ limitation_text }}"],
            ["9. 催缴记录登记的欠费原因", "{{ reason_text }}；{{ part_payment_text }}"],
            ["10. 证据清单", "见附件二 证据目录"]], [4.4, 11.9], size=10.5)
    t.table(["送达日期", "催告方式", "送达凭证"], ["{{ d.date }}", "{{ d.method }}", "{{ d.proof }}"],
            [4.0, 4.0, 8.3], loop="d in demands", size=10)

    t.p("此致", indent=True, before=6)
    t.p("____________人民法院", indent=False)
    t.p("具状人：{{ company }}（盖章）", align=LEFT, indent=False, before=10)
    t.p("法定代表人（签字）：{{ legal_rep }}", indent=False)
    t.p("{{ date_cn }}", indent=False)

    t.new_section(landscape=True)
    t.p(("附件一  欠费及违约金计算表", True), align=CENTER, size=14, indent=False, after=4, font=HEI)
    t.p("截至{{ date_cn }}。合同违约金 = 欠费本金 × 日费率 × 逾期天数（已缴部分计至缴款日）；"
        "法院参考违约金 = 欠费本金 × LPR {{ lpr_text }} × 1.5 ÷ 365 × 逾期天数（{{ ref_rate_text }}）。"
        "各期违约金分别四舍五入至分。", size=9, indent=False)
    t.table(["期间", "项目", "应收", "应缴日期", "已缴", "欠费本金", "天数", "合同违约金计算式", "合同违约金",
             "法院参考计算式", "法院参考"],
            ["{{ c.period }}", "{{ c.item }}", "{{ c.amount }}", "{{ c.due }}", "{{ c.paid }}", "{{ c.principal }}",
             "{{ c.days }}", "{{ c.fee_formula }}", "{{ c.fee }}", "{{ c.ref_formula }}", "{{ c.fee_ref }}"],
            [1.8, 1.7, 1.6, 2.2, 1.6, 2.0, 1.1, 4.6, 1.6, 5.2, 1.6], loop="c in calc_lines", size=8.5,
            totals=["合计", "", "", "", "", "{{ principal_total }}", "", "", "{{ fee_total }}", "",
                    "{{ fee_ref_total }}"])
    t.p(("主张口径：", True), "{{ claim_basis }}。", "{{ claim_note }}", size=10, indent=False)

    t.new_section(landscape=False)
    t.p(("附件二  证据目录", True), align=CENTER, size=14, indent=False, after=4, font=HEI)
    t.table(["序号", "证据名称", "内容及来源", "证明目的"],
            ["{{ e.no }}", "{{ e.name }}", "{{ e.detail }}", "{{ e.proves }}"],
            [1.1, 4.0, 5.6, 5.6], loop="e in evidence", size=9)
    t.p("提交人：{{ company }}        提交日期：{{ date_cn }}", indent=False, size=10)
    return t


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="生成 letters/要素式起诉状.docx")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "letters"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{NAME}.docx"
    complaint().save(path)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
