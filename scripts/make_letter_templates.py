"""Generate the Word templates in ``letters/`` (收费通知单, 催费通知单, 催缴函, 律师函, 分期付款协议).

    python scripts/make_letter_templates.py [--out letters]

The templates are ordinary .docx files a clerk may open and edit in Word: the
Jinja tags (docxtpl) sit in plain runs, each ``{{ }}`` / ``{% %}`` tag inside a
single run, and table rows repeat with ``{%tr for … %}`` rows.  Layout: A4,
宋体 (notices) / 仿宋 (formal letters) with the East-Asian and Latin font
names both set (Word on Windows has them; LibreOffice falls back to Noto CJK),
company letterhead, document number, date as 2026年11月22日, a seal/signature
block, and on the 催缴函 a 送达回执 to tear off.

Every variable used here must be produced by
:func:`xlwings_addin.documents.contexts.letter_context`; tests/test_letters.py
checks that with ``get_undeclared_template_variables``.  Re-running the script
gives the same files (fixed core properties).
"""
from __future__ import annotations

import argparse
import datetime as dt
import zipfile
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

SONG = "宋体"
FANG = "仿宋"
HEI = "黑体"
FIXED_TIME = dt.datetime(2026, 1, 1, 0, 0, 0)

CENTER = WD_ALIGN_PARAGRAPH.CENTER
RIGHT = WD_ALIGN_PARAGRAPH.RIGHT
LEFT = WD_ALIGN_PARAGRAPH.LEFT
JUSTIFY = WD_ALIGN_PARAGRAPH.JUSTIFY


def set_font(target, name: str, size: float | None = None, bold: bool | None = None) -> None:
    """Set Latin and East-Asian font names (w:ascii, w:hAnsi, w:eastAsia) on a run or style."""
    font = target.font
    font.name = name
    if size is not None:
        font.size = Pt(size)
    if bold is not None:
        font.bold = bold
    rpr = target.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), name)


class Letter:
    """A small builder over python-docx that keeps each text segment (and so each tag) in one run."""

    def __init__(self, font: str, size: float = 12, compact: bool = False, wide: bool = False):
        self.doc = Document()
        self.font, self.size = font, size
        props = self.doc.core_properties
        props.author = "feebook"
        props.last_modified_by = "feebook"
        props.created = FIXED_TIME
        props.modified = FIXED_TIME
        props.revision = 1
        section = self.doc.sections[0]
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Cm(21.0), Cm(29.7)
        if compact:  # one A4 page per notice
            section.top_margin, section.bottom_margin = Cm(1.5), Cm(1.4)
            section.left_margin, section.right_margin = Cm(2.0), Cm(2.0)
            section.header_distance, section.footer_distance = Cm(0.8), Cm(0.7)
        else:
            section.top_margin, section.bottom_margin = Cm(2.2), Cm(2.0)
            # wide: 17 cm of text for an eight-column table whose figures must not wrap
            section.left_margin, section.right_margin = (Cm(2.0), Cm(2.0)) if wide else (Cm(2.5), Cm(2.2))
        self.compact = compact
        normal = self.doc.styles["Normal"]
        set_font(normal, font, size)
        normal.paragraph_format.space_after = Pt(2)
        normal.paragraph_format.line_spacing = 1.1 if compact else 1.25
        normal.paragraph_format.widow_control = True
        footer = section.footer.paragraphs[0]
        footer.alignment = CENTER
        self._runs(footer, [("{{ company }}  客服电话：{{ hotline }}", False)], size=9)

    # -- paragraphs
    def _runs(self, paragraph, segments, size=None, font=None):
        for text, bold in segments:
            run = paragraph.add_run(text)
            set_font(run, font or self.font, size or self.size, bold)
        return paragraph

    def p(self, *segments, align=JUSTIFY, size=None, indent=True, before=0, after=2, font=None, keep=False):
        """A paragraph of segments: plain strings, or (text, bold) tuples."""
        para = self.doc.add_paragraph()
        para.alignment = align
        fmt = para.paragraph_format
        fmt.space_before, fmt.space_after = Pt(before), Pt(after)
        if indent:
            fmt.first_line_indent = Pt((size or self.size) * 2)
        if keep:
            fmt.keep_with_next = True
        segs = [(s, False) if isinstance(s, str) else s for s in segments]
        return self._runs(para, segs, size=size, font=font)

    def tag(self, text: str):
        """A paragraph holding only a ``{%p … %}`` tag (removed when rendered)."""
        para = self.doc.add_paragraph()
        self._runs(para, [(text, False)])
        return para

    def letterhead(self, title: str, number_label: str = "编号"):
        self.p(("{{ company }}", True), align=CENTER, size=16, indent=False, font=SONG, after=0)
        para = self.p("{{ center }}", align=CENTER, size=10.5, indent=False, after=4)
        _bottom_border(para)
        self.p((title, True), align=CENTER, size=20, indent=False, before=10, after=4, font=SONG)
        self.p(f"{number_label}：", "{{ letter_no }}", align=RIGHT, size=10, indent=False, after=6)

    def heading(self, text: str):
        return self.p((text, True), indent=False, before=6, after=2, font=HEI if self.font == FANG else SONG,
                      keep=True)

    def signature(self, seal_label: str = "（盖章）", who: str = "{{ company }}", keep_after: bool = False):
        """The seal block: its lines keep together on one page (keep-with-next down to the date)."""
        if not self.compact:
            self.p("", indent=False, after=0, keep=True)
        self.p(who, align=RIGHT, indent=False, after=0, keep=True)
        self.p("{{ center }}", align=RIGHT, indent=False, after=0, keep=True)
        self.p(seal_label, align=RIGHT, indent=False, after=0, keep=True)
        self.p("{{ date_cn }}", align=RIGHT, indent=False, after=6, keep=keep_after)

    # -- tables
    def table(self, headers, cells, widths, loop=None, totals=None, size=10.5, header_fill="D9D9D9"):
        """A bordered table: header row, then ``cells`` (one row, repeated over ``loop`` = 'x in xs')."""
        rows = 1 + (3 if loop else 1) + (1 if totals else 0)
        table = self.doc.add_table(rows=rows, cols=len(headers))
        table.style = self.doc.styles["Table Grid"]
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        _grid(table, widths)
        r = 0
        self._fill_row(table.rows[r], [(h, True) for h in headers], widths, size, fill=header_fill, center=True)
        r += 1
        if loop:
            _merge_row(table.rows[r])
            self._fill_row(table.rows[r], [("{%tr for " + loop + " %}", False)], widths, size)
            r += 1
        right = {i for i, h in enumerate(headers) if "元" in h or "天数" in h}  # figures line up on the right
        self._fill_row(table.rows[r], [(c, False) for c in cells], widths, size, right=right)
        r += 1
        if loop:
            _merge_row(table.rows[r])
            self._fill_row(table.rows[r], [("{%tr endfor %}", False)], widths, size)
            r += 1
        if totals:
            self._fill_row(table.rows[r], [(t, True) for t in totals], widths, size, right=right)
        _repeat_header(table.rows[0])
        for row in table.rows:
            _cant_split(row)
        _keep_row_with_next(table.rows[0])
        self.p("", indent=False, after=2, size=4)
        return table

    def grid(self, rows, widths, size=10.5, bold_first=True, keep=False):
        """A key/value table: each row a list of cell texts."""
        table = self.doc.add_table(rows=len(rows), cols=len(widths))
        table.style = self.doc.styles["Table Grid"]
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        _grid(table, widths)
        for row, texts in zip(table.rows, rows):
            self._fill_row(row, [(t, bold_first and i % 2 == 0) for i, t in enumerate(texts)], widths, size,
                           label_fill="F2F2F2" if bold_first else None)
        for i, row in enumerate(table.rows):
            _cant_split(row)
            if keep and i < len(table.rows) - 1:
                _keep_row_with_next(row)  # the whole block on one page (送达回执, signatures)
        self.p("", indent=False, after=2, size=4)
        return table

    def _fill_row(self, row, texts, widths, size, fill=None, center=False, label_fill=None, right=()):
        cells = row.cells
        seen = []
        for i, (text, bold) in enumerate(texts):
            cell = cells[i]
            if any(cell._tc is c for c in seen):
                continue
            seen.append(cell._tc)
            cell.width = Cm(widths[i]) if i < len(widths) else cell.width
            para = cell.paragraphs[0]
            para.paragraph_format.first_line_indent = None
            para.paragraph_format.space_after = Pt(0)
            para.alignment = CENTER if center else (RIGHT if i in right else LEFT)
            if text:
                run = para.add_run(text)
                set_font(run, self.font, size, bold)
            if fill or (label_fill and bold):
                _shade(cell, fill or label_fill)
        for i, cell in enumerate(cells):
            if i < len(widths):
                cell.width = Cm(widths[i])

    def tear_off(self, text: str):
        para = self.p(text, align=CENTER, indent=False, size=9, before=14, after=8, keep=True)
        return para

    def page_break(self):
        para = self.doc.add_paragraph()
        para.add_run().add_break(WD_BREAK.PAGE)

    def save(self, path: Path):
        self.doc.save(str(path))
        _fix_zip_times(path)


def _fix_zip_times(path: Path) -> None:
    """Same bytes on every run: rewrite the package with a fixed timestamp on each entry."""
    with zipfile.ZipFile(path) as z:
        entries = [(info.filename, z.read(info.filename)) for info in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)


def _grid(table, widths) -> None:
    """Column widths in the table grid (LibreOffice reads w:gridCol, Word reads both)."""
    for column, width in zip(table.columns, widths):
        column.width = Cm(width)
    tblpr = table._tbl.tblPr
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    tblpr.append(layout)


def _bottom_border(paragraph) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for k, v in (("w:val", "double"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(k), v)
    borders.append(bottom)
    ppr.append(borders)


def _shade(cell, color: str) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), color)
    tcpr.append(shd)


def _cant_split(row) -> None:
    """A table row never breaks across pages."""
    trpr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:cantSplit")
    trpr.append(el)


def _repeat_header(row) -> None:
    """The header row repeats at the top of each page the table runs onto."""
    trpr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    trpr.append(el)


def _keep_row_with_next(row) -> None:
    for cell in row.cells:
        for para in cell.paragraphs:
            para.paragraph_format.keep_with_next = True


def _merge_row(row) -> None:
    cells = row.cells
    if len(cells) > 1:
        cells[0].merge(cells[-1])


# ----------------------------------------------------------------------------- the five templates


def fee_notice() -> Letter:
    """One A4 page: letterhead, unit, this period's items, earlier periods still owed (principal only),
    every late fee by period (adding up to the 违约金 line), the total, how and by when to pay, seal."""
    t = Letter(SONG, 10.5, compact=True)
    t.letterhead("收 费 通 知 单", "单号")
    t.p(("尊敬的 ", False), ("{{ owner }}", True), " 业主/住户：", indent=False, after=0)
    t.p("您好！感谢您对我们工作的支持。根据", "{{ contract }}", "约定，现将您名下", "{{ premises }}", "{{ period_label }}",
        "（", "{{ period_range }}", "）应缴费用通知如下：", after=2)
    t.heading("一、本期费用明细")
    t.table(["收费项目", "计费依据", "金额（元）"], ["{{ l.item }}", "{{ l.basis }}", "{{ l.amount }}"],
            [3.0, 11.0, 3.0], loop="l in lines", totals=["本期应收合计", "", "{{ period_total }}"], size=10)
    t.tag("{%p if arrears_lines %}")
    t.heading("二、往期欠费")
    t.table(["期间", "收费项目", "应缴日期", "逾期天数", "欠费本金（元）"],
            ["{{ a.period_label }}", "{{ a.item_names }}", "{{ a.due }}", "{{ a.days }}", "{{ a.principal }}"],
            [3.4, 5.0, 3.8, 1.8, 3.0], loop="a in arrears_lines", size=10,
            totals=["往期欠费合计", "", "", "", "{{ arrears_total }}"])
    t.tag("{%p endif %}")
    t.tag("{%p if fee_text %}")
    t.p("{{ fee_text }}", indent=False, size=10, after=2)
    t.tag("{%p endif %}")
    t.heading("{{ total_no }}、应缴合计")  # 二 when the notice lists no 往期欠费 section
    t.grid([["本期应收", "{{ period_total }} 元", "减：预存冲抵", "{{ prepaid_offset }} 元"],
            ["减：本期已缴", "{{ paid }} 元", "加：往期欠费", "{{ arrears_total }} 元"],
            ["加：违约金", "{{ late_fee_total }} 元", "减：预存余额", "{{ prepaid_balance }} 元"],
            ["应缴合计", "{{ total_due }} 元", "大写", "人民币{{ total_due_daxie }}"]], [2.6, 4.4, 2.6, 7.4],
           size=10)
    t.tag("{%p if held_note %}")
    t.p("{{ held_note }}", size=10, after=2)
    t.tag("{%p endif %}")
    t.p("{{ pay_by_text }}", "。逾期未缴的，自应缴日期次日起按欠费本金每日", "{{ rate_text }}", "计收违约金。")
    t.p("缴费方式：", "{{ pay_channels }}", "。", indent=False, after=0)
    t.p("收款账户：", "{{ account }}", indent=False, after=0)
    t.p("客服电话：", "{{ hotline }}", "（如您已缴费，请忽略本通知；对费用有疑问，欢迎来电或到服务中心前台查询。）",
        indent=False, keep=True)
    t.signature()
    return t


def reminder() -> Letter:
    t = Letter(SONG, 12)
    t.letterhead("温 馨 提 示", "催费通知单")
    t.p(("尊敬的 ", False), ("{{ owner }}", True), " 业主：", indent=False)
    t.p("您好！感谢您一直以来对我们工作的理解与支持。")
    t.p("经核对，截至", "{{ date_cn }}", "，您名下", ("{{ premises_short }}", True), "尚有以下费用未缴纳：")
    t.table(["期间", "收费项目", "应缴日期", "欠费金额（元）", "违约金（元）"],
            ["{{ o.period_label }}", "{{ o.item_names }}", "{{ o.due }}", "{{ o.principal }}", "{{ o.late_fee }}"],
            [3.2, 4.4, 3.4, 2.9, 2.4], loop="o in owed_lines",
            totals=["合计", "", "", "{{ principal_total }}", "{{ late_fee_total }}"])
    t.p("以上合计", ("{{ total_due }}", True), "元（人民币", "{{ total_due_daxie }}", "）。")
    t.p("物业服务费是保障小区保洁、安保、绿化和设施设备正常运行的基础。为免继续产生违约金，烦请您于",
        ("{{ deadline_cn }}", True), "前缴纳。如您近期已缴费，请忽略本提示；如您对服务有意见或缴费有困难，"
        "欢迎致电", "{{ hotline }}", "或到服务中心与我们沟通，我们将尽快为您解决。")
    t.p("缴费方式：", "{{ pay_channels }}", "。", indent=False)
    t.p("收款账户：", "{{ account }}", indent=False)
    t.p("祝您生活愉快！")
    t.signature()
    return t


def demand() -> Letter:
    t = Letter(FANG, 12, wide=True)
    t.letterhead("催  缴  函", "编号")
    t.p("致：", ("{{ owner }}", True), "（", "{{ premises_short }}", "业主）", indent=False)
    t.p("发函单位：", "{{ company }}", "（", "{{ center }}", "）", indent=False, after=6)
    t.heading("一、合同依据与收费标准")
    t.p("根据", "{{ contract }}", "，我司为贵方", "{{ premises }}", "提供物业服务，"
        "贵方应按期缴纳物业服务费等费用。收费标准为：", "{{ fee_standard }}", "。")
    t.heading("二、欠费期间与金额")
    t.p("截至", "{{ date_cn }}", "，贵方欠缴", "{{ period_count }}", "期费用，明细如下：")
    t.table(["期间", "应缴日期", "应收（元）", "已缴（元）", "欠费本金（元）", "逾期天数", "违约金计算", "违约金（元）"],
            ["{{ o.period }}", "{{ o.due_iso }}", "{{ o.billed }}", "{{ o.paid }}", "{{ o.principal }}", "{{ o.days }}",
             "{{ o.formula }}", "{{ o.late_fee }}"],
            [1.7, 2.2, 2.0, 1.8, 2.0, 1.0, 4.3, 2.0], loop="o in owed_lines", size=8.5,
            totals=["合计", "", "{{ billed_total }}", "{{ paid_total }}", "{{ principal_total }}", "", "",
                    "{{ late_fee_total }}"])
    t.heading("三、违约金依据与计算")
    t.p("依据", "{{ contract }}", "约定，逾期缴纳的，自应缴日期次日起按欠费本金每日", "{{ rate_text }}",
        "计收违约金，按每期分别计算：违约金 = 欠费本金 × 日费率", "{{ rate }}", " × 逾期天数", "{{ grace_text }}",
        "（已缴部分计至缴款日）。截至", "{{ date_cn }}", "，贵方欠缴费用本金", ("{{ principal_total }}", True),
        "元，违约金", ("{{ late_fee_total }}", True), "元，合计", ("{{ total_due }}", True), "元（大写：人民币",
        "{{ total_due_daxie }}", "）。")
    t.heading("四、付款期限与方式")
    t.p("请贵方于收到本函之日起", "{{ deadline_days }}", "日内，且最迟不晚于", ("{{ deadline_cn }}", True),
        "，缴清上述款项。缴费方式：", "{{ pay_channels }}", "；收款账户：", "{{ account }}", "。如对欠费金额有异议，"
        "请在上述期限内携相关凭证到服务中心核对，或致电", "{{ hotline }}", "。")
    t.heading("五、逾期后果")
    t.p("逾期仍未缴纳的，我司将依据《中华人民共和国民法典》第九百四十四条及", "{{ contract }}",
        "的约定，依法提起诉讼或申请仲裁，要求贵方支付欠缴费用及违约金，并承担相应的诉讼费用。"
        "本函同时为对上述债权的书面催告，诉讼时效自本函送达之日起重新计算（《民法典》第一百九十五条）。")
    t.p("特此函告。", indent=True)
    t.signature()
    t.tear_off("✂ - - - - - - - - - - - - - - 沿此线剪下，签收后交回服务中心 - - - - - - - - - - - - - -")
    t.p(("送 达 回 执", True), align=CENTER, indent=False, size=14, after=4, keep=True)
    t.grid([["文书名称", "催缴函（编号 {{ letter_no }}）"],
            ["受送达人", "{{ owner }}（{{ room }}）"],
            ["送达方式", "□ 直接送达   □ 邮寄（快递单号：____________）   □ 留置送达（见证人：________）"],
            ["签 收 人", "                                   （签字）       与业主关系：________"],
            ["签收日期", "        年      月      日"],
            ["送 达 人", "                                   {{ center }}"]],
           [3.0, 13.2], size=10.5, keep=True)
    return t


def lawyer() -> Letter:
    t = Letter(FANG, 12)
    t.p(("草稿：须经律师审定并加盖律师事务所公章后方可发出", True), align=CENTER, indent=False, size=9, after=4)
    t.p(("{{ law_firm }}", True), align=CENTER, size=16, indent=False, font=SONG, after=0)
    para = t.p("", align=CENTER, size=6, indent=False, after=4)
    _bottom_border(para)
    t.p(("律  师  函", True), align=CENTER, size=20, indent=False, before=10, after=4, font=SONG)
    t.p("编号：", "{{ letter_no }}", align=RIGHT, size=10, indent=False, after=6)
    t.p("致：", ("{{ owner }}", True), "（", "{{ premises_short }}", "业主）", indent=False, after=6)
    t.p("{{ law_firm }}", "接受", "{{ company }}", "（以下简称“委托人”）的委托，指派", "{{ lawyer }}",
        "律师，就贵方拖欠物业服务费一事，郑重致函如下：")
    t.p("一、委托人依据", "{{ contract }}", "为贵方", "{{ premises }}",
        "提供物业服务，收费标准为：", "{{ fee_standard }}", "。委托人已依约履行物业服务义务。")
    t.p("二、经委托人核对，截至", "{{ date_cn }}", "，贵方欠缴", "{{ periods_text }}", "共", "{{ period_count }}",
        "期费用，最早一期应于", "{{ oldest_due }}", "缴纳，已逾期", "{{ max_days }}", "天。明细如下：")
    t.table(["期间", "应缴日期", "欠费本金（元）", "逾期天数", "违约金计算", "违约金（元）"],
            ["{{ o.period }}", "{{ o.due_iso }}", "{{ o.principal }}", "{{ o.days }}", "{{ o.formula }}",
             "{{ o.late_fee }}"],
            [1.8, 2.5, 2.4, 1.4, 5.8, 2.3], loop="o in owed_lines", size=9,
            totals=["合计", "", "{{ principal_total }}", "", "", "{{ late_fee_total }}"])
    t.p("以上欠费本金", ("{{ principal_total }}", True), "元，违约金（按欠费本金每日", "{{ rate_text }}",
        "计算）", ("{{ late_fee_total }}", True), "元，合计", ("{{ total_due }}", True), "元（大写：人民币",
        "{{ total_due_daxie }}", "）。")
    t.p("三、", "{{ contacts_intro }}", "{{ contacts_text }}", "。贵方至今未予缴纳。")
    t.p("四、根据《中华人民共和国民法典》第九百四十四条，业主违反约定逾期不支付物业费的，物业服务人可以催告其在合理期限内支付；"
        "合理期限届满仍不支付的，物业服务人可以提起诉讼或者申请仲裁。")
    t.p("本律师受托特此函告：请贵方于本函送达之日起", "{{ deadline_days }}", "日内（最迟不晚于", ("{{ deadline_cn }}", True),
        "）缴清上述款项。缴费方式：", "{{ pay_channels }}", "；收款账户：", "{{ account }}",
        "。逾期未缴的，委托人将依法提起诉讼，届时贵方除应支付欠费及违约金外，还将承担诉讼费等相关费用。")
    t.p("如贵方对上述事实有异议，请于上述期限内与委托人（电话", "{{ hotline }}", "）或本律师联系。")
    t.p("特此函告。")
    t.signature(seal_label="律师：{{ lawyer }}", who="{{ law_firm }}")
    return t


def installment() -> Letter:
    t = Letter(SONG, 11.5)
    t.letterhead("物业费分期付款协议", "协议编号")
    t.p("甲方（物业服务人）：", ("{{ company }}", True), "（", "{{ center }}", "）", indent=False, after=0)
    t.p("乙方（业主）：", ("{{ owner }}", True), "，", "{{ premises }}", indent=False, after=6)
    t.p("鉴于乙方截至", "{{ date_cn }}", "尚欠缴物业服务费等费用（明细见下表），乙方表示愿意分期缴清。"
        "为妥善解决欠费问题，经双方平等协商，达成如下协议：")
    t.tag("{%p if owed_lines %}")
    t.table(["期间", "收费项目", "欠费本金（元）", "违约金（元）"],
            ["{{ o.period_label }}", "{{ o.item_names }}", "{{ o.principal }}", "{{ o.late_fee }}"],
            [3.4, 6.4, 3.2, 3.2], loop="o in owed_lines", size=10,
            totals=["合计", "", "{{ principal_total }}", "{{ late_fee_total }}"])
    t.tag("{%p endif %}")
    t.p(("第一条", True), "  乙方确认应付总额为人民币", ("{{ plan_total }}", True), "元（大写：", "{{ plan_total_daxie }}",
        "）。说明：", "{{ plan_note }}", "。")
    t.p(("第二条", True), "  乙方分", "{{ plan_count }}", "期缴纳，各期应付日期及金额如下：")
    t.table(["期次", "应付日期", "金额（元）"], ["第{{ s.no }}期", "{{ s.due }}", "{{ s.amount }}"],
            [3.0, 6.0, 5.0], loop="s in schedule", totals=["合计", "", "{{ schedule_total }}"])
    t.p(("第三条", True), "  乙方按上表按期足额付款的，甲方在协议履行期间暂停对上述欠费的催缴。乙方可随时提前支付剩余款项。")
    t.p(("第四条", True), "  乙方任何一期逾期超过十五日未付的，甲方有权解除本协议，要求乙方一次性支付剩余全部欠款，"
        "并按", "{{ contract }}", "约定自原应缴日期起计收违约金（每日", "{{ rate_text }}", "）。")
    t.p(("第五条", True), "  本协议不影响乙方按期缴纳协议签订后各期物业服务费的义务。")
    t.p(("第六条", True), "  缴费方式：", "{{ pay_channels }}", "；收款账户：", "{{ account }}", "。咨询电话：", "{{ hotline }}", "。")
    t.p(("第七条", True), "  本协议一式两份，甲乙双方各执一份，自双方签字（盖章）之日起生效。", keep=True)
    t.p("", indent=False, keep=True)
    t.grid([["甲方（盖章）：", "乙方（签字）："],
            ["{{ company }}", "{{ owner }}"],
            ["代表人：", "联系电话："],
            ["日期：{{ plan_signed }}", "日期：{{ plan_signed }}"]], [8.1, 8.1], bold_first=False, keep=True)
    return t


TEMPLATES = {
    "收费通知单": fee_notice,
    "催费通知单": reminder,
    "催缴函": demand,
    "律师函": lawyer,
    "分期付款协议": installment,
}


def build_all(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, build in TEMPLATES.items():
        path = out / f"{name}.docx"
        build().save(path)
        written.append(path)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="生成 letters/ 下的 Word 文书模板")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "letters"))
    args = parser.parse_args(argv)
    for path in build_all(Path(args.out)):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
